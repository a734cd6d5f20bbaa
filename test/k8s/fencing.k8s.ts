import { KubeConfig } from "@kubernetes/client-node";
import { pino } from "pino";
import { afterAll, describe, expect, inject, it } from "vitest";
import { KeyedLocks } from "../../src/csi/locks.js";
import { type PassReport, startReconciler } from "../../src/reconcile/index.js";
import { createStorage } from "../../src/storage/index.js";
import { upgradeChart } from "./harness/chart.js";
import { Kubectl, type KubeObject } from "./harness/kubectl.js";
import { waitBound, waitGone } from "./harness/objects.js";
import { RdsView } from "./harness/rds.js";

// Export fencing driven by Kubernetes itself: kube-controller-manager's attach-detach controller
// creates a VolumeAttachment for a pod bound to a node, the real csi-attacher (run with the chart's
// flags and RBAC) calls ControllerPublishVolume with the node id from the node's CSINode, and the
// RDS then lets in that node's host NQN only. Without a kubelet, the test makes the two objects
// kubelet would: the Node (with the annotation that hands attaching to the controller) and the
// CSINode that kubelet's plugin registration writes from NodeGetInfo.

const info = inject("cluster");
const kubectl = new Kubectl(info.bin, info.adminKubeconfig);
const rds = new RdsView(info);
afterAll(() => rds.close());

const NODE = "fence-node-a";
const HOST_NQN = "nqn.2014-08.org.nvmexpress:uuid:fe0c0000-0000-4000-8000-0000000000a1";
const NAMESPACE = "default";
const CLAIM = "fenced-data";
const POD = "fenced-app";

interface VolumeAttachment extends KubeObject {
  spec: { attacher: string; nodeName: string; source: { persistentVolumeName?: string } };
  status?: { attached?: boolean; attachError?: { message?: string } };
}

const node: KubeObject = {
  apiVersion: "v1",
  kind: "Node",
  metadata: { name: NODE, annotations: { "volumes.kubernetes.io/controller-managed-attach-detach": "true" } },
};

/** What kubelet's plugin registration writes: the node id NodeGetInfo answers. */
const csiNode = (): KubeObject => ({
  apiVersion: "storage.k8s.io/v1",
  kind: "CSINode",
  metadata: { name: NODE },
  spec: { drivers: [{ name: info.driverName, nodeID: `${NODE}/${HOST_NQN}`, topologyKeys: null }] },
});

const claim: KubeObject = {
  apiVersion: "v1",
  kind: "PersistentVolumeClaim",
  metadata: { name: CLAIM, namespace: NAMESPACE },
  spec: {
    accessModes: ["ReadWriteOnce"],
    storageClassName: "rds-nvme",
    resources: { requests: { storage: "64Mi" } },
  },
};

const pod: KubeObject = {
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name: POD, namespace: NAMESPACE },
  spec: {
    nodeName: NODE,
    automountServiceAccountToken: false,
    containers: [
      {
        name: "app",
        image: "registry.invalid/never-pulled",
        volumeMounts: [{ name: "data", mountPath: "/data" }],
      },
    ],
    volumes: [{ name: "data", persistentVolumeClaim: { claimName: CLAIM } }],
  },
};

async function exportOf(volumeId: string): Promise<{ exported: boolean; allow: string }> {
  const disk = await rds.client.getDisk(volumeId);
  if (disk === null) throw new Error(`no /disk item ${volumeId}`);
  return { exported: disk.nvmeExport, allow: disk.allowHostName };
}

async function attachmentOf(pvName: string): Promise<VolumeAttachment | undefined> {
  return (await kubectl.list<VolumeAttachment>("volumeattachments", "")).find(
    (va) => va.spec.source.persistentVolumeName === pvName,
  );
}

describe("export fencing through VolumeAttachments", () => {
  it("exports a volume to the node of the pod using it, and to nobody once the pod is gone", async () => {
    await kubectl.apply([node, csiNode(), claim]);
    try {
      const { pv } = await waitBound(kubectl, NAMESPACE, CLAIM);
      const handle = pv.spec.csi!.volumeHandle;
      expect(await exportOf(handle)).toEqual({ exported: false, allow: "" });

      await kubectl.apply([pod]);
      const va = await kubectl.waitFor(
        `VolumeAttachment of ${pv.metadata.name} attached`,
        async () => {
          const found = await attachmentOf(pv.metadata.name);
          return found?.status?.attached ? found : undefined;
        },
        120_000,
      );
      expect(va.spec).toMatchObject({ attacher: info.driverName, nodeName: NODE });
      expect(await exportOf(handle)).toEqual({ exported: true, allow: HOST_NQN });

      // Without a kubelet the pod is removed at once; the node reports no volume in use, so the
      // attach-detach controller detaches right away and csi-attacher unpublishes.
      await kubectl.run(["delete", "pod", POD, "-n", NAMESPACE, "--grace-period=0", "--force"]);
      await waitGone(kubectl, "volumeattachment", va.metadata.name);
      expect((await exportOf(handle)).exported).toBe(false);
    } finally {
      await kubectl.run([
        "delete",
        "pod",
        POD,
        "-n",
        NAMESPACE,
        "--ignore-not-found",
        "--grace-period=0",
        "--force",
      ]);
      await kubectl.delete("pvc", CLAIM, NAMESPACE);
      await kubectl.delete("csinode", NODE);
      await kubectl.delete("node", NODE);
    }
  });
});

