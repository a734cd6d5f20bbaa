import {
  type CallOptions,
  type ContentSource,
  describeExport,
  describeSource,
  isSnapshotId,
  isVolumeId,
  type KubernetesNames,
  sameSource,
  type VolumeRecord,
  type VolumeSeed,
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
import { type Controller, callOf } from "./context.js";
import { volumeMessage } from "./messages.js";
import { checkVolumeQuotas, takeQuotas } from "./quotas.js";
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
  checkParameters(rest, "StorageClass");
  const range = filesystemMinimum(requireRange(req.capacity_range), req.volume_capabilities);
  const source = requestedSource(req.volume_content_source);
  const volumeId = volumeIdFor(name);
  const names = kubernetesNamesOf(req.parameters);
  return c.locks.withLock(volumeId, async () => {
    const call = callOf(ctx);
    const { record, marks } = await c.storage.volumes.lookup(volumeId, call);
    let existing = record;
    if (marks.length > 0) {
      // The name was deleted: what a late command re-created since goes, then the marks (so the
      // sweep leaves this volume alone), and the state is read again.
      await c.storage.tombstones.reclaimForCreate(volumeId, marks, call);
      existing = (await c.storage.volumes.lookup(volumeId, call)).record;
    }
    if (!existing) await checkVolumeQuotas(c, quotas, call);
    const made = existing
      ? await reuse(c, existing, range, source, call)
      : await provision(c, { volumeId, names }, range, source, call);
    ctx.log.info(
      { volumeId, ...namesForLog(made.names ?? names) },
      existing ? "volume found" : "volume created",
    );
    return { volume: volumeMessage(c, made) };
  });
}

export async function deleteVolume(
  c: Controller,
  req: DeleteVolumeRequest,
  ctx: RequestContext,
): Promise<Outgoing<DeleteVolumeResponse>> {
  const volumeId = requireId(req.volume_id, "volume_id");
  // An id this driver never hands out names nothing of ours: already deleted.
  if (!isVolumeId(volumeId)) return {};
  return c.locks.withLock(volumeId, async () => {
    await c.storage.volumes.delete(volumeId, callOf(ctx), (current) => {
      if (current.kind === "hosts") {
        throw failedPrecondition(
          `volume ${volumeId} is still published (${describeExport(current)}); unpublish it first`,
        );
      }
    });
    return {};
  });
}

function requestedSource(source: VolumeContentSource | null): ContentSource | undefined {
  if (source === null || source.type === undefined) return undefined;
  if (source.type === "snapshot") {
    const snapshotId = requireId(source.snapshot.snapshot_id, "volume_content_source.snapshot.snapshot_id");
    if (!isSnapshotId(snapshotId)) throw notFound(`snapshot ${snapshotId} does not exist`);
    return { kind: "snapshot", snapshotId };
  }
  const volumeId = requireId(source.volume.volume_id, "volume_content_source.volume.volume_id");
  if (!isVolumeId(volumeId)) throw notFound(`volume ${volumeId} does not exist`);
  return { kind: "volume", volumeId };
}

function sizeOrThrow(choice: SizeChoice): bigint {
  if (choice.ok) return choice.bytes;
  throw choice.reason === "invalid" ? invalidArgument(choice.message) : outOfRange(choice.message);
}

/** A retried or repeated CreateVolume: the same request gets the same volume; another one is a conflict. */
async function reuse(
  c: Controller,
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
  existing = await c.storage.volumes.confirm(existing, call);
  // A restore or clone attaches the image first and grows it after; finish a grow cut short.
  if (source !== undefined && existing.sizeBytes < range.required) {
    return c.storage.volumes.grow(id, sizeOrThrow(expandedSize(range, existing.sizeBytes)), call);
  }
  if (!fitsRange(existing.sizeBytes, range)) {
    throw alreadyExists(
      `volume ${id} exists with ${existing.sizeBytes} bytes, outside the requested range ` +
        `(required ${range.required}, limit ${range.limit || "none"})`,
    );
  }
  return existing;
}

async function provision(
  c: Controller,
  target: { volumeId: string; names: KubernetesNames | undefined },
  range: ByteRange,
  source: ContentSource | undefined,
  call: CallOptions,
): Promise<VolumeRecord> {
  if (source === undefined) {
    const sizeBytes = sizeOrThrow(newVolumeSize(range));
    return c.storage.volumes.create({ ...target, sizeBytes, seed: { kind: "empty" } }, call);
  }
  const seed = await seedFrom(c, source, call);
  const sizeBytes = sizeOrThrow(sizeFromSource(range, seed.sizeBytes, source.kind));
  await checkRoomToGrow(c, sizeBytes - seed.sizeBytes, call);
  return c.storage.volumes.create({ ...target, sizeBytes, seed }, call);
}

/** `pv` and `pvc` keys for a log line, so a volume id in the logs leads to its PV. */
function namesForLog(names: KubernetesNames | undefined): { pv?: string; pvc?: string } {
  return {
    ...(names?.pv ? { pv: names.pv } : {}),
    ...(names?.pvc ? { pvc: `${names.pvc.namespace}/${names.pvc.name}` } : {}),
  };
}

async function seedFrom(
  c: Controller,
  source: ContentSource,
  call: CallOptions,
): Promise<Extract<VolumeSeed, { kind: "copy" }>> {
  const { layout, snapshots, volumes } = c.storage;
  if (source.kind === "snapshot") {
    const snapshot = await snapshots.find(source.snapshotId, call);
    if (snapshot === undefined) throw notFound(`snapshot ${source.snapshotId} does not exist`);
    if (snapshot.sizeBytes === null) throw new Error(`snapshot ${source.snapshotId} reports no image size`);
    return {
      kind: "copy",
      source,
      subvolume: layout.snapshotSubvolume(snapshot.sourceVolumeId, snapshot.snapshotId),
      sizeBytes: snapshot.sizeBytes,
    };
  }
  const volume = await volumes.find(source.volumeId, call);
  if (volume === undefined) throw notFound(`volume ${source.volumeId} does not exist`);
  return {
    kind: "copy",
    source,
    subvolume: layout.volumeSubvolume(source.volumeId),
    sizeBytes: volume.sizeBytes,
  };
}

/** Btrfs metadata for a new subvolume needs some room even when no data is copied. */
const MINIMUM_FREE_FOR_COPY = MiB;

/**
 * A restore or clone shares every extent with its source, so it costs no space up front; what it
 * may add is the growth beyond the source's size. Refuse before touching anything when the pool
 * cannot hold that (a Btrfs snapshot itself would still succeed on a nearly full pool).
 */
async function checkRoomToGrow(c: Controller, growth: bigint, call: CallOptions): Promise<void> {
  const needed = growth > MINIMUM_FREE_FOR_COPY ? growth : MINIMUM_FREE_FOR_COPY;
  const free = await c.storage.poolFreeBytes(call);
  if (free < needed) {
    throw resourceExhausted(`the pool has ${free} bytes free; this volume needs at least ${needed}`);
  }
}
