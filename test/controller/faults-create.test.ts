import { beforeAll, expect, it } from "vitest";
import { snapshotIdFor, volumeIdFor } from "../../src/storage/ids.js";
import { injectEveryStep } from "./faults.js";
import {
  createSnapshotRequest,
  createVolumeRequest,
  ROOT,
  snapshotSource,
  useHarness,
  volumeSource,
} from "./harness.js";

const MiB = 1024n * 1024n;

const h = useHarness();

beforeAll(async () => {
  // The first create makes the base directories; later runs start from a settled layout.
  const { volume } = await h.call("CreateVolume", createVolumeRequest("warm-up", { required: MiB }));
  await h.call("DeleteVolume", { volume_id: volume.volume_id, secrets: {} });
});

const source = createVolumeRequest("fault-source", { required: 4n * MiB });
const setupSource = async () => (await h.call("CreateVolume", source)).volume.volume_id as string;

/** A volume's snapshot directory, which a rolled-back create keeps (see Scenario.leftByRollBack). */
const snapshotDirectory = (name: string) => `${ROOT}/snaps/${volumeIdFor(name)}/`;

async function deleteVolumeNamed(name: string): Promise<void> {
  await h.call("DeleteVolume", { volume_id: volumeIdFor(name), secrets: {} });
}

it("CreateVolume recovers from a fault at any step", async () => {
  const req = createVolumeRequest("fault-new", { required: 6n * MiB });
  const report = await injectEveryStep(h, {
    rollsBack: true,
    setup: async () => {},
    run: () => h.call("CreateVolume", req),
    undo: () => deleteVolumeNamed("fault-new"),
    leftByRollBack: [snapshotDirectory("fault-new")],
  });
  expect(report.lines.some((l) => l.startsWith("/disk add "))).toBe(true);
});

it("CreateSnapshot recovers from a fault at any step", async () => {
  // Every run starts from a new source volume: its first snapshot may turn the volume's snapshot
  // folder into a subvolume (a RouterOS that refuses subvolumes under plain directories), a step
  // that a volume which already had a snapshot never takes again.
  const volumeId = await setupSource();
  const req = createSnapshotRequest("fault-snap", volumeId);
  const report = await injectEveryStep(h, {
    rollsBack: true,
    setup: async () => void (await setupSource()),
    run: () => h.call("CreateSnapshot", req),
    undo: async () => {
      await h.call("DeleteSnapshot", { snapshot_id: snapshotIdFor("fault-snap"), secrets: {} });
      await deleteVolumeNamed("fault-source");
      await setupSource();
    },
    leftByRollBack: [`${snapshotDirectory("fault-source").slice(0, -1)} folder`],
    unstable: ({ snapshot }) => ({ snapshot: { ...(snapshot as object), creation_time: "varies" } }),
  });
  expect(report.lines.some((l) => l.includes("read-only=yes"))).toBe(true);
});

it("restore from a snapshot, grown, recovers from a fault at any step", async () => {
  const volumeId = await setupSource();
  const snap = createSnapshotRequest("fault-restore-snap", volumeId);
  const snapshotId = (await h.call("CreateSnapshot", snap)).snapshot.snapshot_id as string;
  const req = createVolumeRequest("fault-restored", {
    required: 10n * MiB,
    source: snapshotSource(snapshotId),
  });
  const report = await injectEveryStep(h, {
    rollsBack: true,
    setup: async () => {
      await setupSource();
      await h.call("CreateSnapshot", snap);
    },
    run: () => h.call("CreateVolume", req),
    undo: () => deleteVolumeNamed("fault-restored"),
    leftByRollBack: [snapshotDirectory("fault-restored")],
  });
  expect(report.lines.some((l) => l.includes("read-only=no"))).toBe(true);
  expect(report.lines.some((l) => l.startsWith("/disk set "))).toBe(true);
});

it("clone, grown, recovers from a fault at any step", async () => {
  const volumeId = await setupSource();
  const req = createVolumeRequest("fault-clone", { required: 8n * MiB, source: volumeSource(volumeId) });
  const report = await injectEveryStep(h, {
    rollsBack: true,
    setup: async () => void (await setupSource()),
    run: () => h.call("CreateVolume", req),
    undo: () => deleteVolumeNamed("fault-clone"),
    leftByRollBack: [snapshotDirectory("fault-clone")],
  });
  expect(report.lines.some((l) => l.startsWith("/disk set "))).toBe(true);
});
