import { expect, it } from "vitest";
import { snapshotIdFor, volumeIdFor } from "../../src/storage/ids.js";
import { injectEveryStep } from "./faults.js";
import { createSnapshotRequest, createVolumeRequest, ROOT, useHarness } from "./harness.js";

const MiB = 1024n * 1024n;

const h = useHarness();

const deleteVolume = (name: string) => h.call("DeleteVolume", { volume_id: volumeIdFor(name), secrets: {} });
const deleteSnapshot = (name: string) =>
  h.call("DeleteSnapshot", { snapshot_id: snapshotIdFor(name), secrets: {} });

it("DeleteVolume recovers from a fault at any step, and the volume's snapshot stays", async () => {
  const volume = createVolumeRequest("del-fault-vol", { required: 4n * MiB });
  const snapshot = createSnapshotRequest("del-fault-vol-snap", volumeIdFor("del-fault-vol"));
  const report = await injectEveryStep(h, {
    setup: async () => {
      await h.call("CreateVolume", volume);
      await h.call("CreateSnapshot", snapshot);
    },
    run: () => deleteVolume("del-fault-vol"),
    undo: async () => void (await h.call("CreateVolume", volume)),
  });
  expect(report.lines.filter((l) => / remove /.test(l))).toHaveLength(2);
  const snap = await h.client.getSubvolume(
    `${ROOT}/snaps/${volumeIdFor("del-fault-vol")}/${snapshotIdFor("del-fault-vol-snap")}`,
    { fs: h.sim.fsLabel },
  );
  expect(snap?.readOnly).toBe(true);
});

it("DeleteVolume of a volume without snapshots removes its snapshot directory, whatever fails", async () => {
  const volume = createVolumeRequest("del-fault-lone", { required: 4n * MiB });
  const report = await injectEveryStep(h, {
    setup: async () => void (await h.call("CreateVolume", volume)),
    run: () => deleteVolume("del-fault-lone"),
    undo: async () => void (await h.call("CreateVolume", volume)),
  });
  expect(report.lines.some((l) => l.startsWith("/file remove "))).toBe(true);
});

it("DeleteSnapshot of the last snapshot of a deleted volume recovers from a fault at any step", async () => {
  const volume = createVolumeRequest("del-fault-src", { required: 4n * MiB });
  const snapshot = createSnapshotRequest("del-fault-snap", volumeIdFor("del-fault-src"));
  const recreate = async () => {
    await h.call("CreateVolume", volume);
    await h.call("CreateSnapshot", snapshot);
    await deleteVolume("del-fault-src");
  };
  const report = await injectEveryStep(h, {
    setup: recreate,
    run: () => deleteSnapshot("del-fault-snap"),
    undo: recreate,
  });
  // The retry after a fault on the last step no longer finds the snapshot and sweeps the directory:
  // with `/file remove`, or as a subvolume where the folder became one (RouterOS refused the
  // snapshot under a plain directory), which `/file remove` does not take.
  const folder = `${ROOT}/snaps/${volumeIdFor("del-fault-src")}"`;
  expect(report.lines.some((l) => / remove /.test(l) && l.includes(folder))).toBe(true);
});
