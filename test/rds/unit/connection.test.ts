import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RdsConnection } from "../../../src/rds/connection.js";
import { isRdsError } from "../../../src/rds/errors.js";

// A TCP server that accepts connections and never speaks SSH: a host that hangs mid-handshake.
let blackhole: net.Server;
let port: number;
const sockets = new Set<net.Socket>();
const dir = mkdtempSync(join(tmpdir(), "rds-conn-"));
let key: Buffer;

beforeAll(async () => {
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(dir, "key")], { stdio: "ignore" });
  key = readFileSync(join(dir, "key"));
  blackhole = net.createServer((s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => blackhole.listen(0, "127.0.0.1", resolve));
  port = (blackhole.address() as net.AddressInfo).port;
});
afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((resolve) => blackhole.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

function connection(overrides: Partial<ConstructorParameters<typeof RdsConnection>[0]> = {}) {
  return new RdsConnection({
    host: "127.0.0.1",
    port,
    username: "admin",
    privateKey: key,
    hostKey: { insecureSkipVerify: true },
    keepaliveIntervalMs: 0,
    deadlineMarginMs: 0,
    ...overrides,
  });
}

describe("RdsConnection against a host that never answers", () => {
  it("gives up the handshake at the connect timeout", async () => {
    const c = connection({ connectTimeoutMs: 300 });
    await expect(c.exec(":put 1", { mutating: false })).rejects.toMatchObject({
      kind: "connection",
      timedOut: true,
    });
    expect(c.health()).toMatchObject({ connected: false, roundTrips: 0, inFlight: 0 });
    expect(c.health().lastError?.kind).toBe("connection");
    c.close();
  });

  it("lets a caller with a short deadline leave while another caller's connect is still running", async () => {
    const c = connection({ connectTimeoutMs: 3000 });
    let longSettled = false;
    const long = c.exec(":put 1", { mutating: false }).finally(() => {
      longSettled = true;
    });
    long.catch(() => undefined);
    const short = await c
      .exec(":put 1", { mutating: false, deadline: Date.now() + 100 })
      .catch((err: unknown) => err);
    expect(isRdsError(short, "transient")).toBe(true);
    expect((short as { timedOut: boolean }).timedOut).toBe(true);
    expect(longSettled).toBe(false);
    c.close();
    await expect(long).rejects.toMatchObject({
      kind: "connection",
      retryable: false,
      message: expect.stringMatching(/closed/),
    });
  });

  it("validates options at construction", () => {
    expect(() => connection({ port: 0 })).toThrow(/port/);
    expect(() => connection({ maxChannels: 100 })).toThrow(/maxChannels/);
    expect(() => connection({ hostKey: { fingerprint: "MD5:aa" } })).toThrow(/SHA256/);
    expect(() => connection({ privateKey: Buffer.from("not a key") })).toThrow(/private key/);
    expect(() => connection({ loginOptions: "+x; rm" })).toThrow(/loginOptions/);
    expect(() => connection({ keepaliveCommand: "a\nb" })).toThrow(/keepaliveCommand/);
  });
});
