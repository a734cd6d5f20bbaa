/**
 * CSI v1.12 messages as src/csi/proto.ts delivers them (keepCase, longs: String, enums: String,
 * defaults: true, oneofs: true):
 * - field names are the proto's snake_case names;
 * - int64 is an exact decimal string; int32 and nanos are numbers;
 * - enums are their names, or the bare number when a sender uses a value this proto does not name;
 * - every scalar, repeated and map field is present (defaults "", 0, false, [], {});
 * - an absent message field is null, and so is an absent wrapper (BoolValue, Int64Value);
 * - a oneof adds a discriminator property named after it ("type", "access_type") whose value is
 *   the name of the member that is set; members that are not set are absent, and when none is
 *   set the discriminator is absent too.
 *
 * Handlers answer with `Outgoing<SomeResponse>`: every field optional, since the loader fills
 * defaults when it serializes.
 */

/** int64 / uint64 on the wire: an exact decimal string such as "9007199254740993". */
export type Int64 = string;

/** An enum field as received: its name, or a number the proto does not name. */
export type EnumValue<Name extends string> = Name | number;

/** A map<string, string> field. */
export type StringMap = Record<string, string>;

/** A message as a handler may answer it: any field may be left out and gets its default. */
export type Outgoing<T> = T extends string | number | boolean | null | undefined
  ? T
  : T extends readonly (infer E)[]
    ? Outgoing<E>[]
    : { [K in keyof T]?: Outgoing<T[K]> };

// ---------------------------------------------------------------------------
// Well-known types
// ---------------------------------------------------------------------------

export interface Timestamp {
  seconds: Int64;
  nanos: number;
}

export interface BoolValue {
  value: boolean;
}

export interface Int64Value {
  value: Int64;
}

// ---------------------------------------------------------------------------
// Enums
// ---------------------------------------------------------------------------

export type PluginServiceType =
  | "UNKNOWN"
  | "CONTROLLER_SERVICE"
  | "VOLUME_ACCESSIBILITY_CONSTRAINTS"
  | "GROUP_CONTROLLER_SERVICE"
  | "SNAPSHOT_METADATA_SERVICE";

export type VolumeExpansionType = "UNKNOWN" | "ONLINE" | "OFFLINE";

export type AccessMode =
  | "UNKNOWN"
  | "SINGLE_NODE_WRITER"
  | "SINGLE_NODE_READER_ONLY"
  | "MULTI_NODE_READER_ONLY"
  | "MULTI_NODE_SINGLE_WRITER"
  | "MULTI_NODE_MULTI_WRITER"
  | "SINGLE_NODE_SINGLE_WRITER"
  | "SINGLE_NODE_MULTI_WRITER";

export type ControllerCapabilityType =
  | "UNKNOWN"
  | "CREATE_DELETE_VOLUME"
  | "PUBLISH_UNPUBLISH_VOLUME"
  | "LIST_VOLUMES"
  | "GET_CAPACITY"
  | "CREATE_DELETE_SNAPSHOT"
  | "LIST_SNAPSHOTS"
  | "CLONE_VOLUME"
  | "PUBLISH_READONLY"
  | "EXPAND_VOLUME"
  | "LIST_VOLUMES_PUBLISHED_NODES"
  | "VOLUME_CONDITION"
  | "GET_VOLUME"
  | "SINGLE_NODE_MULTI_WRITER"
  | "MODIFY_VOLUME"
  | "GET_SNAPSHOT";

export type NodeCapabilityType =
  | "UNKNOWN"
  | "STAGE_UNSTAGE_VOLUME"
  | "GET_VOLUME_STATS"
  | "EXPAND_VOLUME"
  | "VOLUME_CONDITION"
  | "SINGLE_NODE_MULTI_WRITER"
  | "VOLUME_MOUNT_GROUP";

export type GroupControllerCapabilityType = "UNKNOWN" | "CREATE_DELETE_GET_VOLUME_GROUP_SNAPSHOT";

export type VolumeUsageUnit = "UNKNOWN" | "BYTES" | "INODES";

// ---------------------------------------------------------------------------
// Shared messages
// ---------------------------------------------------------------------------

export interface Topology {
  segments: StringMap;
}

export interface TopologyRequirement {
  requisite: Topology[];
  preferred: Topology[];
}

export interface CapacityRange {
  required_bytes: Int64;
  limit_bytes: Int64;
}

export interface SnapshotSource {
  snapshot_id: string;
}

export interface VolumeSource {
  volume_id: string;
}

export type VolumeContentSource =
  | { type: "snapshot"; snapshot: SnapshotSource; volume?: undefined }
  | { type: "volume"; volume: VolumeSource; snapshot?: undefined }
  | { type?: undefined; snapshot?: undefined; volume?: undefined };

