import { execFileSync } from "node:child_process";
import { lstatSync, readdirSync, rmdirSync, unlinkSync } from "node:fs";
import path from "node:path";
import { status } from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import { MATRIX_FACTORS } from "../matrix/settings.js";
import {
  createSnapshotRequest,
  createVolumeRequest,
  listSnapshotsRequest,
  mountCapability,
  ROOT,
  rdsState,
  snapshotSource,
  useHarness,
  volumeSource,
} from "./harness.js";

/**
 * The controller's whole life of a volume under each value of each emulator setting for a RouterOS
 * behaviour that differs between versions or is unknown on hardware (issue 18), one at a time on
 * a fresh pool layout: the driver must be correct under every one. (`npm run test:matrix` runs
 * csi-sanity and the fault matrix under combinations of them.)
 */
const MiB = 1024n * 1024n;
const h = useHarness();
const NODE = "node-s/nqn.2014-08.org.nvmexpress:uuid:0a0a0a0a-0000-4000-8000-0000000000aa";

/** Removes `dir` and everything in it from the host side, nested subvolumes first. */
function wipe(dir: string): void {
  const stats = lstatSync(dir, { throwIfNoEntry: false, bigint: true });
  if (stats === undefined) return;
  if (!stats.isDirectory()) {
    unlinkSync(dir);
    return;
  }
  for (const entry of readdirSync(dir)) wipe(path.join(dir, entry));
  // Inode 256 is the root of a Btrfs subvolume.
  if (stats.ino === 256n) execFileSync("btrfs", ["subvolume", "delete", dir], { stdio: "ignore" });
  else rmdirSync(dir);
}

const variants = Object.entries(MATRIX_FACTORS).flatMap(([name, values]) =>
  values.slice(1).map((value) => ({ name, value })),
);

afterEach(async () => {
  const defaults = Object.fromEntries(Object.entries(MATRIX_FACTORS).map(([n, v]) => [n, v[0]]));
  await h.sim.control.setSettings(defaults);
  // A fresh client: nothing it learnt (a spelling RouterOS took) carries over to the next setting.
  h.restart();
});

describe.each(variants)("under $name=$value", ({ name, value }) => {
  it("creates, snapshots, restores, clones, grows, lists and deletes, leaving nothing behind", async () => {
    // A layout made from nothing under this setting: the driver makes its folders itself.
    await h.sim.control.exec('/disk remove [find where slot~"^pvc-"]');
    wipe(path.join(h.sim.poolMountPath, ROOT));
    await h.sim.control.refresh();
    await h.sim.control.setSettings({ [name]: value });
    const tag = `${name.replaceAll("_", "-")}-${String(value)}`;
    const src = (await h.call("CreateVolume", createVolumeRequest(`src-${tag}`, { required: 8n * MiB })))
      .volume;
    // Idempotent: the same request answers the same volume.
    expect(
      (await h.call("CreateVolume", createVolumeRequest(`src-${tag}`, { required: 8n * MiB }))).volume,
    ).toEqual(src);
    const snap = (await h.call("CreateSnapshot", createSnapshotRequest(`snap-${tag}`, src.volume_id)))
      .snapshot;
    expect(snap.ready_to_use).toBe(true);
    expect(
      (await h.call("CreateSnapshot", createSnapshotRequest(`snap-${tag}`, src.volume_id))).snapshot,
    ).toEqual(snap);
    const listed = await h.call("ListSnapshots", listSnapshotsRequest({ sourceVolumeId: src.volume_id }));
    expect(listed.entries.map((e: { snapshot: { snapshot_id: string } }) => e.snapshot.snapshot_id)).toEqual([
      snap.snapshot_id,
    ]);
    // Paged, a page reads its slice with the slice's images found by a pattern over their paths,
    // or names the images of what the page before it read; a restart between pages keeps nothing.
    const snap2 = (await h.call("CreateSnapshot", createSnapshotRequest(`snap2-${tag}`, src.volume_id)))
      .snapshot;
    const both = [snap, snap2].sort((a, b) => (a.snapshot_id < b.snapshot_id ? -1 : 1));
    const entries = (res: Record<string, unknown>) =>
      (res.entries as Array<{ snapshot: unknown }>).map((e) => e.snapshot);
    expect(entries(await h.call("ListSnapshots", listSnapshotsRequest({})))).toEqual(both);
    for (const [restart, sourceVolumeId] of [
      [false, ""],
      [true, ""],
      [false, src.volume_id],
    ] as const) {
      const paged: unknown[] = [];
      let token = "";
      do {
        const page = await h.call(
          "ListSnapshots",
          listSnapshotsRequest({ maxEntries: 1, token, sourceVolumeId }),
        );
        paged.push(...entries(page));
        token = page.next_token;
        if (restart) h.restart();
      } while (token !== "");
      expect(paged, `restart ${restart}, volume ${sourceVolumeId}`).toEqual(both);
    }
    await h.call("DeleteSnapshot", { snapshot_id: snap2.snapshot_id, secrets: {} });
    // A restore larger than the snapshot: the image is attached, then grown.
    const restored = (
      await h.call(
        "CreateVolume",
        createVolumeRequest(`restored-${tag}`, {
          required: 16n * MiB,
          source: snapshotSource(snap.snapshot_id),
        }),
      )
    ).volume;
    expect(restored.capacity_bytes).toBe(String(16n * MiB));
    const clone = (
      await h.call(
        "CreateVolume",
        createVolumeRequest(`clone-${tag}`, { source: volumeSource(src.volume_id) }),
      )
    ).volume;
    expect(clone.capacity_bytes).toBe(String(8n * MiB));
    // Not published: RouterOS grows an unexported disk under every setting.
    const grown = await h.call("ControllerExpandVolume", {
      volume_id: clone.volume_id,
      capacity_range: { required_bytes: String(24n * MiB), limit_bytes: "0" },
      secrets: {},
      volume_capability: mountCapability(),
    });
    expect(grown.capacity_bytes).toBe(String(24n * MiB));

    // Published (exported): grown, or refused as in use where RouterOS will not resize it.
    await h.call("ControllerPublishVolume", {
      volume_id: src.volume_id,
      node_id: NODE,
      volume_capability: mountCapability(),
      readonly: false,
      secrets: {},
      volume_context: {},
    });
    const online = await h.outcome("ControllerExpandVolume", {
      volume_id: src.volume_id,
      capacity_range: { required_bytes: String(32n * MiB), limit_bytes: "0" },
      secrets: {},
      volume_capability: mountCapability(),
    });
    const resizes = name !== "exported_disk_file_size";
    expect(online.code, online.message).toBe(resizes ? status.OK : status.FAILED_PRECONDITION);
    await h.call("ControllerUnpublishVolume", { volume_id: src.volume_id, node_id: NODE, secrets: {} });

    await h.call("DeleteSnapshot", { snapshot_id: snap.snapshot_id, secrets: {} });
    await h.call("DeleteSnapshot", { snapshot_id: snap.snapshot_id, secrets: {} });
    for (const v of [restored, clone, src]) {
      await h.call("DeleteVolume", { volume_id: v.volume_id, secrets: {} });
      await h.call("DeleteVolume", { volume_id: v.volume_id, secrets: {} });
    }
    const left = await rdsState(h);
    expect(left.disks).toEqual([]);
    // Only the layout's folders stay (as subvolumes where the driver made them).
    expect(
      left.subvolumes.filter((s) => !/^rds-csi(\/(vols|snaps|deleted))?$/.test(s)),
      left.files.join(" "),
    ).toEqual([]);
  });
});
