import type { RdsClient } from "../rds/index.js";

/**
 * The RouterOS operations the storage layer uses: a slice of `RdsClient`, so the layout code
 * depends on what it calls and nothing else.
 */
export type StorageRds = Pick<
  RdsClient,
  | "addFileDisk"
  | "setDiskFileSize"
  | "removeDisk"
  | "getDisk"
  | "createSubvolume"
  | "snapshotSubvolume"
  | "removeSubvolume"
  | "getSubvolume"
  | "listSubvolumes"
  | "getFile"
  | "removeFile"
  | "addDirectory"
  | "listFiles"
  | "poolCapacity"
  | "read"
  | "apply"
>;

export type { CallOptions, DiskInfo, FileInfo, Query, SubvolumeInfo } from "../rds/index.js";
export { change, FILE_PROPLIST, query, SUBVOLUME_PROPLIST } from "../rds/index.js";
