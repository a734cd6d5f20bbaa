import { KubeConfig } from "@kubernetes/client-node";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { KeyedLocks } from "../../src/csi/locks.js";
import { type PassReport, type ReconcilerOptions, startReconciler } from "../../src/reconcile/index.js";
import { createStorage, snapshotIdFor, volumeIdFor } from "../../src/storage/index.js";
import { Kubectl, type KubeObject } from "./harness/kubectl.js";
import { type Pv, type VolumeSnapshotContent, waitBound, waitReady } from "./harness/objects.js";
import { type RdsState, RdsView } from "./harness/rds.js";

// The orphan reconciler against the real API server, reading it as the chart's controller service
// account (so the chart's RBAC for it is what is tested): what the cluster knows is never touched,
// what it does not know is found, and dry-run changes nothing.

const info = inject("cluster");
const kubectl = new Kubectl(info.bin, info.adminKubeconfig);
const rds = new RdsView(info);
const NS = "reconcile";
const HOUR = 3_600_000;
const storage = createStorage(rds.client, {
  pool: info.sim.pool,
  fsLabel: info.sim.fsLabel,
  root: info.driverRoot,
  nvmePort: 4420,
  nqnPrefix: "nqn.2000-02.com.mikrotik:rds-csi",
  logger: pino({ level: "silent" }),
});
const leftoverVolume = volumeIdFor("k8s-suite-leftover");
const leftoverSnapshot = snapshotIdFor("k8s-suite-leftover");
let clockOffset = 0;
let knownVolume = "";

function reconciler(dryRun: boolean) {
  const kube = new KubeConfig();
  kube.loadFromFile(info.controllerKubeconfig);
  const options: ReconcilerOptions = {
    storage,
    kube,
    driverName: info.driverName,
    // Passes are run by the test.
    intervalMs: HOUR,
    dryRun,
    gracePeriodMs: 60_000,
    passes: 2,
    locks: new KeyedLocks(),
    logger: pino({ level: "silent" }),
    clock: () => Date.now() + clockOffset,
  };
  return startReconciler(options);
}

/** Every handle the cluster refers to, read as an administrator would. */
async function clusterHandles(): Promise<{ volumes: string[]; snapshots: string[] }> {
  const pvs = await kubectl.list<Pv>("pv");
  const contents = await kubectl.list<VolumeSnapshotContent>("volumesnapshotcontent");
  return {
    volumes: pvs.flatMap((pv) => (pv.spec.csi ? [pv.spec.csi.volumeHandle] : [])),
    snapshots: contents
      .flatMap((c) => [c.status?.snapshotHandle, c.spec.source.snapshotHandle])
      .filter((h): h is string => h !== undefined),
  };
}

function found(report: PassReport): string[] {
  return report.findings.map((f) => `${f.type} ${f.id} ${f.action}`).sort();
}

function plain(state: RdsState): { disks: string[]; snapshots: string[] } {
  return { disks: [...state.disks.keys()].sort(), snapshots: [...state.snapshots].sort() };
}

beforeAll(async () => {
  const objects: KubeObject[] = [
    {
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      metadata: { name: "known", namespace: NS },
      spec: {
        accessModes: ["ReadWriteOnce"],
        storageClassName: "rds-nvme",
        resources: { requests: { storage: "1Gi" } },
      },
    },
    {
      apiVersion: "snapshot.storage.k8s.io/v1",
      kind: "VolumeSnapshot",
      metadata: { name: "known", namespace: NS },
      spec: { source: { persistentVolumeClaimName: "known" } },
    },
  ];
  await kubectl.run(["create", "namespace", NS]);
  await kubectl.apply(objects.slice(0, 1));
  const { pv } = await waitBound(kubectl, NS, "known");
  await kubectl.apply(objects.slice(1));
  await waitReady(kubectl, NS, "known");
  // Leftovers no Kubernetes object refers to: a volume, and a snapshot of a volume the cluster knows.
  await storage.volumes.create(
    { volumeId: leftoverVolume, sizeBytes: 64n << 20n, seed: { kind: "empty" } },
    {},
  );
  knownVolume = pv.spec.csi!.volumeHandle;
  await storage.snapshots.create({ snapshotId: leftoverSnapshot, sourceVolumeId: knownVolume }, {});
});

