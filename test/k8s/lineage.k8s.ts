import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { Lineage, SnapshotNode, VolumeNode } from "../../src/lineage/index.js";
import { Kubectl, type KubeObject } from "./harness/kubectl.js";
import { waitBound, waitReady } from "./harness/objects.js";

// `rds-csi lineage --kubeconfig` against the real API server: a claim, a VolumeSnapshot of it and a
// claim restored from that, made through the sidecars; the CLI, acting as the chart's controller
// service account, must name each object as the cluster does.

const info = inject("cluster");
const kubectl = new Kubectl(info.bin, info.adminKubeconfig);
const repo = fileURLToPath(new URL("../..", import.meta.url));
const NS = "lineage";

function claim(name: string, dataSource?: string): KubeObject {
  return {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: { name, namespace: NS },
    spec: {
      accessModes: ["ReadWriteOnce"],
      storageClassName: "rds-nvme",
      resources: { requests: { storage: "1Gi" } },
      ...(dataSource
        ? { dataSource: { apiGroup: "snapshot.storage.k8s.io", kind: "VolumeSnapshot", name: dataSource } }
        : {}),
    },
  };
}

beforeAll(async () => {
  await kubectl.run(["create", "namespace", NS]);
});

afterAll(async () => {
  await kubectl.delete("namespace", NS, undefined, 120_000);
});

async function lineage(kubeconfig: string): Promise<Lineage> {
  const { sim } = info;
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [
      "--import",
      "tsx",
      `${repo}src/cli.ts`,
      "lineage",
      ...["--rds-address", sim.host, "--rds-port", String(sim.port), "--rds-user", sim.user],
      ...["--rds-key-file", sim.privateKeyPath, "--rds-host-key-fingerprint", sim.hostKeyFingerprint],
      ...["--rds-pool", sim.pool, "--rds-fs-label", sim.fsLabel, "--rds-root", info.driverRoot],
      ...["--kubeconfig", kubeconfig, "--driver-name", info.driverName, "--json"],
    ],
    { cwd: repo, maxBuffer: 64 * 1024 * 1024 },
  );
  return JSON.parse(stdout) as Lineage;
}

describe("rds-csi lineage with a kubeconfig", () => {
  it("names the PV, claim, VolumeSnapshot and content of each object, as the controller's account", async () => {
    await kubectl.apply([claim("db")]);
    const db = await waitBound(kubectl, NS, "db");
    await kubectl.apply([
      {
        apiVersion: "snapshot.storage.k8s.io/v1",
        kind: "VolumeSnapshot",
        metadata: { name: "nightly", namespace: NS },
        spec: { source: { persistentVolumeClaimName: "db" } },
      },
    ]);
    const { vsc } = await waitReady(kubectl, NS, "nightly");
    await kubectl.apply([claim("restored", "nightly")]);
    const restored = await waitBound(kubectl, NS, "restored");

    const result = await lineage(info.controllerKubeconfig);
    expect(result.kubernetes).toEqual({ consulted: true });
    const volumeId = db.pv.spec.csi!.volumeHandle;
    const snapshotId = vsc.status!.snapshotHandle!;
    const restoredId = restored.pv.spec.csi!.volumeHandle;
    const node = (id: string) => result.nodes.find((n) => n.id === id);
    expect(node(volumeId) as VolumeNode).toMatchObject({
      present: true,
      kubernetes: { pv: db.pv.metadata.name, pvc: { namespace: NS, name: "db" } },
      deletion: { safe: false, dependants: [snapshotId] },
    });
    expect(node(snapshotId) as SnapshotNode).toMatchObject({
      sourceVolumeId: volumeId,
      kubernetes: {
        volumeSnapshotContent: vsc.metadata.name,
        volumeSnapshot: { namespace: NS, name: "nightly" },
      },
      deletion: { safe: false, dependants: [restoredId] },
    });
    expect(node(restoredId) as VolumeNode).toMatchObject({
      source: { kind: "snapshot", id: snapshotId },
      kubernetes: { pv: restored.pv.metadata.name, pvc: { namespace: NS, name: "restored" } },
      deletion: { safe: true },
    });
    expect(result.edges).toEqual(
      expect.arrayContaining([
        { from: volumeId, to: snapshotId, kind: "snapshot" },
        { from: snapshotId, to: restoredId, kind: "restore" },
      ]),
    );
  });
});