export type BlockVolume = Record<string, never>;

export interface MountVolume {
  fs_type: string;
  mount_flags: string[];
  volume_mount_group: string;
}

export interface VolumeAccessMode {
  mode: EnumValue<AccessMode>;
}

/** Block or mount (either may be missing in a bad request), plus the access mode. */
export type VolumeCapability = { access_mode: VolumeAccessMode | null } & (
  | { access_type: "block"; block: BlockVolume; mount?: undefined }
  | { access_type: "mount"; mount: MountVolume; block?: undefined }
  | { access_type?: undefined; block?: undefined; mount?: undefined }
);

export interface Volume {
  capacity_bytes: Int64;
  volume_id: string;
  volume_context: StringMap;
  content_source: VolumeContentSource | null;
  accessible_topology: Topology[];
}

export interface VolumeCondition {
  abnormal: boolean;
  message: string;
}

export interface Snapshot {
  size_bytes: Int64;
  snapshot_id: string;
  source_volume_id: string;
  creation_time: Timestamp | null;
  ready_to_use: boolean;
  group_snapshot_id: string;
}

// ---------------------------------------------------------------------------
// Identity
// ---------------------------------------------------------------------------

export type GetPluginInfoRequest = Record<string, never>;

export interface GetPluginInfoResponse {
  name: string;
  vendor_version: string;
  manifest: StringMap;
}

export type GetPluginCapabilitiesRequest = Record<string, never>;

export type PluginCapability =
  | {
      type: "service";
      service: { type: EnumValue<PluginServiceType> };
      volume_expansion?: undefined;
    }
  | {
      type: "volume_expansion";
      volume_expansion: { type: EnumValue<VolumeExpansionType> };
      service?: undefined;
    }
  | { type?: undefined; service?: undefined; volume_expansion?: undefined };

export interface GetPluginCapabilitiesResponse {
  capabilities: PluginCapability[];
}

export type ProbeRequest = Record<string, never>;

export interface ProbeResponse {
  /** null means ready. */
  ready: BoolValue | null;
}

export interface IdentityMethods {
  GetPluginInfo: { request: GetPluginInfoRequest; response: GetPluginInfoResponse };
  GetPluginCapabilities: { request: GetPluginCapabilitiesRequest; response: GetPluginCapabilitiesResponse };
  Probe: { request: ProbeRequest; response: ProbeResponse };
}

// ---------------------------------------------------------------------------
// Controller: volumes
// ---------------------------------------------------------------------------

export interface CreateVolumeRequest {
  name: string;
  capacity_range: CapacityRange | null;
  volume_capabilities: VolumeCapability[];
  parameters: StringMap;
  secrets: StringMap;
  volume_content_source: VolumeContentSource | null;
  accessibility_requirements: TopologyRequirement | null;
  mutable_parameters: StringMap;
}

export interface CreateVolumeResponse {
  volume: Volume | null;
}

export interface DeleteVolumeRequest {
  volume_id: string;
  secrets: StringMap;
}

export type DeleteVolumeResponse = Record<string, never>;

export interface ControllerPublishVolumeRequest {
  volume_id: string;
  node_id: string;
  volume_capability: VolumeCapability | null;
  readonly: boolean;
  secrets: StringMap;
  volume_context: StringMap;
}

export interface ControllerPublishVolumeResponse {
  publish_context: StringMap;
}

export interface ControllerUnpublishVolumeRequest {
  volume_id: string;
  node_id: string;
  secrets: StringMap;
}

export type ControllerUnpublishVolumeResponse = Record<string, never>;

export interface ValidateVolumeCapabilitiesRequest {
  volume_id: string;
  volume_context: StringMap;
  volume_capabilities: VolumeCapability[];
  parameters: StringMap;
  secrets: StringMap;
  mutable_parameters: StringMap;
}

export interface ValidateVolumeCapabilitiesResponse {
  /** null when the capabilities are not supported; `message` says why. */
  confirmed: {
    volume_context: StringMap;
    volume_capabilities: VolumeCapability[];
    parameters: StringMap;
    mutable_parameters: StringMap;
  } | null;
  message: string;
}

export interface ListVolumesRequest {
  max_entries: number;
  starting_token: string;
}

export interface ListVolumesResponse {
  entries: {
    volume: Volume | null;
    status: { published_node_ids: string[]; volume_condition: VolumeCondition | null } | null;
  }[];
  next_token: string;
}

export interface ControllerGetVolumeRequest {
  volume_id: string;
}

export interface ControllerGetVolumeResponse {
  volume: Volume | null;
  status: { published_node_ids: string[]; volume_condition: VolumeCondition | null } | null;
}

export interface ControllerModifyVolumeRequest {
  volume_id: string;
  secrets: StringMap;
  mutable_parameters: StringMap;
}

