import {
  checkedNames,
  checkedSnapshotNames,
  type KubernetesNames,
  nameProblem,
  type SnapshotNames,
} from "../../storage/index.js";
import { invalidArgument, outOfRange } from "../errors.js";
import type { AccessMode, CapacityRange, StringMap, VolumeCapability } from "../types.js";
import { type ByteRange, parseRange } from "./sizes.js";

/**
 * Request checks shared by the controller RPCs. They run before any lookup, so a malformed request
 * is INVALID_ARGUMENT whether or not the objects it names exist.
 */

/** A volume is one file-backed disk attached by one node at a time. */
const SINGLE_NODE_MODES: ReadonlySet<AccessMode> = new Set([
  "SINGLE_NODE_WRITER",
  "SINGLE_NODE_READER_ONLY",
  "SINGLE_NODE_SINGLE_WRITER",
  "SINGLE_NODE_MULTI_WRITER",
]);

const KNOWN_MODES: ReadonlySet<string> = new Set([
  ...SINGLE_NODE_MODES,
  "MULTI_NODE_READER_ONLY",
  "MULTI_NODE_SINGLE_WRITER",
  "MULTI_NODE_MULTI_WRITER",
]);

/** Keys the Kubernetes sidecars add to class parameters; this driver needs none of them. */
const SIDECAR_PARAMETER_PREFIX = "csi.storage.k8s.io/";

export function requireName(name: string, what: string): string {
  const problem = nameProblem(name);
  if (problem !== undefined) throw invalidArgument(`${what} ${problem}`);
  return name;
}

export function requireId(id: string, what: string): string {
  if (id === "") throw invalidArgument(`${what} is required`);
  return id;
}

export function requireRange(range: CapacityRange | null): ByteRange {
  const parsed = parseRange(range);
  if ("error" in parsed) throw invalidArgument(parsed.error);
  return parsed;
}

/** The StorageClass parameter that chooses the Btrfs pool (`--rds-pools`); absent: the default pool. */
export const POOL_PARAMETER = "pool";

/**
 * Class parameters: the sidecars' own `csi.storage.k8s.io/*` keys and the driver's `known` ones
 * (a StorageClass: `pool`; filesystem type comes from the volume capability). An unknown key is
 * refused rather than ignored, so a typo in a class fails loudly instead of silently doing
 * something else.
 */
export function checkParameters(parameters: StringMap, what: string, known: readonly string[] = []): void {
  for (const key of Object.keys(parameters)) {
    if (!key.startsWith(SIDECAR_PARAMETER_PREFIX) && !known.includes(key)) {
      throw invalidArgument(
        `${what} parameter ${JSON.stringify(key)} is not supported (see src/storage/README.md)`,
      );
    }
  }
}

/** A StorageClass's `pool` parameter; an empty value is refused, not read as the default. */
export function poolParameterOf(parameters: StringMap): string | undefined {
  const pool = parameters[POOL_PARAMETER];
  if (pool === "")
    throw invalidArgument(
      `StorageClass parameter ${POOL_PARAMETER} is empty; leave it out for the default pool`,
    );
  return pool;
}

/** The keys the external-provisioner and csi-snapshotter add with --extra-create-metadata. */
const PV_NAME = "csi.storage.k8s.io/pv/name";
const PVC_NAME = "csi.storage.k8s.io/pvc/name";
const PVC_NAMESPACE = "csi.storage.k8s.io/pvc/namespace";
const SNAPSHOT_NAME = "csi.storage.k8s.io/volumesnapshot/name";
const SNAPSHOT_NAMESPACE = "csi.storage.k8s.io/volumesnapshot/namespace";
const SNAPSHOT_CONTENT_NAME = "csi.storage.k8s.io/volumesnapshotcontent/name";

/** The PV and claim a CreateVolume is for; names Kubernetes would not allow are dropped. */
export function kubernetesNamesOf(parameters: StringMap): KubernetesNames | undefined {
  return checkedNames({
    pv: parameters[PV_NAME],
    pvcNamespace: parameters[PVC_NAMESPACE],
    pvcName: parameters[PVC_NAME],
  });
}

/** The VolumeSnapshot (and its content) a CreateSnapshot is for, recorded on the RDS; names Kubernetes would not allow are dropped. */
export function snapshotNamesFor(parameters: StringMap): SnapshotNames | undefined {
  return checkedSnapshotNames({
    namespace: parameters[SNAPSHOT_NAMESPACE],
    name: parameters[SNAPSHOT_NAME],
    content: parameters[SNAPSHOT_CONTENT_NAME],
  });
}

