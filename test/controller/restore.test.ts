import { createHash, randomBytes } from "node:crypto";
import { open, readFile } from "node:fs/promises";
import { status } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { snapshotIdFor, volumeIdFor } from "../../src/storage/ids.js";
import {
  createSnapshotRequest,
  createVolumeRequest,
  ROOT,
  rdsState,
  snapshotSource,
  useHarness,
  volumeSource,
} from "./harness.js";

const MiB = 1024n * 1024n;
const SIZE = 8n * MiB;

const h = useHarness();

const volumeImage = (id: string) => `${h.sim.poolMountPath}/${ROOT}/vols/${id}/disk.img`;
const snapshotImage = (vol: string, snap: string) =>
  `${h.sim.poolMountPath}/${ROOT}/snaps/${vol}/${snap}/disk.img`;

/** Writes recognisable data at the start, the middle and the end of an image, as a node would. */
async function writePattern(path: string): Promise<void> {
  const file = await open(path, "r+");
  try {
    for (const offset of [0, Number(SIZE / 2n), Number(SIZE) - 65536]) {
      await file.write(randomBytes(65536), 0, 65536, offset);
    }
    await file.sync();
  } finally {
    await file.close();
  }
}

async function digest(path: string, length = SIZE): Promise<string> {
  const data = await readFile(path);
  return createHash("sha256")
    .update(data.subarray(0, Number(length)))
    .digest("hex");
}

describe("restores and clones keep data apart", () => {
  it("restore shows the snapshot's data, clone the volume's; neither depends on its source", async () => {
    const src = (await h.call("CreateVolume", createVolumeRequest("data-src", { required: SIZE }))).volume
      .volume_id;
    await writePattern(volumeImage(src));
    const original = await digest(volumeImage(src));
    const snap = (await h.call("CreateSnapshot", createSnapshotRequest("data-snap", src))).snapshot;
    await writePattern(volumeImage(src));
    const overwritten = await digest(volumeImage(src));
    expect(overwritten).not.toBe(original);
    expect(await digest(snapshotImage(src, snap.snapshot_id))).toBe(original);

    const restored = await h.call(
      "CreateVolume",
      createVolumeRequest("data-restored", { required: SIZE, source: snapshotSource(snap.snapshot_id) }),
    );
    expect(restored.volume.content_source).toEqual({ snapshot: { snapshot_id: snap.snapshot_id } });
    expect(restored.volume.capacity_bytes).toBe(String(SIZE));
    const restoredId = restored.volume.volume_id;
    expect(await digest(volumeImage(restoredId))).toBe(original);
    expect((await h.client.getDisk(restoredId))?.comment).toMatch(
      new RegExp(`^rds-csi v1 source=snapshot:${snap.snapshot_id} attempt=[0-9a-f]{16}$`),
    );

    const clone = await h.call(
      "CreateVolume",
      createVolumeRequest("data-clone", { source: volumeSource(src) }),
    );
    expect(clone.volume.content_source).toEqual({ volume: { volume_id: src } });
    expect(clone.volume.capacity_bytes).toBe(String(SIZE));
    const cloneId = clone.volume.volume_id;
    expect(await digest(volumeImage(cloneId))).toBe(overwritten);

    // Writing the restore changes neither the snapshot nor the clone.
    await writePattern(volumeImage(restoredId));
    expect(await digest(snapshotImage(src, snap.snapshot_id))).toBe(original);
    await h.call("DeleteVolume", { volume_id: src, secrets: {} });
    expect(await digest(volumeImage(cloneId))).toBe(overwritten);
    expect(await digest(snapshotImage(src, snap.snapshot_id))).toBe(original);
    const again = await h.call(
      "CreateVolume",
      createVolumeRequest("data-restored-2", { source: snapshotSource(snap.snapshot_id) }),
    );
    await h.call("DeleteSnapshot", { snapshot_id: snap.snapshot_id, secrets: {} });
    expect(await digest(volumeImage(again.volume.volume_id))).toBe(original);
    expect((await h.client.getDisk(again.volume.volume_id))?.fileSize).toBe(SIZE);
  });

  it("grows a restore or clone to a larger size, keeping the data", async () => {
    const src = (await h.call("CreateVolume", createVolumeRequest("grow-src", { required: SIZE }))).volume
      .volume_id;
    await writePattern(volumeImage(src));
    const original = await digest(volumeImage(src));
    const snap = (await h.call("CreateSnapshot", createSnapshotRequest("grow-snap", src))).snapshot;
    for (const [name, source] of [
      ["grow-restore", snapshotSource(snap.snapshot_id)],
      ["grow-clone", volumeSource(src)],
    ] as const) {
      const res = await h.call("CreateVolume", createVolumeRequest(name, { required: 3n * SIZE, source }));
      expect(res.volume.capacity_bytes).toBe(String(3n * SIZE));
      const image = volumeImage(res.volume.volume_id);
      expect((await h.client.getDisk(res.volume.volume_id))?.fileSize).toBe(3n * SIZE);
      expect(await digest(image)).toBe(original);
      const tail = (await readFile(image)).subarray(Number(SIZE));
      expect(tail.length).toBe(Number(2n * SIZE));
      expect(tail.every((b) => b === 0)).toBe(true);
    }
  });
});

