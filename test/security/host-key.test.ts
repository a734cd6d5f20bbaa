/**
 * The RDS host key is verified before anything is sent: a controller that pins another key, or
 * whose known_hosts file holds another key (or the right key under another name), never runs a
 * command on the emulator and reports not ready. The same controller with the right known_hosts
 * entry works, so the refusals are about the key and nothing else.
 */
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { status } from "@grpc/grpc-js";
import ssh2 from "ssh2";
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import { fingerprintOf } from "../../src/rds/index.js";
import { type SimFixture, startSim } from "../helpers/sim.js";
import { controllerArgs, DriverProcess } from "../reliability/driver-process.js";

let sim: SimFixture;
let driver: DriverProcess | undefined;
let otherKey: { type: string; blob: string };

beforeAll(async () => {
  sim = await startSim();
  const [type, blob] = ssh2.utils.generateKeyPairSync("ed25519").public.split(" ");
  otherKey = { type: type!, blob: blob! };
});

afterEach(async () => {
  await driver?.stop();
  driver = undefined;
});

afterAll(async () => {
  await sim?.stop();
});

function knownHosts(name: string, line: string): string {
  const file = path.join(path.dirname(sim.privateKeyPath), name);
  writeFileSync(file, `${line}\n`);
  return file;
}

async function ready(d: DriverProcess): Promise<boolean> {
  const res = await d.csi.call<{ ready: { value: boolean } | null }>("Identity", "Probe", {}, 10_000);
  return res.ready?.value === true;
}

/** Starts a controller with these host-key flags and checks it refuses the emulator's key. */
async function expectRefused(hostKeyFlags: string[]): Promise<void> {
  driver = new DriverProcess(controllerArgs(sim, hostKeyFlags));
  await driver.start({ ready: false });
  expect(await ready(driver)).toBe(false);
  // An RPC that needs the RDS makes the controller connect now rather than on its next retry.
  const outcome = await driver.attempt("Controller", "GetCapacity", {
    volume_capabilities: [],
    parameters: {},
    accessible_topology: null,
  });
  expect(outcome.code, outcome.message).not.toBe(status.OK);
  expect(outcome.message).toMatch(/host key/i);
  expect(await ready(driver)).toBe(false);
  expect(await sim.control.commands(0), "commands received by the emulator").toEqual([]);
  const key = readFileSync(sim.privateKeyPath, "utf8")
    .split("\n")
    .filter((l) => l.length >= 32 && !l.startsWith("-----"));
  const log = driver.lines.join("\n");
  expect(key.filter((l) => log.includes(l))).toEqual([]);
}

it("a pinned fingerprint of another key: refused, not ready, no command sent", async () => {
  const wrong = fingerprintOf(Buffer.from(otherKey.blob, "base64"));
  expect(wrong).not.toBe(sim.hostKeyFingerprint);
  await expectRefused(["--rds-host-key-fingerprint", wrong]);
});

it("a known_hosts file holding another key for the emulator: refused, not ready, no command sent", async () => {
  const file = knownHosts(
    "known_hosts_other_key",
    `[${sim.host}]:${sim.port} ${otherKey.type} ${otherKey.blob}`,
  );
  await expectRefused(["--rds-known-hosts-file", file]);
  rmSync(file);
});

it("a known_hosts file holding the emulator's key under another name: refused, not ready, no command sent", async () => {
  const [, type, blob] = readFileSync(sim.knownHostsPath, "utf8").trim().split(/\s+/);
  const file = knownHosts("known_hosts_other_host", `[192.0.2.7]:${sim.port} ${type} ${blob}`);
  await expectRefused(["--rds-known-hosts-file", file]);
  rmSync(file);
});

it("the right known_hosts entry: ready, and commands reach the emulator", async () => {
  driver = new DriverProcess(controllerArgs(sim, ["--rds-known-hosts-file", sim.knownHostsPath]));
  await driver.start();
  const outcome = await driver.attempt("Controller", "GetCapacity", {
    volume_capabilities: [],
    parameters: {},
    accessible_topology: null,
  });
  expect(outcome.code, outcome.message).toBe(status.OK);
  expect((await sim.control.commands(0)).length).toBeGreaterThan(0);
});
