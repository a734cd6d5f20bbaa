import { expect } from "vitest";
import type { Lineage } from "../../src/lineage/index.js";
import {
  createSnapshotRequest,
  createVolumeRequest,
  type Harness,
  snapshotSource,
  volumeSource,
} from "../controller/harness.js";

const MiB = 1024n * 1024n;

/**
 * A tree of several levels, made through the CSI Controller service as the sidecars would:
 *
 *   db (PV/PVC names) ─ s1 ─ r1 (restored, grown to 16 MiB) ─ s2 ─ r2
 *                     ─ s3
 *                     ─ clone
 *   gone (deleted)    ─ orphan (its snapshot, kept)
 */
export interface LineageFixture {
  ids: Record<"db" | "s1" | "r1" | "s2" | "r2" | "s3" | "clone" | "gone" | "orphan", string>;
  pv: string;
  /** Checks a lineage read from the RDS against what was made. */
  expectMatches(lineage: Lineage): void;
}

/** Waits until the clock (the emulator's too, on this machine) is in a later whole second. */
async function nextSecond(): Promise<void> {
  const now = Date.now();
  await new Promise((resolve) => setTimeout(resolve, 1000 - (now % 1000) + 50));
}

export async function makeLineageTree(h: Harness): Promise<LineageFixture> {
  const pv = "pvc-6f1c2b8e-3d4a-4c5b-9e8f-0a1b2c3d4e5f";
  const volume = async (name: string, options: Parameters<typeof createVolumeRequest>[1]) =>
    (await h.call("CreateVolume", createVolumeRequest(name, options))).volume.volume_id as string;
  const snapshot = async (name: string, volumeId: string) =>
    (await h.call("CreateSnapshot", createSnapshotRequest(name, volumeId))).snapshot.snapshot_id as string;

  const db = await volume(pv, {
    required: 8n * MiB,
    parameters: {
      "csi.storage.k8s.io/pv/name": pv,
      "csi.storage.k8s.io/pvc/name": "data-db-0",
      "csi.storage.k8s.io/pvc/namespace": "shop",
    },
  });
  const s1 = await snapshot("s1", db);
  const r1 = await volume("r1", { required: 16n * MiB, source: snapshotSource(s1) });
  const s2 = await snapshot("s2", r1);
  const r2 = await volume("r2", { required: 16n * MiB, source: snapshotSource(s2) });
  // RouterOS prints creation times in whole seconds, and siblings are shown oldest first.
  await nextSecond();
  const s3 = await snapshot("s3", db);
  await nextSecond();
  const clone = await volume("clone", { required: 8n * MiB, source: volumeSource(db) });
  await nextSecond();
  const gone = await volume("gone", { required: 8n * MiB });
  const orphan = await snapshot("orphan", gone);
  await h.call("DeleteVolume", { volume_id: gone, secrets: {} });
  const ids = { db, s1, r1, s2, r2, s3, clone, gone, orphan };

  return {
    ids,
    pv,
    expectMatches(lineage) {
      expect(lineage.schema).toBe("rds-csi/lineage/v1");
      expect(lineage.pool).toBe(h.sim.pool);
      expect(lineage.root).toBe("rds-csi");
      expect(lineage.kubernetes).toEqual({ consulted: false });
      expect(lineage.roots).toEqual([db, gone]);
      expect(lineage.nodes.map((n) => n.id)).toEqual([db, s1, r1, s2, r2, s3, clone, gone, orphan]);
      expect(lineage.edges).toEqual([
        { from: db, to: s1, kind: "snapshot" },
        { from: s1, to: r1, kind: "restore" },
        { from: r1, to: s2, kind: "snapshot" },
        { from: s2, to: r2, kind: "restore" },
        { from: db, to: s3, kind: "snapshot" },
        { from: db, to: clone, kind: "clone" },
        { from: gone, to: orphan, kind: "snapshot" },
      ]);
      const byId = new Map(lineage.nodes.map((n) => [n.id, n]));
      const sizes = Object.fromEntries(lineage.nodes.map((n) => [n.id, n.sizeBytes]));
      const eight = String(8n * MiB);
      const sixteen = String(16n * MiB);
      expect(sizes).toEqual({
        [db]: eight,
        [s1]: eight,
        [r1]: sixteen,
        [s2]: sixteen,
        [r2]: sixteen,
        [s3]: eight,
        [clone]: eight,
        [gone]: null,
        [orphan]: eight,
      });
      for (const node of lineage.nodes) {
        if (node.present) expect(Date.parse(node.createdAt ?? "")).toBeGreaterThan(Date.parse("2020-01-01"));
      }
      expect(byId.get(db)).toMatchObject({
        kind: "volume",
        source: null,
        kubernetes: { pv, pvc: { namespace: "shop", name: "data-db-0" } },
        deletion: { safe: false, dependants: [s1, s3, clone] },
      });
      expect(byId.get(r1)).toMatchObject({ source: { kind: "snapshot", id: s1 }, deletion: { safe: false } });
      expect(byId.get(clone)).toMatchObject({ source: { kind: "volume", id: db }, deletion: { safe: true } });
      expect(byId.get(s2)).toMatchObject({ kind: "snapshot", sourceVolumeId: r1, readyToUse: true });
      expect(byId.get(gone)).toMatchObject({ kind: "volume", present: false, deletion: null });
      expect(byId.get(orphan)).toMatchObject({
        sourceVolumeId: gone,
        deletion: { safe: true, sharesWith: [] },
      });
      const safe = lineage.nodes.filter((n) => n.deletion?.safe).map((n) => n.id);
      expect(safe).toEqual([r2, s3, clone, orphan]);
    },
  };
}
