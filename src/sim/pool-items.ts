import type { SimPool, SimWorld } from "./world.js";

/**
 * Several pools behind one `/disk/btrfs/subvolume` table. Btrfs numbers subvolumes per filesystem,
 * so an item's internal id is the pool's index times this plus the subvolume id: unique across
 * pools, and the first pool's ids are the subvolume ids as before.
 */
const POOL_ID_STRIDE = 2 ** 20;

export function subvolumeItemId(poolIndex: number, subvolumeId: number): number {
  return poolIndex * POOL_ID_STRIDE + subvolumeId;
}

/** The pool and Btrfs subvolume id an item id stands for. */
export function subvolumeOfItem(
  world: SimWorld,
  itemId: number,
): { pool: SimPool; index: number; subvolumeId: number } | undefined {
  const index = Math.floor(itemId / POOL_ID_STRIDE);
  const pool = world.pools[index];
  return pool === undefined ? undefined : { pool, index, subvolumeId: itemId % POOL_ID_STRIDE };
}

/** The pool whose Btrfs filesystem `fs=` names, by label or uuid. */
export function poolLabeled(world: SimWorld, label: string): { pool: SimPool; index: number } | undefined {
  const index = world.pools.findIndex((p) => p.view.label === label || p.view.uuid === label);
  const pool = world.pools[index];
  return pool === undefined ? undefined : { pool, index };
}
