/**
 * Many CreateSnapshot calls at once over one SSH channel, as csi-snapshotter sends them when a
 * backup tool snapshots a namespace, against the emulator over real SSH. A call whose snapshot
 * cannot be taken in time must fail as not sent — UNAVAILABLE, safe to retry — and never leave a
 * snapshot that appears later; the retry then succeeds. The emulator holds every snapshot command
 * at least 300 ms (`delay`), so how many fit before the deadline has an upper bound whatever the
 * machine's load; a slow machine only moves more calls to "not sent", which is allowed.
 */
import { status } from "@grpc/grpc-js";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { toStatusError } from "../../src/csi/errors.js";
import type { RequestContext, ServiceHandlers } from "../../src/csi/pipeline.js";
import { RdsClient, RdsConnection } from "../../src/rds/index.js";
import { snapshotIdFor } from "../../src/storage/ids.js";
import { simConnectionOptions } from "../helpers/sim-connection.js";
import {
  controllerServiceFor,
  createSnapshotRequest,
  createVolumeRequest,
  ROOT,
  useHarness,
} from "./harness.js";

const h = useHarness();
const CALLS = 30;
const HELD_MS = 300;
/** A change is sent only with this much left before the deadline. */
const WINDOW_MS = 5000;
const BUDGET_MS = 10_000;

afterEach(async () => {
  await h.sim.control.clearFaults();
});

function context(deadline: number): RequestContext {
  return {
    requestId: "concurrent",
    method: "CreateSnapshot",
    log: pino({ level: "silent" }),
    deadline,
    signal: new AbortController().signal,
  };
}

/** The controller service over its own connection of one channel. */
function oneChannelService(): { service: ServiceHandlers; connection: RdsConnection } {
  const connection = new RdsConnection(
    simConnectionOptions(h.sim, { maxChannels: 1, minChangeWindowMs: WINDOW_MS }),
  );
  const client = new RdsClient(connection, { retryBackoff: { initialMs: 20, maxMs: 200 } });
  return { service: controllerServiceFor(h.sim, client), connection };
}

async function createSnapshot(service: ServiceHandlers, name: string, volumeId: string, deadline: number) {
  try {
    await service.CreateSnapshot!(createSnapshotRequest(name, volumeId), context(deadline));
    return { name, code: status.OK, message: "" };
  } catch (err) {
    return { name, ...toStatusError(err, Date.now() >= deadline) };
  }
}

describe("CreateSnapshot, many at once over one channel", () => {
  it("each call succeeds or fails as not sent; the retries of those that failed succeed", async () => {
    const volumes: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await h.call(
        "CreateVolume",
        createVolumeRequest(`burst-volume-${i}`, { required: 4n << 20n }),
      );
      volumes.push(res.volume.volume_id as string);
    }
    const { service, connection } = oneChannelService();
    try {
      await connection.ping();
      await h.sim.control.addFault({
        match: "^/disk/btrfs/subvolume add .*read-only=yes",
        action: "delay",
        ms: HELD_MS,
      });
      const since = (await h.sim.control.commands()).at(-1)?.seq ?? 0;
      const deadline = Date.now() + BUDGET_MS;
      const results = await Promise.all(
        Array.from({ length: CALLS }, (_, i) =>
          createSnapshot(service, `burst-snap-${i}`, volumes[i % volumes.length]!, deadline),
        ),
      );
      await h.sim.control.clearFaults();

      const snapshotLines = (await h.sim.control.commands(since))
        .map((e) => e.line)
        .filter((line) => /^\/disk\/btrfs\/subvolume add .*read-only=yes/.test(line));
      const sentFor = (name: string) => snapshotLines.filter((l) => l.includes(snapshotIdFor(name))).length;
      const failed = results.filter((r) => r.code !== status.OK);
      for (const r of results) {
        if (r.code === status.OK) {
          expect(sentFor(r.name), r.name).toBe(1);
        } else {
          // Never sent: nothing can appear later, and the caller may simply retry.
          expect(r.code, `${r.name}: ${r.message}`).toBe(status.UNAVAILABLE);
          expect(r.message).toMatch(/not sent: .*retrying is safe/);
          expect(sentFor(r.name), `${r.name} was sent`).toBe(0);
        }
      }
      // The held commands cap what fits before the window closes (5 s of 10 s at 300 ms each).
      expect(failed.length).toBeGreaterThanOrEqual(CALLS - Math.ceil((BUDGET_MS - WINDOW_MS) / HELD_MS));
      expect(results.filter((r) => r.code === status.OK).length).toBeGreaterThan(0);

      // What the pool holds is exactly what succeeded.
      const listed = await h.sim.control.exec(
        `/disk/btrfs/subvolume print count-only where fullname~"^/?${ROOT}/snaps/pvc-[^/]*/snap-"`,
      );
      expect(Number(listed.output.trim())).toBe(CALLS - failed.length);

      // The retries, with time enough, all succeed.
      const retried = await Promise.all(
        failed.map((r) =>
          createSnapshot(
            service,
            r.name,
            volumes[Number(r.name.split("-").at(-1)) % volumes.length]!,
            Date.now() + 120_000,
          ),
        ),
      );
      expect(retried.filter((r) => r.code !== status.OK)).toEqual([]);
    } finally {
      connection.close();
    }
  });
});
