import { execFileSync } from "node:child_process";
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { LOGGED_COMMAND_CHARS, type RdsConnection } from "../../../src/rds/connection.js";
import { isRdsError } from "../../../src/rds/errors.js";
import { type SimFixture, startSim } from "../../helpers/sim.js";
import { Connections, eventually, LogCapture } from "./support.js";

let sim: SimFixture;
let keyDir: string;
const connections = new Connections(() => sim);

beforeAll(async () => {
  sim = await startSim({ size: "512M" });
  keyDir = mkdtempSync(join(tmpdir(), "rds-keys-"));
});
afterAll(async () => {
  connections.closeAll();
  await sim?.stop();
  if (keyDir) rmSync(keyDir, { recursive: true, force: true });
});
afterEach(async () => {
  // Connections of earlier tests must not run keepalives that consume later tests' faults.
  connections.closeAll();
  await sim.control.clearFaults();
});

/** A new key pair from ssh-keygen; `authorize` appends it to the emulator's authorized_keys. */
function newKey(
  name: string,
  type: "ed25519" | "rsa" | "ecdsa",
  options: { passphrase?: string; authorize?: boolean } = {},
) {
  const path = join(keyDir, name);
  const args = ["-q", "-t", type, "-N", options.passphrase ?? "", "-f", path];
  if (type === "rsa") args.push("-b", "2048");
  execFileSync("ssh-keygen", args, { stdio: "ignore" });
  if (options.authorize) appendFileSync(sim.authorizedKeysPath, readFileSync(`${path}.pub`));
  return path;
}

async function failure(promise: Promise<unknown>) {
  try {
    await promise;
  } catch (err) {
    if (isRdsError(err)) return err;
    throw err;
  }
  throw new Error("expected a failure");
}

