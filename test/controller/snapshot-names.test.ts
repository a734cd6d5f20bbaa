/**
 * The VolumeSnapshot a snapshot was taken for, recorded on the RDS from the csi-snapshotter's
 * --extra-create-metadata parameters: written in CreateSnapshot's first exec line (no more round
 * trips), read back by the reconciler's inventory, removed with the snapshot.
 */
import { readdirSync } from "node:fs";
import path from "node:path";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { createStorage, parseNamesFileName, snapshotIdFor } from "../../src/storage/index.js";
import { createSnapshotRequest, createVolumeRequest, NQN_PREFIX, ROOT, useHarness } from "./harness.js";

const h = useHarness();

const metadata = {
  "csi.storage.k8s.io/volumesnapshot/name": "nightly.2026-12-05",
  "csi.storage.k8s.io/volumesnapshot/namespace": "shop",
  "csi.storage.k8s.io/volumesnapshotcontent/name": "snapcontent-8d1f6a2e-32b1-4c1e-9d57-0c6f4f7e1a11",
};

async function linesOf(action: () => Promise<unknown>): Promise<string[]> {
  const since = (await h.sim.control.commands()).at(-1)?.seq ?? 0;
  await action();
  return (await h.sim.control.commands(since)).map((c) => c.line);
}

const namesDir = () => path.join(h.sim.poolMountPath, ROOT, "names");
const namesFiles = (snapshotId: string) =>
  readdirSync(namesDir()).filter((f) => f.startsWith(`${snapshotId}_`));

describe("VolumeSnapshot names on the RDS", () => {
  it("are recorded by CreateSnapshot in its first line, shown by the inventory, and removed with the snapshot", async () => {
    const vol = (await h.call("CreateVolume", createVolumeRequest("names-src"))).volume.volume_id;
    const request = { ...createSnapshotRequest("names-snap", vol), parameters: metadata };
    // The first snapshot ever also makes <root>/names: the failed line, the directory, the line again.
    await h.call("CreateSnapshot", { ...createSnapshotRequest("names-first", vol), parameters: metadata });
    const created = await linesOf(() => h.call("CreateSnapshot", request));
    expect(created).toHaveLength(2);
    expect(created[0]).toMatch(
      /^\/file add name="\/?raid1\/rds-csi\/names\/snap-[0-9a-f-]{36}_shop_nightly\.2026-12-05_snapcontent-/,
    );
    // A retry costs what it did: one line (it records the names again, under a new time).
    expect(await linesOf(() => h.call("CreateSnapshot", request))).toHaveLength(1);

    const id = snapshotIdFor("names-snap");
    const files = namesFiles(id);
    expect(files.length).toBe(2);
    expect(parseNamesFileName(files[0] as string)).toEqual({
      snapshotId: id,
      names: {
        namespace: "shop",
        name: "nightly.2026-12-05",
        content: "snapcontent-8d1f6a2e-32b1-4c1e-9d57-0c6f4f7e1a11",
      },
    });

    const storage = createStorage(h.client, {
      pool: h.sim.pool,
      fsLabel: h.sim.fsLabel,
      root: ROOT,
      nvmePort: 4420,
      nqnPrefix: NQN_PREFIX,
      logger: pino({ level: "silent" }),
    });
    const inventory = await storage.readInventory({ kind: "all" }, {});
    expect(inventory.snapshots.find((s) => s.snapshotId === id)?.names).toEqual({
      namespace: "shop",
      name: "nightly.2026-12-05",
      content: "snapcontent-8d1f6a2e-32b1-4c1e-9d57-0c6f4f7e1a11",
    });

    const deleted = await linesOf(() => h.call("DeleteSnapshot", { snapshot_id: id, secrets: {} }));
    expect(deleted).toHaveLength(3);
    expect(deleted[2]).toMatch(/^\/file remove /);
    expect(namesFiles(id)).toEqual([]);
    expect(namesFiles(snapshotIdFor("names-first"))).toHaveLength(1);
  });

  it("leaves out names Kubernetes would not allow, and records nothing without them", async () => {
    const vol = (await h.call("CreateVolume", createVolumeRequest("names-odd"))).volume.volume_id;
    const odd = {
      "csi.storage.k8s.io/volumesnapshot/name": "Bad_Name",
      "csi.storage.k8s.io/volumesnapshot/namespace": "shop",
    };
    const lines = await linesOf(() =>
      h.call("CreateSnapshot", { ...createSnapshotRequest("names-odd-snap", vol), parameters: odd }),
    );
    expect(lines).toHaveLength(2);
    expect(lines[0]).not.toMatch(/\/file add/);
    expect(namesFiles(snapshotIdFor("names-odd-snap"))).toEqual([]);
  });

  it("a create that took no snapshot leaves a names file that DeleteSnapshot of the id removes", async () => {
    const vol = (await h.call("CreateVolume", createVolumeRequest("names-gone"))).volume.volume_id;
    await h.call("DeleteVolume", { volume_id: vol, secrets: {} });
    const request = { ...createSnapshotRequest("names-never", vol), parameters: metadata };
    const outcome = await h.outcome("CreateSnapshot", request);
    expect(outcome.code).toBe(5); // NOT_FOUND: the source is gone
    const id = snapshotIdFor("names-never");
    expect(namesFiles(id)).toHaveLength(1);
    await h.call("DeleteSnapshot", { snapshot_id: id, secrets: {} });
    expect(namesFiles(id)).toEqual([]);
  });
});