export type ControllerModifyVolumeResponse = Record<string, never>;

export interface GetCapacityRequest {
  volume_capabilities: VolumeCapability[];
  parameters: StringMap;
  accessible_topology: Topology | null;
}

export interface GetCapacityResponse {
  available_capacity: Int64;
  maximum_volume_size: Int64Value | null;
  minimum_volume_size: Int64Value | null;
}

export interface ControllerExpandVolumeRequest {
  volume_id: string;
  capacity_range: CapacityRange | null;
  secrets: StringMap;
  volume_capability: VolumeCapability | null;
}

export interface ControllerExpandVolumeResponse {
  capacity_bytes: Int64;
  node_expansion_required: boolean;
}

export type ControllerGetCapabilitiesRequest = Record<string, never>;

export type ControllerServiceCapability =
  | { type: "rpc"; rpc: { type: EnumValue<ControllerCapabilityType> } }
  | { type?: undefined; rpc?: undefined };

export interface ControllerGetCapabilitiesResponse {
  capabilities: ControllerServiceCapability[];
}

// ---------------------------------------------------------------------------
// Controller: snapshots
// ---------------------------------------------------------------------------

export interface CreateSnapshotRequest {
  source_volume_id: string;
  name: string;
  secrets: StringMap;
  parameters: StringMap;
}

export interface CreateSnapshotResponse {
  snapshot: Snapshot | null;
}

export interface DeleteSnapshotRequest {
  snapshot_id: string;
  secrets: StringMap;
}

export type DeleteSnapshotResponse = Record<string, never>;

export interface ListSnapshotsRequest {
  max_entries: number;
  starting_token: string;
  source_volume_id: string;
  snapshot_id: string;
  secrets: StringMap;
}

export interface ListSnapshotsResponse {
  entries: { snapshot: Snapshot | null }[];
  next_token: string;
}

export interface GetSnapshotRequest {
  snapshot_id: string;
  secrets: StringMap;
}

export interface GetSnapshotResponse {
  snapshot: Snapshot | null;
}

export interface ControllerMethods {
  CreateVolume: { request: CreateVolumeRequest; response: CreateVolumeResponse };
  DeleteVolume: { request: DeleteVolumeRequest; response: DeleteVolumeResponse };
  ControllerPublishVolume: {
    request: ControllerPublishVolumeRequest;
    response: ControllerPublishVolumeResponse;
  };
  ControllerUnpublishVolume: {
    request: ControllerUnpublishVolumeRequest;
    response: ControllerUnpublishVolumeResponse;
  };
  ValidateVolumeCapabilities: {
    request: ValidateVolumeCapabilitiesRequest;
    response: ValidateVolumeCapabilitiesResponse;
  };
  ListVolumes: { request: ListVolumesRequest; response: ListVolumesResponse };
  GetCapacity: { request: GetCapacityRequest; response: GetCapacityResponse };
  ControllerGetCapabilities: {
    request: ControllerGetCapabilitiesRequest;
    response: ControllerGetCapabilitiesResponse;
  };
  CreateSnapshot: { request: CreateSnapshotRequest; response: CreateSnapshotResponse };
  DeleteSnapshot: { request: DeleteSnapshotRequest; response: DeleteSnapshotResponse };
  ListSnapshots: { request: ListSnapshotsRequest; response: ListSnapshotsResponse };
  GetSnapshot: { request: GetSnapshotRequest; response: GetSnapshotResponse };
  ControllerExpandVolume: {
    request: ControllerExpandVolumeRequest;
    response: ControllerExpandVolumeResponse;
  };
  ControllerGetVolume: { request: ControllerGetVolumeRequest; response: ControllerGetVolumeResponse };
  ControllerModifyVolume: {
    request: ControllerModifyVolumeRequest;
    response: ControllerModifyVolumeResponse;
  };
}

// ---------------------------------------------------------------------------
// Node
// ---------------------------------------------------------------------------

export interface NodeStageVolumeRequest {
  volume_id: string;
  publish_context: StringMap;
  staging_target_path: string;
  volume_capability: VolumeCapability | null;
  secrets: StringMap;
  volume_context: StringMap;
}

export type NodeStageVolumeResponse = Record<string, never>;

export interface NodeUnstageVolumeRequest {
  volume_id: string;
  staging_target_path: string;
}

export type NodeUnstageVolumeResponse = Record<string, never>;

export interface NodePublishVolumeRequest {
  volume_id: string;
  publish_context: StringMap;
  staging_target_path: string;
  target_path: string;
  volume_capability: VolumeCapability | null;
  readonly: boolean;
  secrets: StringMap;
  volume_context: StringMap;
}

export type NodePublishVolumeResponse = Record<string, never>;

export interface NodeUnpublishVolumeRequest {
  volume_id: string;
  target_path: string;
}

