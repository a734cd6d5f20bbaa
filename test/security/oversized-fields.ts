/**
 * Every string field of every RPC, each as a request builder that puts one value into that field
 * and leaves the rest valid, with the codes the CSI spec allows for a value that is far too long.
 */
import path from "node:path";
import { status } from "@grpc/grpc-js";
import { createSnapshotRequest, createVolumeRequest } from "../controller/harness.js";
import {
  capacityRequest,
  expandVolumeRequest,
  listSnapshotsRequest,
  mountWith,
  nodeExpandRequest,
  publishRequest,
  stageRequest,
  statsRequest,
  validateRequest,
} from "./requests.js";

const MiB = 1024n * 1024n;
const SIDECAR_PREFIX = "csi.storage.k8s.io/";

export type Service = "Controller" | "Node";

export interface FieldContext {
  /** A directory the node may be pointed into; nothing outside it is ever named. */
  scratch: string;
  /** An existing volume. */
  volumeId: string;
  /** Where the emulator's pool is mounted (the loop transport's allowed root). */
  poolMountPath: string;
  /** Builds a secrets map holding `value` (and records what must never be logged). */
  secrets(key: string, value: string): Record<string, string>;
}

export interface Field {
  label: string;
  service: Service;
  method: string;
  request: (value: string) => object;
  allowed: readonly status[];
}

type Row = [label: string, method: string, request: (value: string) => object, allowed: readonly status[]];

const controller = (rows: Row[]): Field[] =>
  rows.map(([label, method, request, allowed]) => ({
    label,
    service: "Controller",
    method,
    request,
    allowed,
  }));
const node = (rows: Row[]): Field[] =>
  rows.map(([label, method, request, allowed]) => ({ label, service: "Node", method, request, allowed }));

