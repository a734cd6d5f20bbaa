import { dirname, join } from "node:path";
import {
  type CallOptions,
  type PoolStorage,
  type Storage,
  StoragePools,
  splitPooledId,
} from "../../storage/index.js";
import { failedPrecondition, invalidArgument } from "../errors.js";
import type { KeyedLocks } from "../locks.js";
import type { RequestContext } from "../pipeline.js";
import type { StringMap } from "../types.js";
import { WalkCache } from "./walk-cache.js";

/** How nodes reach a volume: what goes into its volume_context (keys in src/node/README.md). */
export interface VolumeAttachment {
  transport: "nvme-tcp" | "loop";
  /** Where nodes connect for NVMe/TCP. */
  nvmeAddress: string;
  nvmePort: number;
  /** For the loop transport: where the emulator's pool is mounted on the nodes. */
  loopPoolPath?: string | undefined;
}

/** What the Controller service needs besides storage and locks. */
export interface ControllerSettings {
  /** Snapshots one volume may have; 0 for no limit. */
  maxSnapshotsPerVolume: number;
  attachment: VolumeAttachment;
  /**
   * RouterOS takes several host NQNs, comma-separated, in `nvme-tcp-server-allow-host-name`
   * (unconfirmed; off by default). Without it a second node is refused FAILED_PRECONDITION.
   */
  allowHostList?: boolean;
  /** Volumes one node may have published (the node's NodeGetInfo max_volumes_per_node); 0 for no limit. */
  maxVolumesPerNode?: number;
}

/** What every controller RPC module works with. */
export interface Controller {
  /** The default pool's storage. */
  readonly storage: Storage;
  /** Every pool this controller serves; ids say which one holds an object (ids.ts). */
  readonly pools: StoragePools;
  readonly locks: KeyedLocks;
  readonly maxSnapshotsPerVolume: number;
  readonly allowHostList: boolean;
  readonly maxVolumesPerNode: number;
  /** Listings kept for the later pages of a ListSnapshots walk (walk-cache.ts); never the truth. */
  readonly walks: WalkCache;
  /** What the node needs to attach a volume (keys documented in src/node/README.md). */
  volumeContext(pool: PoolStorage, volumeId: string, nqn: string): StringMap;
}

/**
 * Where the emulator mounts a pool on the host, for the loop transport: the default pool at
 * `--loop-pool-path` (`<data dir>/mnt`), another at `<data dir>/pools/<name>/mnt` (src/sim/README.md).
 */
export function loopPoolPathFor(loopPoolPath: string, pool: { name: string; isDefault: boolean }): string {
  return pool.isDefault ? loopPoolPath : join(dirname(loopPoolPath), "pools", pool.name, "mnt");
}

export function createController(
  pools: Storage | StoragePools,
  settings: ControllerSettings,
  locks: KeyedLocks,
): Controller {
  const served = pools instanceof StoragePools ? pools : new StoragePools(pools);
  const { transport, nvmeAddress, nvmePort, loopPoolPath } = settings.attachment;
  if (transport === "loop" && loopPoolPath === undefined) {
    throw new Error("the loop transport needs loopPoolPath");
  }
  return {
    storage: served.default.storage,
    pools: served,
    locks,
    maxSnapshotsPerVolume: settings.maxSnapshotsPerVolume,
    allowHostList: settings.allowHostList ?? false,
    maxVolumesPerNode: settings.maxVolumesPerNode ?? 0,
    walks: new WalkCache(),
    volumeContext(pool, volumeId, nqn) {
      const context: StringMap = { transport, nvmeAddress, nvmePort: String(nvmePort), nqn };
      if (transport === "loop" && loopPoolPath !== undefined) {
        context.backingFile = pool.storage.layout.hostImagePath(
          loopPoolPathFor(loopPoolPath, pool),
          volumeId,
        );
      }
      return context;
    },
  };
}

/** The RouterOS call options of a request: its deadline and cancellation. */
export function callOf(ctx: RequestContext): CallOptions {
  return Number.isFinite(ctx.deadline)
    ? { deadline: ctx.deadline, signal: ctx.signal }
    : { signal: ctx.signal };
}

/**
 * The pool a StorageClass names (`pool` parameter), or the default pool; a pool this controller
 * is not configured for is INVALID_ARGUMENT naming it and the ones it serves.
 */
export function poolNamed(c: Controller, name: string | undefined): PoolStorage {
  if (name === undefined) return c.pools.default;
  const pool = c.pools.named(name);
  if (pool === undefined) {
    throw invalidArgument(
      `StorageClass parameter pool=${JSON.stringify(name)} names a pool this controller does not serve ` +
        `(it serves ${c.pools.names().join(", ")}; add it with --rds-pools)`,
    );
  }
  return pool;
}

/** An id of ours in a pool this controller is not configured for: it exists, but cannot be reached. */
export function unservedPool(c: Controller, id: string): Error {
  const { pool } = splitPooledId(id);
  return failedPrecondition(
    `${id} is in pool ${pool ?? "?"}, which this controller does not serve ` +
      `(it serves ${c.pools.names().join(", ")}; add it with --rds-pools)`,
  );
}

/**
 * The pool and RouterOS id of a volume id, for RPCs on an existing volume: undefined for an id that
 * is none of ours (the caller answers as for a missing volume); one in a pool not served here is
 * FAILED_PRECONDITION.
 */
export function volumeOf(c: Controller, csiId: string): { pool: PoolStorage; id: string } | undefined {
  const resolved = c.pools.resolveVolume(csiId);
  if (resolved.kind === "foreign") return undefined;
  if (resolved.kind === "unknown-pool") throw unservedPool(c, csiId);
  return { pool: resolved.pool, id: resolved.id };
}
