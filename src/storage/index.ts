import type { Logger } from "pino";
import { Directories } from "./directories.js";
import { Layout } from "./layout.js";
import type { CallOptions, StorageRds } from "./rds-port.js";
import { SnapshotStore } from "./snapshots.js";
import { VolumeStore } from "./volumes.js";

/** The storage layout on one RDS; see README.md in this directory. */

export { isSnapshotId, isVolumeId, nameProblem, snapshotIdFor, volumeIdFor } from "./ids.js";
export { Layout } from "./layout.js";
export type { ContentSource } from "./metadata.js";
export { describeSource, sameSource } from "./metadata.js";
export type { CallOptions, StorageRds } from "./rds-port.js";
export type { SnapshotRecord, SnapshotSubvolume } from "./snapshots.js";
export type { VolumePlan, VolumeRecord, VolumeSeed } from "./volumes.js";
export { IMAGE_SIZE_STEP } from "./volumes.js";
export { SnapshotStore, VolumeStore };

export interface StorageOptions {
  pool: string;
  fsLabel: string;
  root: string;
  nvmePort: number;
  nqnPrefix: string;
  logger: Logger;
}

export interface Storage {
  readonly layout: Layout;
  readonly volumes: VolumeStore;
  readonly snapshots: SnapshotStore;
  readonly directories: Directories;
  /** Free bytes in the pool — 1 round trip. */
  poolFreeBytes(call: CallOptions): Promise<bigint>;
}

export function createStorage(rds: StorageRds, options: StorageOptions): Storage {
  const layout = new Layout(options);
  const { logger } = options;
  const directories = new Directories(rds, layout, logger);
  return {
    layout,
    directories,
    volumes: new VolumeStore(rds, {
      layout,
      directories,
      nvmePort: options.nvmePort,
      nqnPrefix: options.nqnPrefix,
      logger,
    }),
    snapshots: new SnapshotStore(rds, { layout, directories, logger }),
    poolFreeBytes: async (call) => (await rds.poolCapacity(layout.pool, call)).free,
  };
}