export type NodeUnpublishVolumeResponse = Record<string, never>;

export interface NodeGetVolumeStatsRequest {
  volume_id: string;
  volume_path: string;
  staging_target_path: string;
}

export interface VolumeUsage {
  available: Int64;
  total: Int64;
  used: Int64;
  unit: EnumValue<VolumeUsageUnit>;
}

export interface NodeGetVolumeStatsResponse {
  usage: VolumeUsage[];
  volume_condition: VolumeCondition | null;
}

export interface NodeExpandVolumeRequest {
  volume_id: string;
  volume_path: string;
  capacity_range: CapacityRange | null;
  staging_target_path: string;
  volume_capability: VolumeCapability | null;
  secrets: StringMap;
}

export interface NodeExpandVolumeResponse {
  capacity_bytes: Int64;
}

export type NodeGetCapabilitiesRequest = Record<string, never>;

export type NodeServiceCapability =
  | { type: "rpc"; rpc: { type: EnumValue<NodeCapabilityType> } }
  | { type?: undefined; rpc?: undefined };

export interface NodeGetCapabilitiesResponse {
  capabilities: NodeServiceCapability[];
}

export type NodeGetInfoRequest = Record<string, never>;

export interface NodeGetInfoResponse {
  node_id: string;
  /** "0" means no limit. */
  max_volumes_per_node: Int64;
  accessible_topology: Topology | null;
}

export interface NodeMethods {
  NodeStageVolume: { request: NodeStageVolumeRequest; response: NodeStageVolumeResponse };
  NodeUnstageVolume: { request: NodeUnstageVolumeRequest; response: NodeUnstageVolumeResponse };
  NodePublishVolume: { request: NodePublishVolumeRequest; response: NodePublishVolumeResponse };
  NodeUnpublishVolume: { request: NodeUnpublishVolumeRequest; response: NodeUnpublishVolumeResponse };
  NodeGetVolumeStats: { request: NodeGetVolumeStatsRequest; response: NodeGetVolumeStatsResponse };
  NodeExpandVolume: { request: NodeExpandVolumeRequest; response: NodeExpandVolumeResponse };
  NodeGetCapabilities: { request: NodeGetCapabilitiesRequest; response: NodeGetCapabilitiesResponse };
  NodeGetInfo: { request: NodeGetInfoRequest; response: NodeGetInfoResponse };
}

// ---------------------------------------------------------------------------
// GroupController
// ---------------------------------------------------------------------------

export type GroupControllerGetCapabilitiesRequest = Record<string, never>;

export type GroupControllerServiceCapability =
  | { type: "rpc"; rpc: { type: EnumValue<GroupControllerCapabilityType> } }
  | { type?: undefined; rpc?: undefined };

export interface GroupControllerGetCapabilitiesResponse {
  capabilities: GroupControllerServiceCapability[];
}

export interface VolumeGroupSnapshot {
  group_snapshot_id: string;
  snapshots: Snapshot[];
  creation_time: Timestamp | null;
  ready_to_use: boolean;
}

export interface CreateVolumeGroupSnapshotRequest {
  name: string;
  source_volume_ids: string[];
  secrets: StringMap;
  parameters: StringMap;
}

export interface CreateVolumeGroupSnapshotResponse {
  group_snapshot: VolumeGroupSnapshot | null;
}

export interface DeleteVolumeGroupSnapshotRequest {
  group_snapshot_id: string;
  snapshot_ids: string[];
  secrets: StringMap;
}

export type DeleteVolumeGroupSnapshotResponse = Record<string, never>;

export interface GetVolumeGroupSnapshotRequest {
  group_snapshot_id: string;
  snapshot_ids: string[];
  secrets: StringMap;
}

export interface GetVolumeGroupSnapshotResponse {
  group_snapshot: VolumeGroupSnapshot | null;
}

export interface GroupControllerMethods {
  GroupControllerGetCapabilities: {
    request: GroupControllerGetCapabilitiesRequest;
    response: GroupControllerGetCapabilitiesResponse;
  };
  CreateVolumeGroupSnapshot: {
    request: CreateVolumeGroupSnapshotRequest;
    response: CreateVolumeGroupSnapshotResponse;
  };
  DeleteVolumeGroupSnapshot: {
    request: DeleteVolumeGroupSnapshotRequest;
    response: DeleteVolumeGroupSnapshotResponse;
  };
  GetVolumeGroupSnapshot: {
    request: GetVolumeGroupSnapshotRequest;
    response: GetVolumeGroupSnapshotResponse;
  };
}

/** Method tables per service, for typing handler maps. */
export interface CsiMethods {
  Identity: IdentityMethods;
  Controller: ControllerMethods;
  Node: NodeMethods;
  GroupController: GroupControllerMethods;
}