describe("connecting", () => {
  it("connects lazily, on the first command", async () => {
    const sessionsBefore = (await sim.control.health()).sessions;
    const connection = connections.open();
    expect(connection.health()).toMatchObject({ connected: false, openConnections: 0, roundTrips: 0 });
    expect((await sim.control.health()).sessions).toBe(sessionsBefore);
    expect((await connection.exec(":put 1", { mutating: false })).stdout).toBe("1\r\n");
    expect(connection.health()).toMatchObject({
      connected: true,
      openConnections: 1,
      roundTrips: 1,
      hostKeyFingerprint: sim.hostKeyFingerprint,
    });
    expect(connection.health().lastLatencyMs).not.toBeNull();
    expect(await connection.ping()).toBeGreaterThanOrEqual(0);
    expect(connection.roundTrips).toBe(2);
  });

  it("refuses a host key that does not match the pinned fingerprint, and does not retry", async () => {
    const wrong = `SHA256:${"A".repeat(43)}`;
    const connection = connections.open({ hostKey: { fingerprint: wrong } });
    const err = await failure(connection.exec(":put 1", { mutating: false }));
    expect(err.kind).toBe("connection");
    expect(err.retryable).toBe(false);
    expect(err.message).toContain(sim.hostKeyFingerprint);
    expect(connection.health().connected).toBe(false);
    expect(connection.health().lastError?.kind).toBe("connection");
  });

  it("verifies against known_hosts, and refuses a host known with another key", async () => {
    const good = connections.open({ hostKey: { knownHostsFile: sim.knownHostsPath } });
    expect((await good.exec(":put 1", { mutating: false })).stdout).toBe("1\r\n");
    const otherKey = readFileSync(`${newKey("impostor", "ed25519")}.pub`, "utf8")
      .split(" ")
      .slice(0, 2)
      .join(" ");
    const wrongFile = join(keyDir, "known_hosts_wrong");
    writeFileSync(wrongFile, `[${sim.host}]:${sim.port} ${otherKey}\n`);
    const bad = connections.open({ hostKey: { knownHostsFile: wrongFile } });
    const err = await failure(bad.exec(":put 1", { mutating: false }));
    expect(err).toMatchObject({ kind: "connection", retryable: false });
    expect(err.message).toMatch(/holds a different key/);
  });

  it("connects without verification only when asked, and says so in the log", async () => {
    const log = new LogCapture();
    const connection = connections.open({ hostKey: { insecureSkipVerify: true }, logger: log.logger });
    expect((await connection.exec(":put 1", { mutating: false })).stdout).toBe("1\r\n");
    const warning = log.lines.find((l) => l.level === 40 && /verification is DISABLED/.test(String(l.msg)));
    expect(warning).toBeDefined();
  });

  it("logs each command with its round trip at debug, a long one shortened (whole at trace)", async () => {
    const long = `:put "${"x".repeat(LOGGED_COMMAND_CHARS)}"`;
    const logged = async (level: "debug" | "trace") => {
      const log = new LogCapture();
      log.logger.level = level;
      const connection = connections.open({ logger: log.logger });
      expect((await connection.exec(":put 1", { mutating: false })).stdout).toBe("1\r\n");
      expect((await connection.exec(long, { mutating: false })).stdout.replace(/\s/g, "")).toBe(
        "x".repeat(LOGGED_COMMAND_CHARS),
      );
      return log.lines.filter((l) => l.msg === "RouterOS command");
    };
    const debug = await logged("debug");
    expect(debug.map((l) => typeof l.ms)).toEqual(["number", "number"]);
    expect(debug[0]?.command).toBe(":put 1");
    expect(String(debug[1]?.command)).toBe(
      `${long.slice(0, LOGGED_COMMAND_CHARS)}… (${long.length} characters; whole at log level trace)`,
    );
    expect((await logged("trace")).map((l) => l.command)).toEqual([":put 1", long]);
  });

  it("authenticates with RSA and passphrase-protected keys, and refuses ECDSA at construction", async () => {
    const rsa = connections.open({ privateKey: { path: newKey("rsa", "rsa", { authorize: true }) } });
    expect((await rsa.exec(":put 1", { mutating: false })).stdout).toBe("1\r\n");
    const locked = newKey("locked", "ed25519", { passphrase: "open sesame", authorize: true });
    const passFile = join(keyDir, "passphrase");
    writeFileSync(passFile, "open sesame\n");
    const withPass = connections.open({ privateKey: readFileSync(locked), passphrase: "open sesame" });
    expect((await withPass.exec(":put 1", { mutating: false })).stdout).toBe("1\r\n");
    const withPassFile = connections.open({ privateKey: { path: locked }, passphrase: { path: passFile } });
    expect((await withPassFile.exec(":put 1", { mutating: false })).stdout).toBe("1\r\n");
    const ecdsa = readFileSync(newKey("ecdsa", "ecdsa"));
    expect(() => connections.open({ privateKey: ecdsa })).toThrow(/RouterOS accepts ed25519 and RSA/);
    expect(() => connections.open({ privateKey: readFileSync(locked), passphrase: "wrong" })).toThrow(
      /private key/,
    );
  });

  it("reads the key file at every connect, so a rotated key is picked up", async () => {
    const mount = join(keyDir, "mounted-key");
    writeFileSync(mount, readFileSync(newKey("not-authorized", "ed25519")), { mode: 0o600 });
    const connection = connections.open({ privateKey: { path: mount } });
    const err = await failure(connection.exec(":put 1", { mutating: false }));
    expect(err).toMatchObject({ kind: "connection", retryable: false });
    expect(err.message).toMatch(/authentication/);
    writeFileSync(mount, readFileSync(sim.privateKeyPath));
    await eventually(async () => {
      try {
        return (await connection.exec(":put 1", { mutating: false })).stdout === "1\r\n";
      } catch {
        return false;
      }
    });
    expect(connection.health().reconnects).toBe(1);
  });

  it("is closed for good by close()", async () => {
    const connection = connections.open();
    await connection.exec(":put 1", { mutating: false });
    connection.close();
    const err = await failure(connection.exec(":put 1", { mutating: false }));
    expect(err).toMatchObject({ kind: "connection", retryable: false });
  });
});

