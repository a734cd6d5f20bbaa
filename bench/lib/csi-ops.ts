import type { CsiClient } from "../../src/demo/csi-client.js";

/** The CSI calls the benchmarks make, in the loader's request shapes (snake_case, int64 as strings). */

const MOUNT_CAPABILITY = {
  mount: { fs_type: "ext4", mount_flags: [] },
  access_mode: { mode: "SINGLE_NODE_WRITER" },
};

export interface VolumeSource {
  snapshotId?: string;
  volumeId?: string;
}

export async function createVolume(
  csi: CsiClient,
  name: string,
  bytes: bigint,
  source: VolumeSource = {},
): Promise<string> {
  const content = source.snapshotId
    ? { snapshot: { snapshot_id: source.snapshotId } }
    : source.volumeId
      ? { volume: { volume_id: source.volumeId } }
      : null;
  const res = await csi.call<{ volume: { volume_id: string } }>("Controller", "CreateVolume", {
    name,
    capacity_range: { required_bytes: String(bytes), limit_bytes: "0" },
    volume_capabilities: [MOUNT_CAPABILITY],
    parameters: {},
    secrets: {},
    volume_content_source: content,
  });
  return res.volume.volume_id;
}

export async function deleteVolume(csi: CsiClient, volumeId: string): Promise<void> {
  await csi.call("Controller", "DeleteVolume", { volume_id: volumeId, secrets: {} });
}

export async function createSnapshot(csi: CsiClient, name: string, sourceVolumeId: string): Promise<string> {
  const res = await csi.call<{ snapshot: { snapshot_id: string } }>("Controller", "CreateSnapshot", {
    name,
    source_volume_id: sourceVolumeId,
    parameters: {},
    secrets: {},
  });
  return res.snapshot.snapshot_id;
}

export async function deleteSnapshot(csi: CsiClient, snapshotId: string): Promise<void> {
  await csi.call("Controller", "DeleteSnapshot", { snapshot_id: snapshotId, secrets: {} });
}

export interface SnapshotPage {
  ids: string[];
  nextToken: string;
}

export async function listSnapshots(csi: CsiClient, maxEntries: number, token = ""): Promise<SnapshotPage> {
  const res = await csi.call<{ entries: Array<{ snapshot: { snapshot_id: string } }>; next_token: string }>(
    "Controller",
    "ListSnapshots",
    { max_entries: maxEntries, starting_token: token, source_volume_id: "", snapshot_id: "", secrets: {} },
    120_000,
  );
  return { ids: res.entries.map((e) => e.snapshot.snapshot_id), nextToken: res.next_token };
}
