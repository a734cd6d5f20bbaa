import type { ContentSource, PoolStorage, SnapshotRecord, VolumeRecord } from "../../storage/index.js";
import type { Outgoing, Snapshot, Timestamp, Volume, VolumeContentSource } from "../types.js";
import type { Controller } from "./context.js";

/** Storage records as CSI messages: int64 as exact decimal strings, times as Timestamps. */

/** A content source is always in the volume's own pool. */
export function contentSourceMessage(
  pool: PoolStorage,
  source: ContentSource | undefined,
): Outgoing<VolumeContentSource> | null {
  if (source === undefined) return null;
  return source.kind === "snapshot"
    ? { snapshot: { snapshot_id: pool.csiId(source.snapshotId) } }
    : { volume: { volume_id: pool.csiId(source.volumeId) } };
}

export function volumeMessage(c: Controller, pool: PoolStorage, record: VolumeRecord): Outgoing<Volume> {
  return {
    volume_id: pool.csiId(record.volumeId),
    capacity_bytes: record.sizeBytes.toString(),
    volume_context: c.volumeContext(pool, record.volumeId, record.nqn),
    content_source: contentSourceMessage(pool, record.source),
  };
}

export function timestampOf(date: Date): Timestamp {
  const ms = date.getTime();
  const seconds = Math.floor(ms / 1000);
  return { seconds: String(seconds), nanos: (ms - seconds * 1000) * 1_000_000 };
}

export function snapshotMessage(pool: PoolStorage, record: SnapshotRecord): Outgoing<Snapshot> {
  return {
    snapshot_id: pool.csiId(record.snapshotId),
    source_volume_id: pool.csiId(record.sourceVolumeId),
    // 0 means "unknown" to a CO; only reported when RouterOS gave no exact size.
    size_bytes: (record.sizeBytes ?? 0n).toString(),
    creation_time: record.creationTime === null ? null : timestampOf(record.creationTime),
    ready_to_use: record.readyToUse,
  };
}
