import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { Kubectl, type KubeObject } from "./harness/kubectl.js";
import {
  bytes,
  type VolumeSnapshot,
  type VolumeSnapshotContent,
  waitBound,
  waitGone,
  waitReady,
} from "./harness/objects.js";
import { RdsView } from "./harness/rds.js";
import { guideClasses } from "./harness/walkthrough.js";

// The snapshot life cycle beyond the guide's walkthrough, through Kubernetes objects only: restores
// larger than the snapshot, deletion policies Delete and Retain, importing a snapshot by its
// handle, a snapshot outliving its claim, and a class the driver refuses. After each step the RDS
// is read over SSH to see what is really left.

const info = inject("cluster");
const kubectl = new Kubectl(info.bin, info.adminKubeconfig);
const rds = new RdsView(info);
const NS = "snapshots";
const GUIDE_CLASSES = guideClasses();

function pvc(
  name: string,
  storage: string,
  dataSource?: { kind: string; name: string },
  storageClassName = "rds-nvme",
): KubeObject {
  return {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: { name, namespace: NS },
    spec: {
      accessModes: ["ReadWriteOnce"],
      storageClassName,
      resources: { requests: { storage } },
      ...(dataSource
        ? {
            dataSource: {
              ...(dataSource.kind === "VolumeSnapshot" ? { apiGroup: "snapshot.storage.k8s.io" } : {}),
              ...dataSource,
            },
          }
        : {}),
    },
  };
}

function snapshot(
  name: string,
  source: Record<string, string>,
  volumeSnapshotClassName?: string,
): KubeObject {
  return {
    apiVersion: "snapshot.storage.k8s.io/v1",
    kind: "VolumeSnapshot",
    metadata: { name, namespace: NS },
    spec: { ...(volumeSnapshotClassName ? { volumeSnapshotClassName } : {}), source },
  };
}

async function volumeHandle(name: string): Promise<string> {
  return (await waitBound(kubectl, NS, name)).pv.spec.csi!.volumeHandle;
}

