import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { RdsClient } from "../../../src/rds/client.js";
import type { RdsConnection } from "../../../src/rds/connection.js";
import { isRdsError, type RdsError } from "../../../src/rds/errors.js";
import { type SimFixture, startSim } from "../../helpers/sim.js";
import { Connections, eventually, MiB } from "./support.js";

let sim: SimFixture;
let client: RdsClient;
let connection: RdsConnection;
const connections = new Connections(() => sim);
const dir = () => `/${sim.pool}/faults`;

beforeAll(async () => {
  sim = await startSim({ size: "512M" });
  ({ client, connection } = connections.client({ listingForm: "json" }));
  await client.addDirectory(dir());
});
afterAll(async () => {
  connections.closeAll();
  await sim?.stop();
});
afterEach(async () => {
  await sim.control.clearFaults();
});

async function failure(promise: Promise<unknown>): Promise<RdsError> {
  try {
    await promise;
  } catch (err) {
    if (isRdsError(err)) return err;
    throw err;
  }
  throw new Error("expected a failure");
}

/** How many times the emulator received a line matching `pattern` since `seq`. */
async function received(pattern: RegExp, since: number): Promise<number> {
  return (await sim.control.commands(since)).filter((c) => pattern.test(c.line)).length;
}

async function lastSeq(): Promise<number> {
  return (await sim.control.commands()).at(-1)?.seq ?? 0;
}

describe("dropped connections", () => {
  it("reports a change dropped after it ran as outcome-unknown, sends it once, and the re-read finds it", async () => {
    const since = await lastSeq();
    await sim.control.addFault({ match: "^/disk add .*slot=pvc-drop-after", action: "drop-after", times: 1 });
    const err = await failure(
      client.addFileDisk({ slot: "pvc-drop-after", filePath: `${dir()}/a.img`, fileSize: MiB }),
    );
    expect(err).toMatchObject({ kind: "outcome-unknown", timedOut: false });
    expect(err.command).toMatch(/^\/disk add/);
    expect(await received(/^\/disk add/, since)).toBe(1);
    expect((await client.getDisk("pvc-drop-after"))?.fileSize).toBe(MiB);
  });

  it("reports a change dropped before it ran as outcome-unknown too, and the re-read finds nothing", async () => {
    await sim.control.addFault({
      match: "^/disk add .*slot=pvc-drop-before",
      action: "drop-before",
      times: 1,
    });
    const err = await failure(
      client.addFileDisk({ slot: "pvc-drop-before", filePath: `${dir()}/b.img`, fileSize: MiB }),
    );
    expect(err.kind).toBe("outcome-unknown");
    expect(await client.getDisk("pvc-drop-before")).toBeNull();
  });

  it("retries a read whose connection dropped, on a new connection", async () => {
    const reconnects = connection.health().reconnects;
    const trips = connection.roundTrips;
    await sim.control.addFault({ match: "pvc-read-drop", action: "drop-after", times: 1 });
    expect(await client.getDisk("pvc-read-drop")).toBeNull();
    expect(connection.roundTrips - trips).toBe(2);
    expect(connection.health().reconnects).toBe(reconnects + 1);
  });

  it("retries a read whose reply was cut after a few bytes", async () => {
    await sim.control.addFault({ match: "pvc-drop-after", action: "drop-after-bytes", bytes: 20, times: 1 });
    expect((await client.getDisk("pvc-drop-after"))?.slot).toBe("pvc-drop-after");
  });
});

