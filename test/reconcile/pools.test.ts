/**
 * The reconciler over several pools judges each pool by the ids the cluster knows in that pool:
 * a PV of `fast:pvc-x` keeps pool fast's `pvc-x` and says nothing about the default pool's.
 */
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import type { LiveObjects } from "../../src/reconcile/kubernetes.js";
import { liveInPool } from "../../src/reconcile/reconciler.js";
import {
  createStorage,
  StoragePools,
  type StorageRds,
  snapshotIdFor,
  volumeIdFor,
} from "../../src/storage/index.js";

const noRds = {} as StorageRds;
const storageOf = (pool: string) =>
  createStorage(noRds, {
    pool,
    fsLabel: pool,
    root: "rds-csi",
    nvmePort: 4420,
    nqnPrefix: "nqn.2000-02.com.mikrotik:rds-csi",
    logger: pino({ level: "silent" }),
  });

const pools = new StoragePools(storageOf("raid1"), [storageOf("fast")]);
const A = volumeIdFor("a");
const B = volumeIdFor("b");
const S = snapshotIdFor("s");

const live: LiveObjects = {
  volumes: new Set([A, `fast:${B}`, `archive:${A}`, "not-ours"]),
  snapshots: new Set([`fast:${S}`]),
  driverVolumes: 3,
  driverSnapshots: 1,
  snapshotsKnown: true,
  attachedHosts: new Map([[`fast:${B}`, new Set(["nqn.host"])]]),
};

describe("liveInPool", () => {
  it("gives each pool the RouterOS ids of its own handles only", () => {
    const first = liveInPool(live, pools, pools.default);
    expect([...first.volumes].sort()).toEqual([A, "not-ours"].sort());
    expect([...first.snapshots]).toEqual([]);
    expect(first.attachedHosts?.size).toBe(0);
    const fast = liveInPool(
      live,
      pools,
      pools.named("fast") as NonNullable<ReturnType<StoragePools["named"]>>,
    );
    expect([...fast.volumes]).toEqual([B]);
    expect([...fast.snapshots]).toEqual([S]);
    expect([...(fast.attachedHosts?.get(B) ?? [])]).toEqual(["nqn.host"]);
    // The counts that stop removals when the cluster lists nothing of the driver stay whole.
    expect(fast.driverVolumes).toBe(3);
  });

  it("leaves the listing as it is with one pool", () => {
    const single = new StoragePools(storageOf("raid1"));
    expect(liveInPool(live, single, single.default)).toBe(live);
  });
});