describe("channels", () => {
  /** Runs `count` slow commands at once and records the most commands and sessions seen together. */
  async function burst(connection: RdsConnection, count: number) {
    await sim.control.addFault({ match: "burst-marker", action: "delay", ms: 400 });
    let peakInFlight = 0;
    let peakSessions = 0;
    let peakConnections = 0;
    let running = true;
    const sampler = (async () => {
      while (running) {
        const h = connection.health();
        peakInFlight = Math.max(peakInFlight, h.inFlight);
        peakConnections = Math.max(peakConnections, h.openConnections);
        peakSessions = Math.max(peakSessions, (await sim.control.health()).sessions);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const results = await Promise.all(
      Array.from({ length: count }, (_, i) =>
        connection.exec(`:put "burst-marker ${i}"`, { mutating: false }),
      ),
    );
    running = false;
    await sampler;
    return { outputs: results.map((r) => r.stdout.trim()), peakInFlight, peakSessions, peakConnections };
  }

  it("never runs more commands at once than maxChannels", async () => {
    const connection = connections.open({ maxChannels: 2, channelsPerConnection: 2 });
    const result = await burst(connection, 6);
    expect(result.outputs).toEqual([0, 1, 2, 3, 4, 5].map((i) => `burst-marker ${i}`));
    expect(result.peakInFlight).toBeLessThanOrEqual(2);
    expect(result.peakSessions).toBeLessThanOrEqual(2);
    expect(result.peakConnections).toBe(1);
  });

  it("spreads commands over several connections when one carries a single channel", async () => {
    await sim.control.setSettings({ max_channels_per_connection: 1 });
    try {
      const connection = connections.open({ maxChannels: 3, channelsPerConnection: 1 });
      const result = await burst(connection, 6);
      expect(result.outputs).toHaveLength(6);
      expect(result.peakInFlight).toBeLessThanOrEqual(3);
      expect(result.peakConnections).toBeLessThanOrEqual(3);
    } finally {
      await sim.control.setSettings({ max_channels_per_connection: 0 });
    }
  });

  it("caps the output of a command", async () => {
    const connection = connections.open({ maxOutputBytes: 1024 });
    const err = await failure(connection.exec(`:put "${"x".repeat(3000)}"`, { mutating: false }));
    expect(err.kind).toBe("too-large");
    expect(err.retryable).toBe(false);
    expect(err.message).toMatch(/exceeded 1024 bytes/);
    expect((await connection.exec(":put 1", { mutating: false })).stdout).toBe("1\r\n");
  });

  it("cuts off a hostile reply past the default per-reply limit (8 MiB) and keeps serving", async () => {
    await sim.control.addFault({
      match: "^:put huge$",
      action: "pad-reply",
      bytes: 9 * 1024 * 1024,
      times: 1,
    });
    const connection = connections.open();
    const err = await failure(connection.exec(":put huge", { mutating: false }));
    expect(err.kind).toBe("too-large");
    expect(err.message).toMatch(/exceeded 8388608 bytes/);
    expect(connection.health().replyBytesPeak).toBeLessThanOrEqual(8 * 1024 * 1024);
    expect((await connection.exec(":put 1", { mutating: false })).stdout).toBe("1\r\n");
    expect(connection.health().replyBytesHeld).toBe(0);
  });

  it("large replies on every channel at once hold no more than maxReplyBytesInFlight together", async () => {
    const mib = 1024 * 1024;
    // Every reply is 3 MiB; four at once would hold 12 MiB, the budget allows 4 MiB.
    await sim.control.addFault({ match: "^:put wide", action: "pad-reply", bytes: 3 * mib });
    await sim.control.addFault({ match: "^:put wide", action: "delay-reply", ms: 200 });
    const connection = connections.open({
      maxChannels: 4,
      maxOutputBytes: 4 * mib,
      maxReplyBytesInFlight: 4 * mib,
    });
    const results = await Promise.allSettled(
      [0, 1, 2, 3].map((i) => connection.exec(`:put wide${i}`, { mutating: false })),
    );
    for (const [i, r] of results.entries()) {
      if (r.status === "fulfilled") {
        expect(r.value.stdout.startsWith(`wide${i}\r\n`)).toBe(true);
        expect(r.value.stdout.length).toBeGreaterThan(3 * mib);
      } else {
        expect(isRdsError(r.reason, "transient")).toBe(true);
        expect((r.reason as Error).message).toMatch(/more than 4194304 bytes together/);
      }
    }
    // One 3 MiB reply fits, two do not: at least one succeeded and at least one was cut off.
    expect(results.some((r) => r.status === "fulfilled")).toBe(true);
    const health = connection.health();
    expect(health.replyBytesPeak).toBeLessThanOrEqual(4 * mib);
    expect(health.replyBytesHeld).toBe(0);
    expect((await connection.exec(":put 1", { mutating: false })).stdout).toBe("1\r\n");
  });
});

describe("keepalive and reconnects", () => {
  it("keeps an idle connection alive with a cheap command", async () => {
    const since = (await sim.control.commands()).at(-1)?.seq ?? 0;
    const connection = connections.open({ keepaliveIntervalMs: 150 });
    await connection.exec(":put 1", { mutating: false });
    await eventually(() => connection.health().keepalives >= 2);
    const lines = (await sim.control.commands(since)).map((c) => c.line);
    expect(lines.filter((l) => l === ":put 1").length).toBeGreaterThanOrEqual(3);
    expect(connection.health().roundTrips).toBe(1);
  });

  it("retires a connection whose keepalive fails and reconnects for the next command", async () => {
    const connection = connections.open({ keepaliveIntervalMs: 150 });
    await connection.exec(":put 2", { mutating: false });
    await sim.control.addFault({ match: "^:put 1$", action: "drop-before", times: 1 });
    await eventually(() => connection.health().openConnections === 0);
    expect(connection.health().lastError).not.toBeNull();
    expect((await connection.exec(":put 2", { mutating: false })).stdout).toBe("2\r\n");
    expect(connection.health().reconnects).toBe(1);
  });

  it("reconnects after the emulator restarts", async () => {
    const connection = connections.open();
    await connection.exec(":put 1", { mutating: false });
    await sim.restart();
    const { client } = connections.client({ listingForm: "json" });
    expect(await client.getDisk("pvc-after-restart")).toBeNull();
    expect((await connection.exec(":put 3", { mutating: false })).stdout).toBe("3\r\n");
    expect(connection.health().connected).toBe(true);
  });
});
