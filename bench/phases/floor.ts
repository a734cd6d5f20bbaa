import { join } from "node:path";
import { createSnapshot, createVolume, deleteSnapshot, deleteVolume } from "../lib/csi-ops.js";
import { measureCall } from "../lib/measure.js";
import { figure } from "../lib/results.js";
import { median, summarize } from "../lib/stats.js";
import { measureBtrfs } from "../suites/btrfs-reference.js";
import { measureFloor, measureTransportReference, replayReads } from "../suites/floor.js";
import { commandShape, kept, type PhaseContext, round } from "./context.js";

/** The SSH floor, the transport reference, the replayed reads of a CreateSnapshot, and btrfs itself. */
export async function floorPhase(ctx: PhaseContext): Promise<void> {
  const { stack, plan, data } = ctx;
  const floor = await measureFloor(stack, plan.floorRuns);
  const floorMs = median(floor.rdsConnection);
  data.floor = {
    rdsConnectionMs: round(floorMs),
    emulatorOnlyMs: round(median(floor.emulatorOnly)),
    transportMs: round(floorMs - median(floor.emulatorOnly)),
    readTransportMs: 0,
  };
  data.figures.push(
    figure(
      "floor.rdsConnection",
      "RdsConnection.exec — the driver's path (the floor)",
      "ms",
      floor.rdsConnection,
    ),
    figure("floor.bareSsh2", "bare ssh2 client exec", "ms", floor.bareSsh2),
    figure("floor.emulatorOnly", "inside the emulator, no SSH (control socket)", "ms", floor.emulatorOnly),
  );
  for (const t of await measureTransportReference(plan.transportRuns)) {
    data.transport.push({ ...t, summary: kept(summarize(t.samples)), samples: t.samples.map(round) });
  }

  // The read commands one CreateSnapshot sends, replayed over SSH and inside the emulator.
  const volumeId = await createVolume(stack.csi, "bench-replay-volume", 1n << 30n);
  let snapshotId = "";
  const created = await measureCall(stack, async () => {
    snapshotId = await createSnapshot(stack.csi, "bench-replay-snapshot", volumeId);
  });
  const reads = created.lines.filter((l) => l.startsWith(":put"));
  for (const r of await replayReads(stack, reads, plan.replayRuns)) {
    data.replay.push({
      line: commandShape(r.line),
      replyBytes: r.replyBytes,
      overSsh: kept(summarize(r.overSsh)),
      emulatorOnly: kept(summarize(r.emulatorOnly)),
    });
  }
  // The control socket adds its own encoding of the reply, so for a large reply "emulator only" can
  // come out above the SSH path; a read never costs less transport than the floor's small exec.
  const readTransport = median(data.replay.map((c) => c.overSsh.median - c.emulatorOnly.median));
  data.floor.readTransportMs = round(Math.max(data.floor.transportMs, readTransport));

  const btrfs = await measureBtrfs(
    stack.poolMountPath,
    join(stack.poolMountPath, "rds-csi", "vols", volumeId),
    plan.btrfsRuns,
  );
  data.figures.push(
    figure("btrfs.snapshot", "`btrfs subvolume snapshot -r` (process + commit)", "ms", btrfs.snapshot),
    figure("btrfs.delete", "`btrfs subvolume delete`", "ms", btrfs.delete),
    figure("btrfs.list", "`btrfs subvolume list` of the whole pool", "ms", btrfs.list),
    figure("btrfs.spawnOnly", "starting a process that does nothing (`true`)", "ms", btrfs.spawnOnly),
  );
  await deleteSnapshot(stack.csi, snapshotId);
  await deleteVolume(stack.csi, volumeId);
}
