import { isSnapshotId, isVolumeId, snapshotIdFor } from "../../storage/index.js";
import { alreadyExists, notFound } from "../errors.js";
import type { RequestContext } from "../pipeline.js";
import type {
  CreateSnapshotRequest,
  CreateSnapshotResponse,
  DeleteSnapshotRequest,
  DeleteSnapshotResponse,
  Outgoing,
} from "../types.js";
import { type Controller, callOf } from "./context.js";
import { snapshotMessage } from "./messages.js";
import { checkSnapshotQuotas, perVolumeLimit, takeQuotas } from "./quotas.js";
import { checkParameters, requireId, requireName, snapshotNamesOf } from "./validate.js";

/** CreateSnapshot and DeleteSnapshot. */

export async function createSnapshot(
  c: Controller,
  req: CreateSnapshotRequest,
  ctx: RequestContext,
): Promise<Outgoing<CreateSnapshotResponse>> {
  const name = requireName(req.name, "name");
  const sourceVolumeId = requireId(req.source_volume_id, "source_volume_id");
  const { quotas, rest } = takeQuotas(req.parameters, "VolumeSnapshotClass");
  checkParameters(rest, "VolumeSnapshotClass");
  const snapshotId = snapshotIdFor(name);
  // Only the snapshot is locked: snapshots of one volume may be taken side by side.
  return c.locks.withLock(snapshotId, async () => {
    const call = callOf(ctx);
    const { snapshots } = c.storage;
    if (!isVolumeId(sourceVolumeId)) {
      // Nothing of ours can be its source; a snapshot of this name has another one.
      const found = await snapshots.locate(snapshotId, call);
      if (found !== undefined) throw conflict(name, found.sourceVolumeId, sourceVolumeId);
      throw notFound(`source volume ${sourceVolumeId} does not exist`);
    }
    // One round trip for everything the decision needs, one more to take the snapshot.
    const prepareOptions = { countSnapshots: perVolumeLimit(c, quotas) !== undefined };
    let prepared = await snapshots.prepare({ snapshotId, sourceVolumeId }, call, prepareOptions);
    if (prepared.marks.length > 0) {
      // The name was deleted: what a late command re-created since goes, then the marks (so the
      // sweep leaves this snapshot alone), and the state is read again.
      await c.storage.tombstones.reclaimForCreate(snapshotId, prepared.marks, call);
      prepared = await snapshots.prepare({ snapshotId, sourceVolumeId }, call, prepareOptions);
    }
    const { found, existing, sourceExists, taken } = prepared;
    if (found !== undefined) {
      if (existing === undefined) throw conflict(name, found.sourceVolumeId, sourceVolumeId);
      return { snapshot: snapshotMessage(existing) };
    }
    if (!sourceExists) throw notFound(`source volume ${sourceVolumeId} does not exist`);
    await checkSnapshotQuotas(c, quotas, { volumeId: sourceVolumeId, taken }, call);
    try {
      const created = await snapshots.create({ snapshotId, sourceVolumeId }, call);
      // Subvolumes carry no comment on RouterOS: the VolumeSnapshot's name is only in this log line.
      ctx.log.info({ snapshotId, sourceVolumeId, ...snapshotNamesOf(req.parameters) }, "snapshot created");
      return { snapshot: snapshotMessage(created) };
    } finally {
      c.walks.clear();
    }
  });
}

function conflict(name: string, existingSource: string, requestedSource: string): Error {
  return alreadyExists(`snapshot ${name} exists for volume ${existingSource}, not ${requestedSource}`);
}

export async function deleteSnapshot(
  c: Controller,
  req: DeleteSnapshotRequest,
  ctx: RequestContext,
): Promise<Outgoing<DeleteSnapshotResponse>> {
  const snapshotId = requireId(req.snapshot_id, "snapshot_id");
  // An id this driver never hands out names nothing of ours: already deleted.
  if (!isSnapshotId(snapshotId)) return {};
  return c.locks.withLock(snapshotId, async () => {
    const call = callOf(ctx);
    // Marked first, so that what a late CreateSnapshot re-creates after this delete is swept.
    const found = await c.storage.snapshots.markAndLocate(snapshotId, call);
    if (found === undefined) {
      // Gone already; a delete cut short after removing it may have left its volume's directory.
      await c.storage.directories.sweepVolumeSnapshots(call);
      return {};
    }
    c.walks.clear();
    await c.storage.snapshots.delete(found, call);
    return {};
  });
}