beforeAll(async () => {
  await kubectl.run(["create", "namespace", NS]);
  // The guide's own example classes: an xfs StorageClass and a Retain VolumeSnapshotClass.
  expect(GUIDE_CLASSES.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([
    "StorageClass/rds-xfs",
    "VolumeSnapshotClass/rds-snapshot-retain",
  ]);
  await kubectl.apply(GUIDE_CLASSES);
  await kubectl.apply([pvc("source", "1Gi")]);
  await volumeHandle("source");
});

afterAll(async () => {
  try {
    await kubectl.delete("namespace", NS, undefined, 120_000);
    for (const o of GUIDE_CLASSES) await kubectl.delete(o.kind.toLowerCase(), o.metadata.name);
  } finally {
    rds.close();
  }
});

describe("VolumeSnapshots through the real snapshot-controller and csi-snapshotter", () => {
  it("provisions from the guide's xfs class", async () => {
    await kubectl.apply([pvc("xfs", "1Gi", undefined, "rds-xfs")]);
    const { pv } = await waitBound(kubectl, NS, "xfs");
    expect(pv.spec.csi?.driver).toBe(info.driverName);
  });

  it("restores a snapshot into a larger claim, grown on the RDS", async () => {
    await kubectl.apply([snapshot("snap", { persistentVolumeClaimName: "source" })]);
    const { vs, vsc } = await waitReady(kubectl, NS, "snap");
    // No class named: the chart's default VolumeSnapshotClass was taken.
    expect(vsc.spec.deletionPolicy).toBe("Delete");
    expect(bytes(vs.status!.restoreSize!)).toBe(bytes("1Gi"));
    await kubectl.apply([pvc("restored-large", "2Gi", { kind: "VolumeSnapshot", name: "snap" })]);
    const { pv } = await waitBound(kubectl, NS, "restored-large");
    expect(bytes(pv.spec.capacity.storage)).toBe(bytes("2Gi"));
    expect((await rds.state()).disks.get(pv.spec.csi!.volumeHandle)).toBe(bytes("2Gi"));
  });

  it("keeps a Retain snapshot on the RDS after its VolumeSnapshot and its content are deleted", async () => {
    await kubectl.apply([snapshot("kept", { persistentVolumeClaimName: "source" }, "rds-snapshot-retain")]);
    const { vsc } = await waitReady(kubectl, NS, "kept");
    expect(vsc.spec.deletionPolicy).toBe("Retain");
    const handle = vsc.status!.snapshotHandle!;
    await kubectl.delete("volumesnapshot", "kept", NS);
    // The content stays, released, for an administrator to deal with.
    expect(await kubectl.get("volumesnapshotcontent", vsc.metadata.name)).toBeDefined();
    await kubectl.delete("volumesnapshotcontent", vsc.metadata.name);
    expect((await rds.state()).snapshots.has(handle)).toBe(true);
    retained = handle;
  });

  it("imports an existing snapshot by its handle with a pre-provisioned VolumeSnapshotContent", async () => {
    expect(retained, "the Retain test leaves a snapshot to import").toBeDefined();
    await kubectl.apply([
      {
        apiVersion: "snapshot.storage.k8s.io/v1",
        kind: "VolumeSnapshotContent",
        metadata: { name: "imported-content" },
        spec: {
          deletionPolicy: "Delete",
          driver: info.driverName,
          source: { snapshotHandle: retained },
          volumeSnapshotClassName: "rds-snapshot",
          volumeSnapshotRef: { name: "imported", namespace: NS },
        },
      },
      snapshot("imported", { volumeSnapshotContentName: "imported-content" }),
    ]);
    const { vs } = await waitReady(kubectl, NS, "imported");
    expect(bytes(vs.status!.restoreSize!)).toBe(bytes("1Gi"));
    expect(vs.status!.creationTime).toBeDefined();
    await kubectl.apply([pvc("from-imported", "1Gi", { kind: "VolumeSnapshot", name: "imported" })]);
    await volumeHandle("from-imported");
    // Delete policy on the imported content: deleting the VolumeSnapshot removes it from the RDS.
    await kubectl.delete("volumesnapshot", "imported", NS);
    await waitGone(kubectl, "volumesnapshotcontent", "imported-content");
    expect((await rds.state()).snapshots.has(retained!)).toBe(false);
  });

  it("deletes a VolumeSnapshot whose source claim is already gone", async () => {
    await kubectl.apply([pvc("short-lived", "1Gi")]);
    const volume = await volumeHandle("short-lived");
    await kubectl.apply([snapshot("outlives", { persistentVolumeClaimName: "short-lived" })]);
    const { vsc } = await waitReady(kubectl, NS, "outlives");
    const handle = vsc.status!.snapshotHandle!;
    await kubectl.delete("pvc", "short-lived", NS);
    await kubectl.waitFor("the volume gone from the RDS", async () =>
      (await rds.state()).disks.has(volume) ? undefined : true,
    );
    // Deleting a volume never touches its snapshots.
    expect((await rds.state()).snapshots.has(handle)).toBe(true);
    await kubectl.delete("volumesnapshot", "outlives", NS);
    await waitGone(kubectl, "volumesnapshotcontent", vsc.metadata.name);
    expect((await rds.state()).snapshots.has(handle)).toBe(false);
  });

  it("shows a class parameter the driver refuses on the VolumeSnapshot and in its events", async () => {
    await kubectl.apply([
      {
        apiVersion: "snapshot.storage.k8s.io/v1",
        kind: "VolumeSnapshotClass",
        metadata: { name: "rds-snapshot-typo" },
        driver: info.driverName,
        deletionPolicy: "Delete",
        parameters: { compresion: "zstd" },
      },
      snapshot("refused", { persistentVolumeClaimName: "source" }, "rds-snapshot-typo"),
    ]);
    const error = await kubectl.waitFor("the error on volumesnapshot/refused", async () => {
      const vs = await kubectl.get<VolumeSnapshot>("volumesnapshot", "refused", NS);
      return vs?.status?.error?.message;
    });
    // The sidecar quotes the driver's message: its quotes arrive escaped.
    expect(error).toMatch(
      /InvalidArgument.*VolumeSnapshotClass parameter \\?"compresion\\?" is not supported/,
    );
    // What `kubectl describe` shows a user: Warning events on the snapshot or on its content.
    const vs = await kubectl.get<VolumeSnapshot>("volumesnapshot", "refused", NS);
    const contentName = vs?.status?.boundVolumeSnapshotContentName;
    const warnings = await kubectl.waitFor("a warning event naming the parameter", async () => {
      const events = [
        ...(await kubectl.eventsFor("VolumeSnapshot", "refused")),
        ...(contentName ? await kubectl.eventsFor("VolumeSnapshotContent", contentName) : []),
      ];
      const found = events.filter((e) => e.type === "Warning" && e.message.includes("compresion"));
      return found.length > 0 ? found : undefined;
    });
    expect(warnings[0]!.message).toContain("is not supported");
    expect(vs?.status?.readyToUse).not.toBe(true);
    const contents = await kubectl.list<VolumeSnapshotContent>("volumesnapshotcontent");
    const content = contents.find((c) => c.metadata.name === vs?.status?.boundVolumeSnapshotContentName);
    await kubectl.delete("volumesnapshot", "refused", NS);
    if (content) await waitGone(kubectl, "volumesnapshotcontent", content.metadata.name);
    await kubectl.delete("volumesnapshotclass", "rds-snapshot-typo");
  });

  it("deletes with policy Delete: claims and snapshots leave nothing on the RDS", async () => {
    const volumes = await Promise.all(["source", "xfs", "restored-large", "from-imported"].map(volumeHandle));
    const { vsc } = await waitReady(kubectl, NS, "snap");
    await kubectl.delete("namespace", NS, undefined, 120_000);
    await kubectl.waitFor("the namespace's volumes and snapshots gone from the RDS", async () => {
      const state = await rds.state();
      const left = volumes.filter((v) => state.disks.has(v));
      if (state.snapshots.has(vsc.status!.snapshotHandle!)) left.push(vsc.status!.snapshotHandle!);
      return left.length === 0 ? true : undefined;
    });
  });
});

let retained: string | undefined;
