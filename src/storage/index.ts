/**
 * The layout on one RDS, and the only part of the driver that knows it: everything above talks to
 * RouterOS through a `Storage`. This file is the layer's public face; see README.md here.
 */

export type { CallOptions } from "../rds/index.js";
export type { Directories } from "./directories.js";
export { allowedHosts, describeExport, exportOf as exportOfDisk, type VolumeExport } from "./exports.js";
export { ID_SPACE, type IdRange, idPosition, rangeWidthFor } from "./id-ranges.js";
export {
  isPoolName,
  isSnapshotId,
  isVolumeId,
  nameProblem,
  pooledId,
  snapshotIdFor,
  splitPooledId,
  volumeIdFor,
} from "./ids.js";
export type {
  InventoryScope,
  Listings,
  RdsInventory,
  SnapshotDirectoryObjects,
  SnapshotObjects,
  VolumeObjects,
} from "./inventory.js";
export { buildInventory } from "./inventory.js";
export type { SnapshotLocation } from "./layout.js";
export { Layout } from "./layout.js";
export type { ContentSource, KubernetesNames } from "./metadata.js";
export {
  checkedNames,
  decodeVolumeComment,
  describeNames,
  describeSource,
  hostTag,
  sameSource,
} from "./metadata.js";
export { type OpenedStorage, type OpenStorageOptions, openStorage } from "./open.js";
export { type PoolStorage, type Resolved, StoragePools } from "./pools.js";
export type { StorageRds } from "./rds-port.js";
export {
  checkedSnapshotNames,
  describeSnapshotNames,
  parseNamesFileName,
  type SnapshotNames,
} from "./snapshot-names.js";
export type { ListedSnapshot, SnapshotRecord, SnapshotSubvolume } from "./snapshots.js";
export { SnapshotStore } from "./snapshots.js";
export { type Census, createStorage, type Storage, type StorageOptions } from "./storage.js";
export {
  type SweepLocks,
  type SweepReport,
  sweepIntervalFor,
  TombstoneSweep,
  type TombstoneSweepOptions,
} from "./tombstone-sweep.js";
export type { Reclaimed, Tombstone, Tombstones } from "./tombstones.js";
export type {
  EarlySubvolume,
  SourceFound,
  VolumeLookup,
  VolumePlan,
  VolumeRecord,
  VolumeSeed,
} from "./volumes.js";
export { IMAGE_SIZE_STEP, VolumeInUseError, VolumeStore } from "./volumes.js";