export function oversizedFields(ctx: FieldContext): Field[] {
  const { scratch, volumeId, poolMountPath, secrets } = ctx;
  const refused = [status.INVALID_ARGUMENT];
  const missing = [status.NOT_FOUND];
  const ok = [status.OK];
  const small = { required: 2n * MiB };
  const restore = (v: string) => ({ type: "snapshot" as const, snapshot: { snapshot_id: v } });
  const clone = (v: string) => ({ type: "volume" as const, volume: { volume_id: v } });
  const staging = path.join(scratch, "oversized-staging");
  const inScratch = (v: string) => `${scratch}/${v}`;
  // A valid NVMe/TCP context; each row spoils one of its values.
  const nvme = {
    transport: "nvme-tcp",
    nvmeAddress: "192.0.2.1",
    nvmePort: "4420",
    nqn: "nqn.2000-02.com.mikrotik:x",
  };
  const stage = (fields: Record<string, unknown>) =>
    stageRequest({ staging_target_path: staging, volume_context: nvme, ...fields });
  return [
    ...controller([
      ["CreateVolume name", "CreateVolume", (v) => createVolumeRequest(v), refused],
      [
        "CreateVolume parameter key",
        "CreateVolume",
        (v) => createVolumeRequest("big", { parameters: { [v]: "x" } }),
        refused,
      ],
      [
        "CreateVolume parameter value",
        "CreateVolume",
        (v) => createVolumeRequest("big", { ...small, parameters: { [`${SIDECAR_PREFIX}pvc/name`]: v } }),
        ok,
      ],
      [
        "CreateVolume secret",
        "CreateVolume",
        (v) => ({ ...createVolumeRequest("big", small), secrets: secrets("k", v) }),
        ok,
      ],
      [
        "CreateVolume snapshot source",
        "CreateVolume",
        (v) => createVolumeRequest("big-r", { source: restore(v) }),
        missing,
      ],
      [
        "CreateVolume volume source",
        "CreateVolume",
        (v) => createVolumeRequest("big-c", { source: clone(v) }),
        missing,
      ],
      ["DeleteVolume volume_id", "DeleteVolume", (v) => ({ volume_id: v, secrets: {} }), ok],
      [
        "ControllerExpandVolume volume_id",
        "ControllerExpandVolume",
        (v) => expandVolumeRequest(v, 4n * MiB),
        missing,
      ],
      [
        "ValidateVolumeCapabilities volume_id",
        "ValidateVolumeCapabilities",
        (v) => validateRequest(v),
        missing,
      ],
      [
        "ValidateVolumeCapabilities volume_context",
        "ValidateVolumeCapabilities",
        (v) => validateRequest(volumeId, { volume_context: { k: v } }),
        ok,
      ],
      ["CreateSnapshot name", "CreateSnapshot", (v) => createSnapshotRequest(v, volumeId), refused],
      ["CreateSnapshot source_volume_id", "CreateSnapshot", (v) => createSnapshotRequest("big", v), missing],
      [
        "CreateSnapshot parameter key",
        "CreateSnapshot",
        (v) => ({ ...createSnapshotRequest("big", volumeId), parameters: { [v]: "x" } }),
        refused,
      ],
      ["DeleteSnapshot snapshot_id", "DeleteSnapshot", (v) => ({ snapshot_id: v, secrets: {} }), ok],
      [
        "ListSnapshots starting_token",
        "ListSnapshots",
        (v) => listSnapshotsRequest({ starting_token: v }),
        [status.ABORTED],
      ],
      ["ListSnapshots snapshot_id", "ListSnapshots", (v) => listSnapshotsRequest({ snapshot_id: v }), ok],
      [
        "ListSnapshots source_volume_id",
        "ListSnapshots",
        (v) => listSnapshotsRequest({ source_volume_id: v }),
        ok,
      ],
      ["GetCapacity parameter key", "GetCapacity", (v) => capacityRequest({ [v]: "x" }), refused],
    ]),
    ...node([
      ["NodeStageVolume volume_id", "NodeStageVolume", (v) => stage({ volume_id: v }), refused],
      [
        "NodeStageVolume staging_target_path",
        "NodeStageVolume",
        (v) => stage({ staging_target_path: inScratch(v) }),
        refused,
      ],
      [
        "NodeStageVolume fs_type",
        "NodeStageVolume",
        (v) => stage({ volume_capability: mountWith(v, []) }),
        refused,
      ],
      [
        "NodeStageVolume mount flag",
        "NodeStageVolume",
        (v) => stage({ volume_capability: mountWith("ext4", [v]) }),
        refused,
      ],
      [
        "volume_context transport",
        "NodeStageVolume",
        (v) => stage({ volume_context: { ...nvme, transport: v } }),
        refused,
      ],
      [
        "volume_context nvmeAddress",
        "NodeStageVolume",
        (v) => stage({ volume_context: { ...nvme, nvmeAddress: v } }),
        refused,
      ],
      [
        "volume_context nvmePort",
        "NodeStageVolume",
        (v) => stage({ volume_context: { ...nvme, nvmePort: v } }),
        refused,
      ],
      [
        "volume_context nqn",
        "NodeStageVolume",
        (v) => stage({ volume_context: { ...nvme, nqn: v } }),
        refused,
      ],
      [
        "volume_context backingFile",
        "NodeStageVolume",
        (v) => stage({ volume_context: { transport: "loop", backingFile: `${poolMountPath}/${v}` } }),
        refused,
      ],
      [
        "NodePublishVolume target_path",
        "NodePublishVolume",
        (v) => publishRequest({ staging_target_path: staging, target_path: inScratch(v) }),
        refused,
      ],
      [
        "NodeUnpublishVolume target_path",
        "NodeUnpublishVolume",
        (v) => ({ volume_id: "pvc-x", target_path: inScratch(v) }),
        refused,
      ],
      [
        "NodeUnstageVolume staging_target_path",
        "NodeUnstageVolume",
        (v) => ({ volume_id: "pvc-x", staging_target_path: inScratch(v) }),
        refused,
      ],
      [
        "NodeGetVolumeStats volume_path",
        "NodeGetVolumeStats",
        (v) => statsRequest({ volume_path: inScratch(v) }),
        [...refused, ...missing],
      ],
      [
        "NodeExpandVolume volume_path",
        "NodeExpandVolume",
        (v) => nodeExpandRequest({ volume_path: inScratch(v) }),
        [...refused, ...missing],
      ],
    ]),
  ];
}