describe("CreateVolume with a content source", () => {
  it("refuses smaller sizes, missing sources and a changed source", async () => {
    const src = (await h.call("CreateVolume", createVolumeRequest("rules-src", { required: SIZE }))).volume
      .volume_id;
    const snap = (await h.call("CreateSnapshot", createSnapshotRequest("rules-snap", src))).snapshot;
    const message = await h.expectCode(
      "CreateVolume",
      createVolumeRequest("rules-small", { required: SIZE / 2n, source: snapshotSource(snap.snapshot_id) }),
      status.OUT_OF_RANGE,
    );
    expect(message).toContain(String(SIZE));
    await h.expectCode(
      "CreateVolume",
      createVolumeRequest("rules-small", { required: SIZE / 2n, source: volumeSource(src) }),
      status.OUT_OF_RANGE,
    );
    await h.expectCode(
      "CreateVolume",
      createVolumeRequest("rules-missing", { source: snapshotSource("non-existing-snapshot-id") }),
      status.NOT_FOUND,
    );
    await h.expectCode(
      "CreateVolume",
      createVolumeRequest("rules-missing", { source: snapshotSource(snapshotIdFor("never")) }),
      status.NOT_FOUND,
    );
    await h.expectCode(
      "CreateVolume",
      createVolumeRequest("rules-missing", { source: volumeSource(volumeIdFor("never")) }),
      status.NOT_FOUND,
    );
    await h.expectCode(
      "CreateVolume",
      createVolumeRequest("rules-missing", { source: snapshotSource("") }),
      status.INVALID_ARGUMENT,
    );
    expect(
      await h.client.getSubvolume(`${ROOT}/vols/${volumeIdFor("rules-small")}`, { fs: h.sim.fsLabel }),
    ).toBeNull();

    const req = createVolumeRequest("rules-restore", { source: snapshotSource(snap.snapshot_id) });
    const first = await h.call("CreateVolume", req);
    h.restart();
    expect(await h.call("CreateVolume", req)).toEqual(first);
    for (const other of [
      createVolumeRequest("rules-restore", {}),
      createVolumeRequest("rules-restore", { source: volumeSource(src) }),
    ]) {
      await h.expectCode("CreateVolume", other, status.ALREADY_EXISTS);
    }
    await h.expectCode(
      "CreateVolume",
      createVolumeRequest("rules-src", { required: SIZE, source: snapshotSource(snap.snapshot_id) }),
      status.ALREADY_EXISTS,
    );
  });

  it("checks free space before a restore and leaves nothing behind when there is none", async () => {
    const src = (await h.call("CreateVolume", createVolumeRequest("full-src", { required: SIZE }))).volume
      .volume_id;
    const snap = (await h.call("CreateSnapshot", createSnapshotRequest("full-snap", src))).snapshot;
    const before = await rdsState(h);
    const since = (await h.sim.control.commands()).at(-1)?.seq ?? 0;
    await h.sim.control.poolFull(true);
    try {
      await h.expectCode(
        "CreateVolume",
        createVolumeRequest("full-restore", { source: snapshotSource(snap.snapshot_id) }),
        status.RESOURCE_EXHAUSTED,
      );
      await h.expectCode(
        "CreateVolume",
        createVolumeRequest("full-clone", { source: volumeSource(src) }),
        status.RESOURCE_EXHAUSTED,
      );
    } finally {
      await h.sim.control.poolFull(false);
    }
    const changes = (await h.sim.control.commands(since)).filter((c) => / (add|set|remove) /.test(c.line));
    expect(changes).toEqual([]);
    expect(await rdsState(h)).toEqual(before);
  });

  it("refuses a restore once its copy shows a size out of range or growth the pool cannot hold, and removes the copy", async () => {
    const src = (await h.call("CreateVolume", createVolumeRequest("after-src", { required: SIZE }))).volume
      .volume_id;
    const snap = (await h.call("CreateSnapshot", createSnapshotRequest("after-snap", src))).snapshot;
    const before = await rdsState(h);
    const capacity = await h.client.poolCapacity(h.sim.pool);
    // A snapshot id does not say where its image is: the copy is made, its size read in the same line.
    const tooLarge = capacity.free + 1024n * MiB;
    const message = await h.expectCode(
      "CreateVolume",
      createVolumeRequest("after-huge", { required: tooLarge, source: snapshotSource(snap.snapshot_id) }),
      status.RESOURCE_EXHAUSTED,
    );
    expect(message).toContain("bytes free");
    await h.expectCode(
      "CreateVolume",
      createVolumeRequest("after-small", { required: SIZE / 2n, source: snapshotSource(snap.snapshot_id) }),
      status.OUT_OF_RANGE,
    );
    // What a failed create may leave: the new volume's empty snapshot folder (see src/storage/README.md).
    const left = await rdsState(h);
    const folders = ["after-huge", "after-small"].map((n) => `${ROOT}/snaps/${volumeIdFor(n)}`);
    expect(left.disks).toEqual(before.disks);
    expect(left.subvolumes).toEqual(before.subvolumes);
    expect(left.files.filter((f) => !folders.some((d) => f.startsWith(d)))).toEqual(before.files);
    // The same request again gives the same answer.
    await h.expectCode(
      "CreateVolume",
      createVolumeRequest("after-huge", { required: tooLarge, source: snapshotSource(snap.snapshot_id) }),
      status.RESOURCE_EXHAUSTED,
    );
  });
});
