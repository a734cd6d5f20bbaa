import {
  type CallOptions,
  type ContentSource,
  describeExport,
  describeSource,
  type EarlySubvolume,
  type KubernetesNames,
  type PoolStorage,
  type SourceFound,
  sameSource,
  type VolumeRecord,
  volumeIdFor,
} from "../../storage/index.js";
import {
  alreadyExists,
  failedPrecondition,
  invalidArgument,
  notFound,
  outOfRange,
  resourceExhausted,
} from "../errors.js";
import type { RequestContext } from "../pipeline.js";
import type {
  CreateVolumeRequest,
  CreateVolumeResponse,
  DeleteVolumeRequest,
  DeleteVolumeResponse,
  Outgoing,
  VolumeContentSource,
} from "../types.js";
import { type Controller, callOf, poolNamed, unservedPool } from "./context.js";
import { volumeMessage } from "./messages.js";
import { checksBeforeCreate, checkVolumeQuotas, takeQuotas } from "./quotas.js";
import {
  type ByteRange,
  expandedSize,
  fitsRange,
  MiB,
  newVolumeSize,
  type SizeChoice,
  sizeFromSource,
} from "./sizes.js";
import {
  checkParameters,
  filesystemMinimum,
  kubernetesNamesOf,
  POOL_PARAMETER,
  poolParameterOf,
  requireId,
  requireName,
  requireRange,
  requireSupportedCapabilities,
} from "./validate.js";

/** CreateVolume (empty, from a snapshot, or a clone) and DeleteVolume. */

export async function createVolume(
  c: Controller,
  req: CreateVolumeRequest,
  ctx: RequestContext,
): Promise<Outgoing<CreateVolumeResponse>> {
  const name = requireName(req.name, "name");
  requireSupportedCapabilities(req.volume_capabilities);
  const { quotas, rest } = takeQuotas(req.parameters, "StorageClass");
  checkParameters(rest, "StorageClass", [POOL_PARAMETER]);
  const named = poolParameterOf(rest);
  const classPool = named === undefined ? undefined : poolNamed(c, named);
  const range = filesystemMinimum(requireRange(req.capacity_range), req.volume_capabilities);
  const requested = requestedSource(c, req.volume_content_source);
  const pool = poolOfNewVolume(c, classPool, requested);
  const source = requested?.source;
  const volumeId = volumeIdFor(name);
  const csiId = pool.csiId(volumeId);
  const names = kubernetesNamesOf(req.parameters);
  return c.locks.withLock(csiId, async () => {
    const call = callOf(ctx);
    const { storage } = pool;
    // The volume, its marks, and a restore's or clone's source with the pool's free space: 1 line.
    // A new empty volume's subvolume is made in that line too, unless a quota must be checked first.
    const makeEmpty = source === undefined && !checksBeforeCreate(quotas) && newVolumeSize(range).ok;
    const first = await storage.volumes.lookup(volumeId, call, source, { makeEmpty });
    const { marks, source: found } = first;
    let { record: existing, early } = first;
    if (existing || marks.length > 0) {
      // Made for nothing: the volume is there already, or a delete's marks must be cleared first.
      await storage.volumes.discard(early, volumeId, call);
      early = undefined;
    }
    if (marks.length > 0) {
      // The name was deleted: what a late command re-created since goes, then the marks (so the
      // sweep leaves this volume alone), and the state is read again.
      await storage.tombstones.reclaimForCreate(volumeId, marks, call);
      existing = (await storage.volumes.lookup(volumeId, call)).record;
    }
    if (!existing) await checkVolumeQuotas(c, quotas, call, storage);
    const made = existing
      ? await reuse(pool, existing, range, source, call)
      : await provision(pool, { volumeId, names }, range, { source, found, early }, call);
    ctx.log.info(
      { volumeId: csiId, pool: pool.name, ...namesForLog(made.names ?? names) },
      existing ? "volume found" : "volume created",
    );
    return { volume: volumeMessage(c, pool, made) };
  });
}

/**
 * A new volume's pool: a restore or clone stays in its source's pool (a Btrfs snapshot cannot
 * cross filesystems), whatever pool a class without a `pool` parameter would give; a class that
 * names another pool is INVALID_ARGUMENT, the CSI code for a source the request cannot use.
 */
function poolOfNewVolume(
  c: Controller,
  classPool: PoolStorage | undefined,
  requested: RequestedSource | undefined,
): PoolStorage {
  if (requested === undefined) return classPool ?? c.pools.default;
  if (classPool !== undefined && classPool !== requested.pool) {
    const what = requested.source.kind === "snapshot" ? "snapshot" : "volume";
    throw invalidArgument(
      `the source ${what} is in pool ${requested.pool.name} and the StorageClass asks for pool ` +
        `${classPool.name}; restores and clones stay in their source's pool (use a StorageClass ` +
        `with pool=${requested.pool.name}, or none)`,
    );
  }
  return requested.pool;
}

export async function deleteVolume(
  c: Controller,
  req: DeleteVolumeRequest,
  ctx: RequestContext,
): Promise<Outgoing<DeleteVolumeResponse>> {
  const csiId = requireId(req.volume_id, "volume_id");
  const resolved = c.pools.resolveVolume(csiId);
  // An id this driver never hands out names nothing of ours: already deleted.
  if (resolved.kind === "foreign") return {};
  if (resolved.kind === "unknown-pool") throw unservedPool(c, csiId);
  const { pool, id: volumeId } = resolved;
  return c.locks.withLock(pool.csiId(volumeId), async () => {
    await pool.storage.volumes.delete(volumeId, callOf(ctx), (current) => {
      if (current.kind === "hosts") {
        throw failedPrecondition(
          `volume ${csiId} is still published (${describeExport(current)}); unpublish it first`,
        );
      }
    });
    return {};
  });
}

