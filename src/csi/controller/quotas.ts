import type { CallOptions, Storage } from "../../storage/index.js";
import { invalidArgument, resourceExhausted } from "../errors.js";
import type { StringMap } from "../types.js";
import type { Controller } from "./context.js";

/**
 * Quotas set as class parameters, checked on the RDS before anything new is made:
 *
 * | parameter               | class               | caps                                               |
 * | `maxSnapshotsPerVolume` | VolumeSnapshotClass | snapshots of the source volume                     |
 * | `maxSnapshots`          | VolumeSnapshotClass | snapshots under the driver's root, of all volumes   |
 * | `maxPoolUsedPercent`    | both                | how full the pool may be before a new one is made  |
 *
 * A request over a limit is RESOURCE_EXHAUSTED naming the parameter, its value and the current
 * figure. A retry of a snapshot or volume that already exists is answered before any check, so it
 * succeeds at the cap. The counts are RouterOS's: `maxSnapshots` is one `:len [find …]`
 * (a number, whatever the count), `maxSnapshotsPerVolume` one listing of that volume's snapshot
 * names, `maxPoolUsedPercent` one read of the pool's size and free space.
 */

export type QuotaClass = "StorageClass" | "VolumeSnapshotClass";

export interface Quotas {
  maxSnapshotsPerVolume?: number;
  maxSnapshots?: number;
  maxPoolUsedPercent?: number;
}

const LIMITS: Record<keyof Quotas, { classes: readonly QuotaClass[]; min: number; max: number }> = {
  maxSnapshotsPerVolume: { classes: ["VolumeSnapshotClass"], min: 1, max: 1_000_000 },
  maxSnapshots: { classes: ["VolumeSnapshotClass"], min: 1, max: 100_000_000 },
  maxPoolUsedPercent: { classes: ["StorageClass", "VolumeSnapshotClass"], min: 1, max: 100 },
};

/**
 * The quota parameters of a class, and the parameters left for the other checks (which refuse
 * unknown keys). A quota key given to the wrong class, or a value that is not a whole number in
 * range, is INVALID_ARGUMENT.
 */
export function takeQuotas(parameters: StringMap, what: QuotaClass): { quotas: Quotas; rest: StringMap } {
  const quotas: Quotas = {};
  const rest: StringMap = {};
  for (const [key, value] of Object.entries(parameters)) {
    const limit = Object.hasOwn(LIMITS, key) ? LIMITS[key as keyof Quotas] : undefined;
    if (limit === undefined) {
      rest[key] = value;
      continue;
    }
    if (!limit.classes.includes(what)) {
      throw invalidArgument(
        `${what} parameter ${key} is not supported; it belongs in a ${limit.classes.join(" or ")}`,
      );
    }
    const n = /^\d{1,12}$/.test(value.trim()) ? Number(value.trim()) : Number.NaN;
    if (!(n >= limit.min && n <= limit.max)) {
      throw invalidArgument(
        `${what} parameter ${key}=${JSON.stringify(value)} must be a whole number from ${limit.min} to ${limit.max}`,
      );
    }
    quotas[key as keyof Quotas] = n;
  }
  return { quotas, rest };
}

/** The per-volume cap in force: the smaller of --max-snapshots-per-volume and the class's. */
export function perVolumeLimit(c: Controller, quotas: Quotas): { limit: number; setBy: string } | undefined {
  const flag = c.maxSnapshotsPerVolume > 0 ? c.maxSnapshotsPerVolume : undefined;
  const own = quotas.maxSnapshotsPerVolume;
  if (own !== undefined && (flag === undefined || own < flag)) {
    return { limit: own, setBy: `VolumeSnapshotClass parameter maxSnapshotsPerVolume=${own}` };
  }
  return flag === undefined ? undefined : { limit: flag, setBy: `--max-snapshots-per-volume=${flag}` };
}

/**
 * CreateSnapshot, for a snapshot not yet made; `taken` is the source volume's snapshot count.
 * `storage` is the source's pool (`--rds-pools`): counts and usage are that pool's.
 */
export async function checkSnapshotQuotas(
  c: Controller,
  quotas: Quotas,
  source: { volumeId: string; taken: number },
  call: CallOptions,
  storage: Storage = c.storage,
): Promise<void> {
  const perVolume = perVolumeLimit(c, quotas);
  if (perVolume !== undefined && source.taken >= perVolume.limit) {
    throw resourceExhausted(
      `volume ${source.volumeId} already has ${source.taken} snapshots, the limit set by ${perVolume.setBy}; ` +
        "delete some or raise the limit",
    );
  }
  if (quotas.maxSnapshots !== undefined) {
    const total = await storage.snapshots.count(call);
    if (total >= quotas.maxSnapshots) {
      throw resourceExhausted(
        `the RDS holds ${total} snapshots of this driver, the limit set by VolumeSnapshotClass parameter ` +
          `maxSnapshots=${quotas.maxSnapshots}; delete some or raise the limit`,
      );
    }
  }
  await checkPoolUsage(storage, quotas, "VolumeSnapshotClass", call);
}

/** CreateVolume, for a volume not yet made, in `storage`'s pool. */
/** Whether a StorageClass's quotas must be checked before a volume is made (`checkVolumeQuotas` reads). */
export function checksBeforeCreate(quotas: Quotas): boolean {
  return quotas.maxPoolUsedPercent !== undefined;
}

export async function checkVolumeQuotas(
  c: Controller,
  quotas: Quotas,
  call: CallOptions,
  storage: Storage = c.storage,
): Promise<void> {
  await checkPoolUsage(storage, quotas, "StorageClass", call);
}

async function checkPoolUsage(storage: Storage, quotas: Quotas, what: QuotaClass, call: CallOptions) {
  const max = quotas.maxPoolUsedPercent;
  if (max === undefined) return;
  const { size, free } = await storage.poolCapacity(call);
  const used = size - free;
  // Compared in bytes (used * 100 >= size * max), so no rounding lets a full pool through.
  if (size > 0n && used * 100n < size * BigInt(max)) return;
  const percent = size > 0n ? Number((used * 1000n) / size) / 10 : 100;
  throw resourceExhausted(
    `pool ${storage.layout.pool} is ${percent}% used (${used} of ${size} bytes), at or above the limit set by ` +
      `${what} parameter maxPoolUsedPercent=${max}; free space on the RDS or raise the limit`,
  );
}

/**
 * GetCapacity under `maxPoolUsedPercent`: what can still be used before the limit, never more than
 * the free space.
 */
export function capacityUnder(quotas: Quotas, pool: { size: bigint; free: bigint }): bigint {
  if (quotas.maxPoolUsedPercent === undefined) return pool.free;
  const allowed = (pool.size * BigInt(quotas.maxPoolUsedPercent)) / 100n - (pool.size - pool.free);
  return allowed < 0n ? 0n : allowed < pool.free ? allowed : pool.free;
}
