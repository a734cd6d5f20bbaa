import { badArgument } from "./errors.js";
import { checkMountFlags, type FsType, isFsType } from "./validate.js";

/** The parts of a CSI VolumeCapability the node reads (proto-loader shape, snake_case). */
export interface CapabilityInput {
  mount?: { fs_type?: string | null; mount_flags?: readonly string[] | null } | null;
  block?: object | null;
  access_mode?: { mode?: string | number | null } | null;
}

/** How a volume is presented on this node. */
export type VolumeMode =
  | { accessType: "block"; readOnly: boolean; accessMode: string }
  | {
      accessType: "mount";
      /** Requested filesystem; undefined accepts whatever supported filesystem the volume holds. */
      fsType: FsType | undefined;
      mountFlags: string[];
      readOnly: boolean;
      accessMode: string;
    };

const READ_ONLY_MODES = new Set(["SINGLE_NODE_READER_ONLY", "MULTI_NODE_READER_ONLY"]);
const SINGLE_NODE_MODES = new Set([
  "SINGLE_NODE_WRITER",
  "SINGLE_NODE_READER_ONLY",
  "SINGLE_NODE_SINGLE_WRITER",
  "SINGLE_NODE_MULTI_WRITER",
]);

/** Filesystem created on a volume whose capability names none. */
export const DEFAULT_FS_TYPE: FsType = "ext4";

/**
 * Checks a volume capability and reduces it to what staging and publishing need. A filesystem
 * such as ext4 or xfs cannot be mounted by two nodes at once, so multi-node writers are refused
 * for mount volumes; raw block volumes leave coordination to the application.
 */
export function parseCapability(cap: CapabilityInput | null | undefined): VolumeMode {
  if (!cap) throw badArgument("volume_capability is required");
  const given = cap.access_mode?.mode ?? "UNKNOWN";
  // A number is an access mode newer than this proto: not one this node knows how to honour.
  if (typeof given === "number") throw badArgument(`access mode ${given} is not supported`);
  const mode = given;
  if (mode === "UNKNOWN" || mode === "") throw badArgument("volume_capability.access_mode is required");
  const readOnly = READ_ONLY_MODES.has(mode);
  if (cap.block && cap.mount) throw badArgument("volume_capability sets both block and mount");
  if (cap.block) return { accessType: "block", readOnly, accessMode: mode };
  if (!cap.mount) throw badArgument("volume_capability must set an access type (mount or block)");
  if (!SINGLE_NODE_MODES.has(mode) && mode !== "MULTI_NODE_READER_ONLY") {
    throw badArgument(
      `access mode ${mode} is not supported for filesystem volumes: ext4 and xfs are single-node filesystems`,
    );
  }
  const fsType = cap.mount.fs_type ?? "";
  if (fsType !== "" && !isFsType(fsType)) {
    throw badArgument(`fs_type ${JSON.stringify(fsType)} is not supported; use ext4 or xfs`);
  }
  return {
    accessType: "mount",
    fsType: fsType === "" ? undefined : fsType,
    mountFlags: checkMountFlags(cap.mount.mount_flags ?? []),
    readOnly,
    accessMode: mode,
  };
}