describe("failures for N commands", () => {
  it("retries transient failures and succeeds", async () => {
    const trips = connection.roundTrips;
    await sim.control.addFault({
      match: "pvc-busy",
      action: "fail",
      error: "failure: disk is busy",
      times: 2,
    });
    expect(await client.getDisk("pvc-busy")).toBeNull();
    expect(connection.roundTrips - trips).toBe(3);
  });

  it("retries a transiently failing change too, since RouterOS said it did not apply", async () => {
    const since = await lastSeq();
    await sim.control.addFault({
      match: "^/disk add .*pvc-busy-add",
      action: "fail",
      error: "failure: disk is busy",
      times: 1,
    });
    const disk = await client.addFileDisk({
      slot: "pvc-busy-add",
      filePath: `${dir()}/c.img`,
      fileSize: MiB,
    });
    expect(disk.slot).toBe("pvc-busy-add");
    expect(await received(/^\/disk add/, since)).toBe(2);
  });

  it("gives up after the attempt limit", async () => {
    const trips = connection.roundTrips;
    await sim.control.addFault({ match: "pvc-stuck", action: "fail", error: "failure: timeout", times: 10 });
    const err = await failure(client.getDisk("pvc-stuck"));
    expect(err).toMatchObject({ kind: "transient", routerText: "failure: timeout" });
    expect(connection.roundTrips - trips).toBe(4);
  });

  it("does not retry final failures", async () => {
    const trips = connection.roundTrips;
    await sim.control.addFault({
      match: "pvc-full",
      action: "fail",
      error: "failure: not enough space on disk",
      times: 3,
    });
    const err = await failure(
      client.addFileDisk({ slot: "pvc-full", filePath: `${dir()}/d.img`, fileSize: MiB }),
    );
    expect(err.kind).toBe("no-space");
    expect(connection.roundTrips - trips).toBe(1);
  });
});

describe("slow replies and deadlines", () => {
  it("waits for a slow reply that arrives within the deadline", async () => {
    await sim.control.addFault({ match: "pvc-slow-ok", action: "delay-reply", ms: 300, times: 1 });
    expect(await client.getDisk("pvc-slow-ok", { deadline: Date.now() + 10_000 })).toBeNull();
  });

  it("reports a change that misses its timeout as outcome-unknown and never re-sends it", async () => {
    const since = await lastSeq();
    await sim.control.addFault({ match: "^/disk add .*pvc-slow-add", action: "delay", ms: 1500, times: 1 });
    // A change is sent only with enough time left to hear its answer (channel-wait.test.ts); one
    // that got its full command timeout and still had no reply is of unknown outcome.
    const { client: shortTimeout } = connections.client({ listingForm: "json" }, { commandTimeoutMs: 700 });
    const err = await failure(
      shortTimeout.addFileDisk({ slot: "pvc-slow-add", filePath: `${dir()}/e.img`, fileSize: MiB }),
    );
    expect(err).toMatchObject({ kind: "outcome-unknown", timedOut: true });
    // The emulator finishes the delayed command on its own; the client never sends a second add.
    await eventually(async () => (await received(/^\/disk add .*pvc-slow-add/, since)) > 0);
    expect(await client.getDisk("pvc-slow-add")).not.toBeNull();
    expect(await received(/^\/disk add .*pvc-slow-add/, since)).toBe(1);
  });

  it("reports a read that misses the deadline as outcome-unknown with timedOut", async () => {
    // A connection of its own, warmed by one quick read: the slow commands of the tests before
    // raise the time a read must have left to be sent at all (src/rds/send-window.ts), and on a
    // busy machine the read would then fail as "not sent" instead of being sent and cut short.
    const { client: fresh } = connections.client({ listingForm: "json" });
    expect(await fresh.getDisk("pvc-no-such-disk")).toBeNull();
    await sim.control.addFault({ match: "pvc-slow-read", action: "delay-reply", ms: 4000, times: 1 });
    const err = await failure(fresh.getDisk("pvc-slow-read", { deadline: Date.now() + 2000 }));
    expect(err).toMatchObject({ kind: "outcome-unknown", timedOut: true });
  });

  it("stops a command when its caller cancels", async () => {
    await sim.control.addFault({ match: "pvc-cancel", action: "delay", ms: 1500, times: 1 });
    const controller = new AbortController();
    const pending = failure(client.removeDisk("pvc-cancel", { signal: controller.signal }));
    setTimeout(() => controller.abort(), 200);
    expect((await pending).kind).toBe("outcome-unknown");
  });

  it("keeps working after all of that", async () => {
    expect((await client.listDisks({ slotPrefix: "pvc-" })).map((d) => d.slot).sort()).toEqual([
      "pvc-busy-add",
      "pvc-drop-after",
      "pvc-slow-add",
    ]);
  });
});