/** The VolumeSnapshot (and its content) a CreateSnapshot is for, for the logs. */
export function snapshotNamesOf(parameters: StringMap): Record<string, string> {
  const names: Record<string, string> = {};
  const namespace = parameters[SNAPSHOT_NAMESPACE];
  const name = parameters[SNAPSHOT_NAME];
  if (namespace !== undefined && name !== undefined) names.volumeSnapshot = `${namespace}/${name}`;
  const content = parameters[SNAPSHOT_CONTENT_NAME];
  if (content !== undefined) names.volumeSnapshotContent = content;
  return names;
}

/** Why a capability is malformed (INVALID_ARGUMENT), or undefined. */
function malformed(cap: VolumeCapability, index: number): string | undefined {
  if (cap.access_type !== "block" && cap.access_type !== "mount") {
    return `volume_capabilities[${index}] sets neither block nor mount`;
  }
  const mode = cap.access_mode?.mode;
  if (mode === undefined || typeof mode !== "string" || !KNOWN_MODES.has(mode)) {
    return `volume_capabilities[${index}] has no valid access_mode`;
  }
  return undefined;
}

/** Why a well-formed capability cannot be served, or undefined when it can. */
function unsupported(cap: VolumeCapability, index: number): string | undefined {
  const mode = cap.access_mode?.mode;
  if (typeof mode === "string" && SINGLE_NODE_MODES.has(mode as AccessMode)) return undefined;
  if (isSharedBlock(cap)) return undefined;
  return (
    `volume_capabilities[${index}] access mode ${String(mode)} is not supported: volumes attach to ` +
    "one node at a time, except raw block volumes with MULTI_NODE_MULTI_WRITER"
  );
}

/**
 * Raw block with MULTI_NODE_MULTI_WRITER: several nodes may hold it at once (live migration), the
 * writers coordinate themselves. No filesystem here is safe to mount on two nodes.
 */
export function isSharedBlock(cap: VolumeCapability): boolean {
  return cap.access_type === "block" && cap.access_mode?.mode === "MULTI_NODE_MULTI_WRITER";
}

/** CreateVolume: every capability must be well-formed and supported. */
export function requireSupportedCapabilities(caps: readonly VolumeCapability[]): void {
  if (caps.length === 0) throw invalidArgument("volume_capabilities is required");
  caps.forEach((cap, i) => {
    const problem = malformed(cap, i) ?? unsupported(cap, i);
    if (problem !== undefined) throw invalidArgument(problem);
  });
}

/**
 * ValidateVolumeCapabilities: malformed input is INVALID_ARGUMENT; a well-formed but unsupported
 * capability is an answer ("not confirmed"), returned as the reason.
 */
export function capabilitiesVerdict(caps: readonly VolumeCapability[]): string | undefined {
  if (caps.length === 0) throw invalidArgument("volume_capabilities is required");
  caps.forEach((cap, i) => {
    const problem = malformed(cap, i);
    if (problem !== undefined) throw invalidArgument(problem);
  });
  for (const [i, cap] of caps.entries()) {
    const problem = unsupported(cap, i);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

/** mkfs.xfs refuses filesystems below 300 MB; ext4 has no practical minimum. */
const XFS_MINIMUM_BYTES = 300n * 1024n * 1024n;

/**
 * Raises required_bytes to the smallest size the requested filesystem can be made on, so a small
 * xfs request gets a volume the node can format instead of a failed mount later. A limit below
 * that minimum is OUT_OF_RANGE.
 */
export function filesystemMinimum(range: ByteRange, capabilities: readonly VolumeCapability[]): ByteRange {
  const wantsXfs = capabilities.some((cap) => cap.mount?.fs_type?.toLowerCase() === "xfs");
  if (!wantsXfs || range.required >= XFS_MINIMUM_BYTES) return range;
  if (range.limit > 0n && range.limit < XFS_MINIMUM_BYTES) {
    throw outOfRange(
      `xfs needs a volume of at least ${XFS_MINIMUM_BYTES} bytes; limit_bytes is ${range.limit}`,
    );
  }
  return { required: XFS_MINIMUM_BYTES, limit: range.limit };
}
