import type { Logger } from "pino";
import { type CallOptions, type PoolCapacity, query, RdsError } from "../rds/index.js";
import { Directories } from "./directories.js";
import { SNAPSHOT_ID_PREFIX, VOLUME_ID_PREFIX } from "./ids.js";
import {
  buildInventory,
  type InventoryScope,
  type Listings,
  type RdsInventory,
  readListings,
} from "./inventory.js";
import { Layout } from "./layout.js";
import type { StorageRds } from "./rds-port.js";
import { SnapshotStore } from "./snapshots.js";
import { Tombstones } from "./tombstones.js";
import { VolumeStore } from "./volumes.js";

export interface StorageOptions {
  pool: string;
  fsLabel: string;
  root: string;
  nvmePort: number;
  nqnPrefix: string;
  /**
   * New volumes are exported to no host until ControllerPublishVolume (default). False exports
   * them to every host, for clusters that run no csi-attacher (CSIDriver attachRequired: false).
   */
  fenceNewVolumes?: boolean;
  logger: Logger;
  /**
   * Deletes leave marks for the sweep of what late commands re-create (`tombstones.ts`); default
   * true. Off only when no sweep runs, since nothing would ever drop them.
   */
  deleteMarks?: boolean;
}

/** How many of the driver's objects the RDS holds, and the room left in the pool. */
export interface Census {
  volumes: number;
  snapshots: number;
  freeBytes: bigint;
}

export interface Storage {
  readonly layout: Layout;
  readonly volumes: VolumeStore;
  readonly snapshots: SnapshotStore;
  readonly directories: Directories;
  readonly tombstones: Tombstones;
  /** Free bytes in the pool — 1 round trip. */
  poolFreeBytes(call: CallOptions): Promise<bigint>;
  /** Size and free bytes of the pool — 1 round trip. */
  poolCapacity(call: CallOptions): Promise<PoolCapacity>;
  /**
   * How many volumes and snapshots of this driver the pool holds, and its free space — 1 round
   * trip of three counts, whatever the number of objects (RouterOS counts; nothing is listed).
   */
  census(call: CallOptions): Promise<Census>;
  /** Everything under the root (or one object's part of it), whole or not — listings only. */
  readInventory(scope: InventoryScope, call: CallOptions): Promise<RdsInventory>;
  /** The raw listings `readInventory` groups (the lineage view needs the snapshot images' sizes too). */
  readListings(scope: InventoryScope, call: CallOptions): Promise<Listings>;
}

export function createStorage(rds: StorageRds, options: StorageOptions): Storage {
  const layout = new Layout(options);
  const { logger } = options;
  const directories = new Directories(rds, layout, logger);
  const tombstones = new Tombstones(rds, layout, directories, logger, options.deleteMarks ?? true);
  const poolFreeBytes = async (call: CallOptions) => (await rds.poolCapacity(layout.pool, call)).free;
  return {
    layout,
    directories,
    tombstones,
    volumes: new VolumeStore(rds, {
      layout,
      directories,
      tombstones,
      nvmePort: options.nvmePort,
      nqnPrefix: options.nqnPrefix,
      fenceNewVolumes: options.fenceNewVolumes ?? true,
      logger,
    }),
    snapshots: new SnapshotStore(rds, { layout, directories, tombstones, logger }),
    poolFreeBytes,
    poolCapacity: (call) => rds.poolCapacity(layout.pool, call),
    census: async (call) => {
      // Counted by RouterOS, with exactly the shapes `parseVolumeSubvolume` and
      // `parseSnapshotSubvolume` accept: nothing is listed, whatever the number of objects.
      const fs = layout.fsLabel;
      const [volumes, snapshots, pool] = await rds.read(
        [
          query.subvolumeIdCount({ base: layout.volumesDir(), idPrefixes: [VOLUME_ID_PREFIX], fs }),
          query.subvolumeIdCount({
            base: layout.snapshotsDir(),
            idPrefixes: [VOLUME_ID_PREFIX, SNAPSHOT_ID_PREFIX],
            fs,
          }),
          query.poolAt(layout.pool),
        ],
        call,
      );
      if (pool === null) throw new RdsError("not-found", `no disk is mounted at ${layout.pool}`);
      return { volumes, snapshots, freeBytes: pool.free };
    },
    readInventory: async (scope, call) =>
      buildInventory(layout, await readListings(rds, layout, scope, call)),
    readListings: (scope, call) => readListings(rds, layout, scope, call),
  };
}
