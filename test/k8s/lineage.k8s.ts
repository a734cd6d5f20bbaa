import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { freePort, startChild } from "../../src/demo/processes.js";
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

function rdsFlags(): string[] {
  const { sim } = info;
  return [
    ...["--rds-address", sim.host, "--rds-port", String(sim.port), "--rds-user", sim.user],
    ...["--rds-key-file", sim.privateKeyPath, "--rds-host-key-fingerprint", sim.hostKeyFingerprint],
    ...["--rds-pool", sim.pool, "--rds-fs-label", sim.fsLabel, "--rds-root", info.driverRoot],
    ...["--driver-name", info.driverName],
  ];
}

/** The objects made by the first test, as the cluster names them. */
let made:
  | { volumeId: string; snapshotId: string; restoredId: string; pv: string; restoredPv: string; vsc: string }
  | undefined;

/** What both the CLI and the page must say about them. */
function expectNames(result: Lineage): void {
  const m = made!;
  expect(result.kubernetes).toEqual({ consulted: true });
  const node = (id: string) => result.nodes.find((n) => n.id === id);
  expect(node(m.volumeId) as VolumeNode).toMatchObject({
    present: true,
    kubernetes: { pv: m.pv, pvc: { namespace: NS, name: "db" } },
    deletion: { safe: false, dependants: [m.snapshotId] },
  });
  expect(node(m.snapshotId) as SnapshotNode).toMatchObject({
    sourceVolumeId: m.volumeId,
    kubernetes: { volumeSnapshotContent: m.vsc, volumeSnapshot: { namespace: NS, name: "nightly" } },
    deletion: { safe: false, dependants: [m.restoredId] },
  });
  expect(node(m.restoredId) as VolumeNode).toMatchObject({
    source: { kind: "snapshot", id: m.snapshotId },
    kubernetes: { pv: m.restoredPv, pvc: { namespace: NS, name: "restored" } },
    deletion: { safe: true },
  });
  expect(result.edges).toEqual(
    expect.arrayContaining([
      { from: m.volumeId, to: m.snapshotId, kind: "snapshot" },
      { from: m.snapshotId, to: m.restoredId, kind: "restore" },
    ]),
  );
}

async function lineage(kubeconfig: string): Promise<Lineage> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [
      "--import",
      "tsx",
      `${repo}src/cli.ts`,
      "lineage",
      ...rdsFlags(),
      ...["--kubeconfig", kubeconfig, "--json"],
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

    made = {
      volumeId: db.pv.spec.csi!.volumeHandle,
      snapshotId: vsc.status!.snapshotHandle!,
      restoredId: restored.pv.spec.csi!.volumeHandle,
      pv: db.pv.metadata.name,
      restoredPv: restored.pv.metadata.name,
      vsc: vsc.metadata.name,
    };
    expectNames(await lineage(info.controllerKubeconfig));
  });

  it("gives the controller's page the same names with --lineage-kubernetes", async () => {
    expect(made, "the first test made the objects").toBeDefined();
    const dir = mkdtempSync(path.join(tmpdir(), "lineage-k8s-"));
    const port = await freePort();
    const controller = startChild(
      "rds-csi controller (lineage page)",
      process.execPath,
      [
        "--import",
        "tsx",
        `${repo}src/cli.ts`,
        "controller",
        ...["--endpoint", `unix://${dir}/csi.sock`, "--metrics-address", `127.0.0.1:${port}`],
        ...["--late-command-window", "0", "--lineage-page", "--lineage-kubernetes"],
        ...rdsFlags(),
      ],
      { ...process.env, KUBECONFIG: info.controllerKubeconfig },
    );
    try {
      await controller.waitForLine(/"msg":"metrics listening"/, 60_000);
      const response = await controller.whileRunning(fetch(`http://127.0.0.1:${port}/lineage.json`));
      expect(response.status).toBe(200);
      expectNames((await response.json()) as Lineage);
      const page = await (await fetch(`http://127.0.0.1:${port}/lineage`)).text();
      expect(page).toContain("VolumeSnapshot lineage/nightly");
    } finally {
      await controller.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