afterAll(async () => {
  try {
    await kubectl.delete("namespace", NS, undefined, 120_000);
    // Only if a failed test left them: removing what is not there is a no-op.
    if (knownVolume)
      await storage.snapshots.delete({ snapshotId: leftoverSnapshot, sourceVolumeId: knownVolume }, {});
    await storage.volumes.delete(leftoverVolume, {});
  } finally {
    rds.close();
  }
});

describe("orphan reconciler against the real API server", () => {
  it("in dry-run finds the leftovers, nothing the cluster knows, and changes nothing", async () => {
    const before = plain(await rds.state());
    const r = reconciler(true);
    try {
      clockOffset = HOUR;
      const reports = [await r.runPass(), await r.runPass()];
      for (const report of reports) expect(report.outcome, report.error).toBe("completed");
      expect(found(reports[1]!)).toEqual(
        [
          `orphaned-volume ${leftoverVolume} would-remove`,
          `orphaned-snapshot ${leftoverSnapshot} would-remove`,
        ].sort(),
      );
    } finally {
      await r.stop();
    }
    expect(plain(await rds.state())).toEqual(before);
  });

  it("acting, removes the leftovers and keeps every volume and snapshot the cluster refers to", async () => {
    const r = reconciler(false);
    try {
      clockOffset = 2 * HOUR;
      await r.runPass();
      const report = await r.runPass();
      expect(report.outcome, report.error).toBe("completed");
      expect(found(report)).toEqual(
        [`orphaned-volume ${leftoverVolume} removed`, `orphaned-snapshot ${leftoverSnapshot} removed`].sort(),
      );
    } finally {
      await r.stop();
    }
    const state = await rds.state();
    expect(state.disks.has(leftoverVolume)).toBe(false);
    expect(state.snapshots.has(leftoverSnapshot)).toBe(false);
    const known = await clusterHandles();
    expect(known.volumes.length).toBeGreaterThan(0);
    expect(known.snapshots.length).toBeGreaterThan(0);
    for (const v of known.volumes) expect(state.disks.has(v), `volume ${v} of a PersistentVolume`).toBe(true);
    for (const s of known.snapshots) expect(state.snapshots.has(s), `snapshot ${s} of a content`).toBe(true);
  });
});

describe("the reconciler's Lease against the real API server", () => {
  const LEASE = "rds-csi-k8s-suite-reconciler";
  const TIMING = { leaseDurationMs: 4_000, renewDeadlineMs: 3_000, retryPeriodMs: 500 };

  function candidate(identity: string) {
    const kube = new KubeConfig();
    // The chart's controller service account, in the release namespace: the chart's RBAC is tested.
    kube.loadFromFile(info.controllerKubeconfig);
    return startReconciler({
      storage,
      kube,
      driverName: info.driverName,
      intervalMs: HOUR,
      dryRun: true,
      gracePeriodMs: 60_000,
      passes: 2,
      locks: new KeyedLocks(),
      logger: pino({ level: "silent" }),
      lease: { name: LEASE, namespace: "kube-system", identity, ...TIMING },
    });
  }

  async function until(done: () => boolean, check: () => void): Promise<void> {
    for (let i = 0; i < 300; i++) {
      check();
      if (done()) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error("condition not reached");
  }

  it("two controllers: only the holder reconciles, and the other takes over when it stops", async () => {
    const a = candidate("controller-a");
    const b = candidate("controller-b");
    const both = [a, b];
    const atMostOne = () => expect(both.filter((r) => r.isLeader()).length).toBeLessThanOrEqual(1);
    try {
      await until(() => both.some((r) => r.isLeader()), atMostOne);
      const leader = a.isLeader() ? a : b;
      const other = leader === a ? b : a;
      const lease = await kubectl.get<{ spec: { holderIdentity: string } }>("lease", LEASE, "kube-system");
      expect(lease?.spec.holderIdentity).toBe(leader === a ? "controller-a" : "controller-b");
      expect((await leader.runPass()).outcome).toBe("completed");
      expect((await other.runPass()).outcome).toBe("not-leader");

      await leader.stop();
      await until(() => other.isLeader(), atMostOne);
      expect((await other.runPass()).outcome).toBe("completed");
      const after = await kubectl.get<{ spec: { holderIdentity: string; leaseTransitions: number } }>(
        "lease",
        LEASE,
        "kube-system",
      );
      expect(after?.spec.holderIdentity).toBe(other === a ? "controller-a" : "controller-b");
      expect(after?.spec.leaseTransitions).toBeGreaterThanOrEqual(1);
    } finally {
      await Promise.all(both.map((r) => r.stop()));
    }
  });
});