/** A content source: the pool it is in and its RouterOS ids. */
interface RequestedSource {
  pool: PoolStorage;
  source: ContentSource;
}

function requestedSource(c: Controller, source: VolumeContentSource | null): RequestedSource | undefined {
  if (source === null || source.type === undefined) return undefined;
  if (source.type === "snapshot") {
    const given = requireId(source.snapshot.snapshot_id, "volume_content_source.snapshot.snapshot_id");
    const resolved = c.pools.resolveSnapshot(given);
    if (resolved.kind === "foreign") throw notFound(`snapshot ${given} does not exist`);
    if (resolved.kind === "unknown-pool") throw unservedPool(c, given);
    return { pool: resolved.pool, source: { kind: "snapshot", snapshotId: resolved.id } };
  }
  const given = requireId(source.volume.volume_id, "volume_content_source.volume.volume_id");
  const resolved = c.pools.resolveVolume(given);
  if (resolved.kind === "foreign") throw notFound(`volume ${given} does not exist`);
  if (resolved.kind === "unknown-pool") throw unservedPool(c, given);
  return { pool: resolved.pool, source: { kind: "volume", volumeId: resolved.id } };
}

function sizeOrThrow(choice: SizeChoice): bigint {
  if (choice.ok) return choice.bytes;
  throw choice.reason === "invalid" ? invalidArgument(choice.message) : outOfRange(choice.message);
}

/** A retried or repeated CreateVolume: the same request gets the same volume; another one is a conflict. */
async function reuse(
  pool: PoolStorage,
  existing: VolumeRecord,
  range: ByteRange,
  source: ContentSource | undefined,
  call: CallOptions,
): Promise<VolumeRecord> {
  const id = existing.volumeId;
  if (!sameSource(existing.source, source)) {
    throw alreadyExists(
      `volume ${id} exists with ${describeSource(existing.source)}, not ${describeSource(source)}`,
    );
  }
  // Out of reach of a late undo of the attempt that made it, before it is handed out.
  const { volumes } = pool.storage;
  existing = await volumes.confirm(existing, call);
  // A restore or clone attaches the image first and grows it after; finish a grow cut short.
  if (source !== undefined && existing.sizeBytes < range.required) {
    return volumes.grow(id, sizeOrThrow(expandedSize(range, existing.sizeBytes)), call);
  }
  if (!fitsRange(existing.sizeBytes, range)) {
    throw alreadyExists(
      `volume ${id} exists with ${existing.sizeBytes} bytes, outside the requested range ` +
        `(required ${range.required}, limit ${range.limit || "none"})`,
    );
  }
  return existing;
}

/**
 * Makes the volume. A restore's size is chosen once the snapshot's image is copied (its size is
 * read in the same line as the copy; a snapshot id does not say where its image is): a size out
 * of range, or growth the pool cannot hold, then removes the copy again. A clone's source size is
 * known from the lookup, so its refusals come before anything is made.
 */
async function provision(
  pool: PoolStorage,
  target: { volumeId: string; names: KubernetesNames | undefined },
  range: ByteRange,
  from: {
    source: ContentSource | undefined;
    found: SourceFound | undefined;
    early: EarlySubvolume | undefined;
  },
  call: CallOptions,
): Promise<VolumeRecord> {
  const { source, found, early } = from;
  if (source === undefined) {
    const sizeBytes = sizeOrThrow(newVolumeSize(range));
    return pool.storage.volumes.create({ ...target, sizeBytes, seed: { kind: "empty" } }, call, early);
  }
  if (found?.subvolume === undefined) {
    const what = source.kind === "snapshot" ? "snapshot" : "volume";
    const id = source.kind === "snapshot" ? source.snapshotId : source.volumeId;
    throw notFound(`${what} ${pool.csiId(id)} does not exist`);
  }
  const { freeBytes } = found;
  checkRoomToGrow(pool, freeBytes, 0n);
  const sizeBytes = (imageBytes: bigint) => {
    const bytes = sizeOrThrow(sizeFromSource(range, imageBytes, source.kind));
    checkRoomToGrow(pool, freeBytes, bytes - imageBytes);
    return bytes;
  };
  const seed = { kind: "copy", source, subvolume: found.subvolume, sizeBytes: found.sizeBytes } as const;
  return pool.storage.volumes.create({ ...target, sizeBytes, seed }, call);
}

/** `pv` and `pvc` keys for a log line, so a volume id in the logs leads to its PV. */
function namesForLog(names: KubernetesNames | undefined): { pv?: string; pvc?: string } {
  return {
    ...(names?.pv ? { pv: names.pv } : {}),
    ...(names?.pvc ? { pvc: `${names.pvc.namespace}/${names.pvc.name}` } : {}),
  };
}

/** Btrfs metadata for a new subvolume needs some room even when no data is copied. */
const MINIMUM_FREE_FOR_COPY = MiB;

/**
 * A restore or clone shares every extent with its source, so it costs no space up front; what it
 * may add is the growth beyond the source's size. Refused when the pool cannot hold that (a Btrfs
 * snapshot itself would still succeed on a nearly full pool): before anything is made when the
 * pool has not even room for the copy's metadata, and for a restore's growth once the copied image
 * shows its size (the copy is then removed again).
 */
function checkRoomToGrow(pool: PoolStorage, free: bigint, growth: bigint): void {
  const needed = growth > MINIMUM_FREE_FOR_COPY ? growth : MINIMUM_FREE_FOR_COPY;
  if (free < needed) {
    throw resourceExhausted(`pool ${pool.name} has ${free} bytes free; this volume needs at least ${needed}`);
  }
}
