/**
 * Complete CSI requests (every field present, as the proto loader delivers them) with one or more
 * fields overridden, so a test names only the field it is about.
 */
import { mountCapability } from "../controller/harness.js";

type Fields = Record<string, unknown>;

export const listSnapshotsRequest = (fields: Fields = {}) => ({
  max_entries: 0,
  starting_token: "",
  snapshot_id: "",
  source_volume_id: "",
  secrets: {},
  ...fields,
});

export const expandVolumeRequest = (volumeId: string, bytes: bigint, fields: Fields = {}) => ({
  volume_id: volumeId,
  capacity_range: { required_bytes: String(bytes), limit_bytes: "0" },
  secrets: {},
  volume_capability: mountCapability(),
  ...fields,
});

export const validateRequest = (volumeId: string, fields: Fields = {}) => ({
  volume_id: volumeId,
  volume_context: {},
  volume_capabilities: [mountCapability()],
  parameters: {},
  secrets: {},
  mutable_parameters: {},
  ...fields,
});

export const capacityRequest = (parameters: Record<string, string>) => ({
  volume_capabilities: [],
  parameters,
  accessible_topology: null,
});

/** A filesystem capability with this fs_type and these mount flags. */
export const mountWith = (fsType: string, flags: string[]) => ({
  access_mode: { mode: "SINGLE_NODE_WRITER" },
  access_type: "mount",
  mount: { fs_type: fsType, mount_flags: flags, volume_mount_group: "" },
});

export const stageRequest = (fields: Fields = {}) => ({
  volume_id: "pvc-x",
  publish_context: {},
  staging_target_path: "",
  volume_capability: mountCapability(),
  secrets: {},
  volume_context: {},
  ...fields,
});

export const publishRequest = (fields: Fields = {}) =>
  stageRequest({ target_path: "", readonly: false, ...fields });

export const nodeExpandRequest = (fields: Fields = {}) => ({
  volume_id: "pvc-x",
  volume_path: "",
  capacity_range: null,
  staging_target_path: "",
  volume_capability: null,
  secrets: {},
  ...fields,
});

export const statsRequest = (fields: Fields = {}) => ({
  volume_id: "pvc-x",
  volume_path: "",
  staging_target_path: "",
  ...fields,
});