describe("the reconciler and export fencing", () => {
  const HOUR = 3_600_000;
  const STRAY = "nqn.2014-08.org.nvmexpress:uuid:5a5a5a5a-0000-4000-8000-0000000000ff";
  let clockOffset = 0;

  function reconciler(dryRun: boolean) {
    const kube = new KubeConfig();
    // As the chart's controller service account: its RBAC must let it list attachments and CSINodes.
    kube.loadFromFile(info.controllerKubeconfig);
    const storage = createStorage(rds.client, {
      pool: info.sim.pool,
      fsLabel: info.sim.fsLabel,
      root: info.driverRoot,
      nvmePort: 4420,
      nqnPrefix: "nqn.2000-02.com.mikrotik:rds-csi",
      logger: pino({ level: "silent" }),
    });
    return startReconciler({
      storage,
      kube,
      driverName: info.driverName,
      intervalMs: HOUR,
      dryRun,
      gracePeriodMs: 60_000,
      passes: 2,
      exportFencing: true,
      locks: new KeyedLocks(),
      logger: pino({ level: "silent" }),
      clock: () => Date.now() + clockOffset,
    });
  }

  const staleOf = (report: PassReport, id: string) =>
    report.findings.filter((f) => f.type === "stale-export" && f.id === id).map((f) => f.action);

  it("reports a volume exported to a host no VolumeAttachment names, and revokes it only when acting, after the grace period", async () => {
    await kubectl.apply([{ ...claim, metadata: { name: "stale-export", namespace: NAMESPACE } }]);
    try {
      const { pv } = await waitBound(kubectl, NAMESPACE, "stale-export");
      const handle = pv.spec.csi!.volumeHandle;
      // What a publish that RouterOS ran late, after the unpublish, leaves.
      await rds.client.setDiskExport(handle, { allowHosts: [STRAY] });
      await rds.client.setDiskExport(handle, { exported: true });

      const dry = reconciler(true);
      try {
        expect(staleOf(await dry.runPass(), handle)).toEqual(["pending"]);
        clockOffset = 2 * HOUR;
        expect(staleOf(await dry.runPass(), handle)).toEqual(["would-remove"]);
      } finally {
        await dry.stop();
      }
      expect(await exportOf(handle)).toEqual({ exported: true, allow: STRAY });

      const acting = reconciler(false);
      try {
        clockOffset = 0;
        expect(staleOf(await acting.runPass(), handle)).toEqual(["pending"]);
        clockOffset = 2 * HOUR;
        expect(staleOf(await acting.runPass(), handle)).toEqual(["removed"]);
      } finally {
        await acting.stop();
      }
      expect((await exportOf(handle)).exported).toBe(false);
    } finally {
      await kubectl.delete("pvc", "stale-export", NAMESPACE);
    }
  });
});

describe("helm upgrade to attachRequired: true (docs/install.md section 10)", () => {
  const csiDriver = async () =>
    (await kubectl.get<KubeObject & { spec: { attachRequired: boolean } }>("csidriver", info.driverName))
      ?.spec.attachRequired;

  it("is refused as immutable, and works after deleting the CSIDriver as the guide says", async () => {
    // The release as charts before export fencing deployed it: no csi-attacher, attachRequired false.
    await kubectl.delete("csidriver", info.driverName);
    const previous = await upgradeChart(info.adminKubeconfig, ["--set", "sidecars.attacher.enabled=false"]);
    expect(previous.stderr).toBe("");
    expect(await csiDriver()).toBe(false);

    const enable = ["--set", "sidecars.attacher.enabled=true"];
    const refused = await upgradeChart(info.adminKubeconfig, enable);
    expect(refused.ok).toBe(false);
    expect(refused.stderr).toMatch(/immutable/);
    expect(await csiDriver()).toBe(false);

    await kubectl.run(["delete", "csidriver", info.driverName]);
    const upgraded = await upgradeChart(info.adminKubeconfig, enable);
    expect(upgraded.stderr).toBe("");
    expect(await csiDriver()).toBe(true);
  });
});
