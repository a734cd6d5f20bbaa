import { isSnapshotId, isVolumeId, pooledId, splitPooledId } from "./ids.js";
import type { Storage } from "./storage.js";

/**
 * The Btrfs pools one controller serves, each a `Storage` (its own layout: mount-point, `fs=`
 * label, root) over the same RouterOS client. The default pool (`--rds-pool`) answers for plain
 * ids and for classes that name no pool; the others (`--rds-pools`) for ids that start with their
 * name (`ids.ts`). A restore or clone always stays in its source's pool: a Btrfs snapshot cannot
 * cross filesystems.
 */

/** One pool as the controller sees it. */
export interface PoolStorage {
  /** The pool's name (its mount-point), as a StorageClass `pool` parameter names it. */
  readonly name: string;
  readonly isDefault: boolean;
  readonly storage: Storage;
  /** The CSI id of a RouterOS id in this pool (the plain id in the default pool). */
  csiId(id: string): string;
}

/** What a CSI id names: a pool this controller serves and the RouterOS id in it. */
export type Resolved =
  | { kind: "ours"; pool: PoolStorage; id: string }
  /** Well-formed, in a pool this controller is not configured for. */
  | { kind: "unknown-pool"; pool: string; id: string }
  /** Not an id this driver hands out. */
  | { kind: "foreign" };

export class StoragePools {
  readonly #byName = new Map<string, PoolStorage>();
  readonly default: PoolStorage;

  constructor(defaultStorage: Storage, others: readonly Storage[] = []) {
    this.default = this.#add(defaultStorage, true);
    for (const storage of others) {
      if (this.#byName.has(storage.layout.pool)) {
        throw new Error(`pool ${storage.layout.pool} is configured twice`);
      }
      this.#add(storage, false);
    }
  }

  /** Every pool, the default first. */
  all(): readonly PoolStorage[] {
    return [...this.#byName.values()];
  }

  names(): string[] {
    return [...this.#byName.keys()];
  }

  /** The pool of this name, or undefined when the controller does not serve it. */
  named(name: string): PoolStorage | undefined {
    return this.#byName.get(name);
  }

  resolveVolume(csiId: string): Resolved {
    return this.#resolve(csiId, isVolumeId);
  }

  resolveSnapshot(csiId: string): Resolved {
    return this.#resolve(csiId, isSnapshotId);
  }

  #resolve(csiId: string, valid: (id: string) => boolean): Resolved {
    const { pool, id } = splitPooledId(csiId);
    if (!valid(id)) return { kind: "foreign" };
    // The default pool spelled out names the same objects as the plain id.
    const found = pool === undefined ? this.default : this.#byName.get(pool);
    if (found === undefined) return { kind: "unknown-pool", pool: pool as string, id };
    return { kind: "ours", pool: found, id };
  }

  #add(storage: Storage, isDefault: boolean): PoolStorage {
    const name = storage.layout.pool;
    const entry: PoolStorage = {
      name,
      isDefault,
      storage,
      csiId: (id) => pooledId(isDefault ? undefined : name, id),
    };
    this.#byName.set(name, entry);
    return entry;
  }
}
