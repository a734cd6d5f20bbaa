import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, inject, it } from "vitest";
import { stringify } from "yaml";
import type { KubeObject } from "./harness/kubectl.js";
import { Kubectl } from "./harness/kubectl.js";
import { bytes, type Pvc, waitBound, waitGone, waitReady } from "./harness/objects.js";
import { RdsView } from "./harness/rds.js";
import { notRunHere, walkthroughSteps } from "./harness/walkthrough.js";

// docs/install.md section 8, run line by line against the real API server and sidecars: the objects
// the guide shows go in as written (Pods left out: there is no kubelet here), its kubectl commands
// run as written, and after each step the cluster and the RDS are checked.

const info = inject("cluster");
const kubectl = new Kubectl(info.bin, info.adminKubeconfig);
const rds = new RdsView(info);
const dir = mkdtempSync(path.join(tmpdir(), "rds-csi-walkthrough-"));
afterAll(() => {
  rds.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Volume and snapshot ids the walkthrough made, to check that cleaning up removes them. */
const made = { volumes: new Set<string>(), snapshots: new Set<string>() };

async function shell(line: string): Promise<string> {
  const { stdout } = await promisify(execFile)("bash", ["-euo", "pipefail", "-c", line], {
    cwd: dir,
    env: { ...process.env, PATH: `${info.bin}:${process.env.PATH}`, KUBECONFIG: info.adminKubeconfig },
    timeout: 120_000,
  });
  return stdout;
}

async function afterApply(o: KubeObject): Promise<void> {
  const namespace = o.metadata.namespace!;
  if (o.kind === "PersistentVolumeClaim") {
    const { pvc, pv } = await waitBound(kubectl, namespace, o.metadata.name);
    const size = bytes(pvc.spec.resources.requests.storage);
    expect(pv.spec.csi?.driver).toBe(info.driverName);
    expect(bytes(pv.spec.capacity.storage)).toBe(size);
    const handle = pv.spec.csi!.volumeHandle;
    expect((await rds.state()).disks.get(handle), `/disk item of ${handle}`).toBe(size);
    made.volumes.add(handle);
  } else if (o.kind === "VolumeSnapshot") {
    const { vs, vsc } = await waitReady(kubectl, namespace, o.metadata.name);
    const source = await kubectl.get<Pvc>("pvc", vs.spec.source.persistentVolumeClaimName!, namespace);
    expect(bytes(vs.status!.restoreSize!)).toBe(bytes(source!.spec.resources.requests.storage));
    expect(Date.parse(vs.status!.creationTime!)).toBeGreaterThan(Date.now() - 10 * 60_000);
    const handle = vsc.status!.snapshotHandle!;
    expect((await rds.state()).snapshots.has(handle), `snapshot ${handle} on the RDS`).toBe(true);
    made.snapshots.add(handle);
  }
}

async function afterCommand(line: string): Promise<void> {
  const patch = /^kubectl -n (\S+) patch pvc (\S+) .*"storage":"(\w+)"/.exec(line);
  if (patch) {
    const [, namespace, name, storage] = patch as unknown as [string, string, string, string];
    const { pv } = await waitBound(kubectl, namespace, name);
    const want = bytes(storage);
    // The resizer grows the volume on the RDS and the PersistentVolume; the claim's own capacity
    // follows once a node has grown the filesystem, which needs a kubelet.
    await kubectl.waitFor(`pv/${pv.metadata.name} at ${storage}`, async () => {
      const now = await kubectl.get<typeof pv>("pv", pv.metadata.name);
      return now && bytes(now.spec.capacity.storage) === want ? true : undefined;
    });
    expect((await rds.state()).disks.get(pv.spec.csi!.volumeHandle)).toBe(want);
  }
  const deleteNamespace = /^kubectl delete namespace (\S+)$/.exec(line);
  if (deleteNamespace) {
    await waitGone(kubectl, "namespace", deleteNamespace[1]!);
    // Reclaim policy Delete and deletion policy Delete: nothing of the walkthrough stays on the RDS.
    await kubectl.waitFor("the walkthrough's volumes and snapshots gone from the RDS", async () => {
      const state = await rds.state();
      const left = [...made.volumes].filter((v) => state.disks.has(v));
      left.push(...[...made.snapshots].filter((s) => state.snapshots.has(s)));
      return left.length === 0 ? true : undefined;
    });
  }
}

describe("docs/install.md walkthrough against a real API server and the chart's sidecars", () => {
  it("runs every step of the guide, and the cluster and the RDS end up as the guide says", async () => {
    const ran: string[] = [];
    for (const step of walkthroughSteps()) {
      if (step.kind === "apply") {
        const objects = step.objects.filter((o) => o.kind !== "Pod");
        writeFileSync(path.join(dir, step.file), objects.map((o) => stringify(o)).join("---\n"));
        await shell(`kubectl apply -f ${step.file}`);
        ran.push(
          `kubectl apply -f ${step.file} (${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(", ")})`,
        );
        for (const o of objects) await afterApply(o);
        continue;
      }
      if (notRunHere(step.line)) continue;
      await shell(step.line);
      ran.push(step.line);
      await afterCommand(step.line);
    }
    // What the guide covers, as run: a change to the walkthrough shows up here.
    expect(ran).toEqual([
      "kubectl create namespace demo",
      "kubectl apply -f writer.yaml (PersistentVolumeClaim/data)",
      "kubectl apply -f snapshot.yaml (VolumeSnapshot/data-snap-1)",
      "kubectl -n demo wait --for=jsonpath='{.status.readyToUse}'=true volumesnapshot/data-snap-1 --timeout=1m",
      "kubectl -n demo get volumesnapshot data-snap-1",
      "kubectl apply -f restore.yaml (PersistentVolumeClaim/data-restored)",
      "kubectl apply -f clone.yaml (PersistentVolumeClaim/data-clone)",
      "kubectl -n demo wait --for=jsonpath='{.status.phase}'=Bound pvc/data-clone --timeout=1m",
      `kubectl -n demo patch pvc data --type merge -p '{"spec":{"resources":{"requests":{"storage":"2Gi"}}}}'`,
      "kubectl delete namespace demo",
    ]);
  });
});
