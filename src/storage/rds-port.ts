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
  | "setDiskComment"
  | "setDiskExport"
  | "getDisk"
  | "listDisks"
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
  | "readThenApply"
>;
