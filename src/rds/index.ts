/** The RouterOS client's public surface; see README.md in this directory. */
export type { BackoffOptions } from "./backoff.js";
export { type Change, change } from "./changes.js";
export { classifyReply } from "./classify.js";
export type { AddFileDiskRequest, FollowUp, RdsClientOptions } from "./client.js";
export { RdsClient } from "./client.js";
export { BATCH_SEPARATOR, type PathComponent } from "./command.js";
export type { ConnectionHealth, ExecOptions, ExecResult, RdsConnectionOptions } from "./connection.js";
export { RdsConnection } from "./connection.js";
export { isRdsError, RdsError, type RdsErrorKind } from "./errors.js";
export { fingerprintOf, type HostKeyPolicy } from "./host-key.js";
export { diskFilePath, fileName } from "./paths.js";
export {
  FILE_PROPLIST,
  IMAGE_SIZE_PROPLIST,
  type NameRange,
  type Query,
  type QueryResults,
  query,
  SUBVOLUME_PROPLIST,
} from "./queries.js";
export type { DiskInfo, FileInfo, PoolCapacity, SubvolumeInfo } from "./records.js";
export type { CallOptions, CommandTransport, ListingForm } from "./runner.js";
export { FILE_SIZE_GRANULARITY, roundUpFileSize } from "./sizes.js";
export { parseRouterOsVersion, type RouterOsVersion, supports, versionAtLeast } from "./version.js";
