import { createHash, randomBytes } from "node:crypto";
import { open, readFile } from "node:fs/promises";
import { status } from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import type { SimCommandEntry } from "../helpers/sim.js";
import { createSnapshotRequest, createVolumeRequest, ROOT, snapshotSource, useHarness } from "./harness.js";

/*
 * Commands that RouterOS runs after the driver gave up on them: an SSH exec whose reply never came
 * may still run on the router. The emulator's `delay` rule holds a command past the client's
 * timeout and then runs it. An undo that arrives late must never take a volume that a retry has
 * handed out since, nor the subvolume a retry made again under the same name.
 */

const MiB = 1024n * 1024n;
const SIZE = 8n * MiB;
/** The client's per-command timeout here, and how much later the held command runs. */
const TIMEOUT_MS = 4000;
const LATE_MS = 12_000;

const h = useHarness({ commandTimeoutMs: TIMEOUT_MS });

afterEach(async () => {
  await h.sim.control.clearFaults();
});

const volumeImage = (id: string) => `${h.sim.poolMountPath}/${ROOT}/vols/${id}/disk.img`;

/** What a workload writes once the volume is handed out; returns its digest. */
async function writeData(path: string): Promise<string> {
  const data = randomBytes(256 * 1024);
  const file = await open(path, "r+");
  try {
    await file.write(data, 0, data.length, 0);
    await file.sync();
  } finally {
    await file.close();
  }
  return createHash("sha256").update(data).digest("hex");
}

async function dataDigest(path: string): Promise<string> {
  const data = await readFile(path);
  return createHash("sha256")
    .update(data.subarray(0, 256 * 1024))
    .digest("hex");
}

/** Waits until the emulator has run (late) an exec line matching `pattern`, logged after `since`. */
async function ranLate(pattern: RegExp, since: number): Promise<void> {
  const until = Date.now() + LATE_MS + 10_000;
  while (Date.now() < until) {
    const entries = await h.sim.control.commands(since);
    if (entries.some((e: SimCommandEntry) => pattern.test(e.line) && e.fault === "delay")) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no late command matching ${pattern} ran`);
}

async function lastSeq(): Promise<number> {
  const entries = await h.sim.control.commands();
  return entries.at(-1)?.seq ?? 0;
}

describe("an undo that RouterOS runs after the driver gave up", () => {
  it("cannot remove a restored volume that the retry handed out and the workload wrote to", async () => {
    const source = (await h.call("CreateVolume", createVolumeRequest("late-src", { required: SIZE }))).volume
      .volume_id as string;
    const snap = (await h.call("CreateSnapshot", createSnapshotRequest("late-snap", source))).snapshot
      .snapshot_id as string;
    const restore = createVolumeRequest("late-restore", {
      required: 2n * SIZE,
      source: snapshotSource(snap),
    });

    // The grow fails for good, and the undo's `/disk remove` runs only after the client gave up.
    await h.sim.control.addFault({
      match: "^/disk set .*file-size=",
      action: "fail",
      error: "failure: not enough space",
      times: 1,
    });
    await h.sim.control.addFault({ match: "^/disk remove", action: "delay", ms: LATE_MS, times: 1 });
    const since = await lastSeq();
    const failed = await h.outcome("CreateVolume", restore);
    // Not silently final: the undo's outcome is unknown, so the CO is told to retry.
    expect(failed.code, failed.message).toBe(status.UNAVAILABLE);
    expect(failed.message).toMatch(/undoing it did not finish/);

    // The CO retries before the held remove runs: the volume is finished and handed out.
    const handedOut = await h.call("CreateVolume", restore);
    const id = handedOut.volume.volume_id as string;
    expect(handedOut.volume.capacity_bytes).toBe(String(2n * SIZE));
    const written = await writeData(volumeImage(id));

    await ranLate(/^\/disk remove/, since);
    expect(await h.client.getDisk(id), "the late undo removed a volume in use").not.toBeNull();
    const again = await h.call("CreateVolume", restore);
    expect(again.volume.volume_id).toBe(id);
    expect(await dataDigest(volumeImage(id))).toBe(written);
    const expanded = await h.outcome("ControllerExpandVolume", {
      volume_id: id,
      capacity_range: { required_bytes: String(3n * SIZE), limit_bytes: "0" },
      secrets: {},
      volume_capability: null,
    });
    expect(expanded.code, expanded.message).toBe(0);
  });

  // Whether RouterOS removes a subvolume whose image a `/disk` uses is unknown: both ways.
  it.each(["fail", "allow"] as const)(
    "cannot remove the subvolume that the retry made again under the same name (subvolume_remove_in_use=%s)",
    async (inUse) => {
      await h.sim.control.setSettings({ subvolume_remove_in_use: inUse });
      const request = createVolumeRequest(`late-empty-${inUse}`, { required: SIZE });
      // `/disk add` fails for good; the undo's subvolume remove runs late.
      await h.sim.control.addFault({
        match: "^/disk add ",
        action: "fail",
        error: "failure: not enough space",
        times: 1,
      });
      await h.sim.control.addFault({
        match: "^/disk/btrfs/subvolume remove",
        action: "delay",
        ms: LATE_MS,
        times: 1,
      });
      const since = await lastSeq();
      const failed = await h.outcome("CreateVolume", request);
      expect(failed.code, failed.message).toBe(status.UNAVAILABLE);

      const made = await h.call("CreateVolume", request);
      const id = made.volume.volume_id as string;
      const written = await writeData(volumeImage(id));

      await ranLate(/^\/disk\/btrfs\/subvolume remove/, since);
      expect(await h.client.getSubvolume(`${ROOT}/vols/${id}`, { fs: h.sim.fsLabel })).not.toBeNull();
      expect(await dataDigest(volumeImage(id))).toBe(written);
      const again = await h.call("CreateVolume", request);
      expect(again.volume.volume_id).toBe(id);
      expect(await dataDigest(volumeImage(id))).toBe(written);
    },
  );
});
