import { snapshotIdFor } from "../../storage/index.js";
import { alreadyExists, notFound } from "../errors.js";
import type { RequestContext } from "../pipeline.js";
import type {
  CreateSnapshotRequest,
  CreateSnapshotResponse,
  DeleteSnapshotRequest,
  DeleteSnapshotResponse,
  Outgoing,
} from "../types.js";
import { type Controller, callOf, unservedPool } from "./context.js";
import { snapshotMessage } from "./messages.js";
import { checkSnapshotQuotas, perVolumeLimit, takeQuotas } from "./quotas.js";
import { checkParameters, requireId, requireName, snapshotNamesFor, snapshotNamesOf } from "./validate.js";

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
  const resolved = c.pools.resolveVolume(sourceVolumeId);
  if (resolved.kind === "unknown-pool") throw unservedPool(c, sourceVolumeId);
  // A snapshot lives in its source's pool; an id that is none of ours is looked up in the default one.
  const pool = resolved.kind === "ours" ? resolved.pool : c.pools.default;
  const csiId = pool.csiId(snapshotId);
  // Only the snapshot is locked: snapshots of one volume may be taken side by side.
  return c.locks.withLock(csiId, async () => {
    const call = callOf(ctx);
    const { snapshots } = pool.storage;
    if (resolved.kind === "foreign") {
      // Nothing of ours can be its source; a snapshot of this name has another one.
      const found = await snapshots.locate(snapshotId, call);
      if (found !== undefined) throw conflict(name, pool.csiId(found.sourceVolumeId), sourceVolumeId);
      throw notFound(`source volume ${sourceVolumeId} does not exist`);
    }
    const location = { snapshotId, sourceVolumeId: resolved.id };
    // One round trip for everything the decision needs, one more to take the snapshot.
    // The VolumeSnapshot's names are recorded on the RDS in the same exec line (snapshot-names.ts).
    const prepareOptions = {
      countSnapshots: perVolumeLimit(c, quotas) !== undefined,
      names: snapshotNamesFor(req.parameters),
      anyPool: c.pools.all().length > 1,
    };
    let prepared = await snapshots.prepare(location, call, prepareOptions);
    if (prepared.marks.length > 0) {
      // The name was deleted: what a late command re-created since goes, then the marks (so the
      // sweep leaves this snapshot alone), and the state is read again.
      await pool.storage.tombstones.reclaimForCreate(snapshotId, prepared.marks, call);
      prepared = await snapshots.prepare(location, call, prepareOptions);
    }
    const { found, existing, sourceExists, taken } = prepared;
    if (found !== undefined) {
      if (existing === undefined) throw conflict(name, pool.csiId(found.sourceVolumeId), sourceVolumeId);
      return { snapshot: snapshotMessage(pool, existing) };
    }
    if (!sourceExists) throw notFound(`source volume ${sourceVolumeId} does not exist`);
    await checkSnapshotQuotas(c, quotas, { volumeId: sourceVolumeId, taken }, call, pool.storage);
    try {
      const created = await snapshots.create(location, call);
      ctx.log.info(
        { snapshotId: csiId, sourceVolumeId, pool: pool.name, ...snapshotNamesOf(req.parameters) },
        "snapshot created",
      );
      return { snapshot: snapshotMessage(pool, created) };
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
  const csiId = requireId(req.snapshot_id, "snapshot_id");
  const resolved = c.pools.resolveSnapshot(csiId);
  // An id this driver never hands out names nothing of ours: already deleted.
  if (resolved.kind === "foreign") return {};
  if (resolved.kind === "unknown-pool") throw unservedPool(c, csiId);
  const { pool, id: snapshotId } = resolved;
  return c.locks.withLock(pool.csiId(snapshotId), async () => {
    const call = callOf(ctx);
    const { storage } = pool;
    // Marked first, so that what a late CreateSnapshot re-creates after this delete is swept.
    const found = await storage.snapshots.markAndLocate(snapshotId, call);
    if (found === undefined) {
      // Gone already; a delete cut short after removing it may have left its volume's directory.
      await storage.directories.sweepVolumeSnapshots(call);
      return {};
    }
    // Cleared before and after: a walk's read that began in between saw the snapshot.
    c.walks.clear();
    try {
      await storage.snapshots.delete(found, call);
    } finally {
      c.walks.clear();
    }
    return {};
  });
}
