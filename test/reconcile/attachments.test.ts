/** Export fencing judged by the reconciler: which hosts the VolumeAttachments name, and what is stale. */
import { describe, expect, it } from "vitest";
import type { DiskInfo } from "../../src/rds/index.js";
import { attachedHosts, hostsToKeep, judgeExport } from "../../src/reconcile/attachments.js";
import { KubernetesListError } from "../../src/reconcile/kubernetes.js";
import { type VolumeObjects, volumeIdFor } from "../../src/storage/index.js";

const DRIVER = "rds.csi.mikrotik.com";
const V = volumeIdFor("v");
const W = volumeIdFor("w");
const HOST_A = "nqn.2014-08.org.nvmexpress:uuid:0a0a0a0a-0000-4000-8000-00000000000a";
const HOST_B = "nqn.2014-08.org.nvmexpress:uuid:0b0b0b0b-0000-4000-8000-00000000000b";

const pv = (name: string, handle: string) => ({
  metadata: { name },
  spec: { csi: { volumeHandle: handle } },
});
const csiNode = (name: string, nodeID: string, driver = DRIVER) => ({
  metadata: { name },
  spec: { drivers: [{ name: driver, nodeID }] },
});
const attachment = (pvName: string, nodeName: string, attacher = DRIVER) => ({
  spec: { attacher, nodeName, source: { persistentVolumeName: pvName } },
});

function volume(id: string, exported: boolean, allow: string): VolumeObjects {
  const disk: DiskInfo = {
    id: "*1",
    slot: id,
    type: "file",
    filePath: `/raid1/rds-csi/vols/${id}/disk.img`,
    fileSize: 1n,
    size: 1n,
    nvmeExport: exported,
    nvmePort: 4420,
    nqn: null,
    allowHostName: allow,
    disabled: false,
    comment: "rds-csi v1",
  };
  return { volumeId: id, disk, subvolume: null, directory: null, image: null, strangers: [] };
}

describe("attachedHosts", () => {
  const nodes = [csiNode("a", `a/${HOST_A}`), csiNode("b", `b/${HOST_B}`)];
  const pvs = [pv("pv-v", V), pv("pv-w", W)];

  it("maps each volume to the host NQNs of the nodes its VolumeAttachments name", () => {
    const hosts = attachedHosts(DRIVER, [attachment("pv-v", "a"), attachment("pv-v", "b")], nodes, pvs);
    expect([...(hosts.get(V) ?? [])].sort()).toEqual([HOST_A, HOST_B]);
    // A volume with a PV and no attachment is allowed no host.
    expect(hosts.get(W)).toEqual(new Set());
  });

  it("ignores other drivers' attachments, and leaves out a volume whose node's NQN cannot be told", () => {
    const hosts = attachedHosts(
      DRIVER,
      [attachment("pv-v", "gone"), attachment("pv-w", "a", "other.csi.example")],
      nodes,
      pvs,
    );
    expect(hosts.has(V)).toBe(false);
    expect(hosts.get(W)).toEqual(new Set());
    const oldId = attachedHosts(DRIVER, [attachment("pv-v", "old")], [csiNode("old", "old")], pvs);
    expect(oldId.has(V)).toBe(false);
  });

  it("refuses an item it cannot read instead of guessing", () => {
    expect(() => attachedHosts(DRIVER, [{ spec: {} }], nodes, pvs)).toThrow(KubernetesListError);
  });
});

describe("judgeExport", () => {
  const attached = new Map([
    [V, new Set([HOST_A])],
    [W, new Set<string>()],
  ]);

  it("finds hosts no VolumeAttachment names, and keeps the ones it does", () => {
    const stale = judgeExport(volume(V, true, `${HOST_A},${HOST_B}`), attached);
    expect(stale).toMatchObject({ type: "stale-export", id: V, lockKeys: [V] });
    expect(stale?.detail).toContain(HOST_B);
    expect(stale?.detail).not.toContain(HOST_A);
    expect(hostsToKeep(volume(V, true, `${HOST_A},${HOST_B}`), attached)).toEqual([HOST_A]);
    expect(judgeExport(volume(W, true, HOST_B), attached)?.type).toBe("stale-export");
    expect(hostsToKeep(volume(W, true, HOST_B), attached)).toEqual([]);
  });

  it("has nothing to say about fenced volumes, named hosts, volumes exported to every host or unjudged ones", () => {
    expect(judgeExport(volume(V, true, HOST_A), attached)).toBeUndefined();
    expect(judgeExport(volume(W, false, HOST_B), attached)).toBeUndefined();
    expect(judgeExport(volume(W, true, ""), attached)).toBeUndefined();
    expect(judgeExport(volume(volumeIdFor("x"), true, HOST_B), attached)).toBeUndefined();
  });
});
