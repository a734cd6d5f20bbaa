import { broken } from "./errors.js";
import { CommandError, type CommandRunner, exitedWith, type RunOptions } from "./exec.js";
import { checkAbsolutePath, checkDevicePath, type FsType } from "./validate.js";

/** What blkid finds at the start (and end) of a device. */
export type DeviceContent =
  | { kind: "empty" }
  | { kind: "filesystem"; fsType: string; uuid?: string }
  /** A partition table, RAID member, LUKS header, or several conflicting signatures. */
  | { kind: "other"; description: string };

/** Parses `blkid -o export` (KEY=value lines). */
export function parseBlkidExport(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const eq = line.indexOf("=");
    if (eq > 0) out[line.slice(0, eq)] = line.slice(eq + 1).replace(/\\(.)/g, "$1");
  }
  return out;
}

/**
 * Low-level probe (`-p`: reads the device itself, never the blkid cache). Only an "empty" answer
 * allows mkfs: a restored or cloned volume carries its filesystem and must never be formatted.
 */
export async function probeDevice(
  run: CommandRunner,
  device: string,
  options: RunOptions = {},
): Promise<DeviceContent> {
  let stdout: string;
  try {
    ({ stdout } = await run("blkid", ["-p", "-o", "export", "--", checkDevicePath(device)], options));
  } catch (err) {
    // 2: no signature at all. 8: ambivalent (several signatures) — never "empty".
    if (exitedWith(err, 2)) return { kind: "empty" };
    if (exitedWith(err, 8)) return { kind: "other", description: "several conflicting signatures" };
    throw err;
  }
  const tags = parseBlkidExport(stdout);
  if (tags.PTTYPE) return { kind: "other", description: `a ${tags.PTTYPE} partition table` };
  if (tags.TYPE && (tags.USAGE === undefined || tags.USAGE === "filesystem")) {
    return tags.UUID
      ? { kind: "filesystem", fsType: tags.TYPE, uuid: tags.UUID }
      : { kind: "filesystem", fsType: tags.TYPE };
  }
  if (tags.TYPE) return { kind: "other", description: `a ${tags.TYPE} signature (${tags.USAGE})` };
  return { kind: "other", description: `unrecognised blkid output: ${stdout.trim().slice(0, 200)}` };
}

/**
 * Creates a filesystem on an empty device. Discard at mkfs time is skipped: a new volume is a
 * sparse file on the RDS already, and discarding terabytes over NVMe/TCP only costs time.
 */
export async function makeFilesystem(
  run: CommandRunner,
  device: string,
  fsType: FsType,
  options: RunOptions = {},
): Promise<void> {
  const dev = checkDevicePath(device);
  if (fsType === "ext4") await run("mkfs.ext4", ["-q", "-E", "nodiscard", "--", dev], options);
  else await run("mkfs.xfs", ["-q", "-K", "--", dev], options);
}

/** Size of an ext4 filesystem in bytes, from its superblock. */
export async function ext4SizeBytes(
  run: CommandRunner,
  device: string,
  options: RunOptions = {},
): Promise<bigint> {
  const { stdout } = await run("dumpe2fs", ["-h", "--", checkDevicePath(device)], options);
  const count = /^Block count:\s+(\d+)$/m.exec(stdout)?.[1];
  const size = /^Block size:\s+(\d+)$/m.exec(stdout)?.[1];
  if (!count || !size) throw broken(`cannot read the ext4 geometry of ${device} from dumpe2fs`);
  return BigInt(count) * BigInt(size);
}

/**
 * Grows an unmounted ext4 filesystem to the size of its device. resize2fs insists on a forced
 * check first; e2fsck exit 1 and 2 mean "errors corrected", which is fine to continue from.
 */
export async function growExt4Offline(
  run: CommandRunner,
  device: string,
  options: RunOptions = {},
): Promise<void> {
  const dev = checkDevicePath(device);
  try {
    await run("e2fsck", ["-f", "-p", "--", dev], options);
  } catch (err) {
    if (!exitedWith(err, 1, 2)) throw err;
  }
  await run("resize2fs", ["--", dev], options);
}

/**
 * Grows a mounted filesystem to the size of its device. Online ext4 growth needs
 * CAP_SYS_RESOURCE; the node plugin runs privileged.
 */
export async function growMounted(
  run: CommandRunner,
  fsType: FsType,
  device: string,
  mountPoint: string,
  options: RunOptions = {},
): Promise<void> {
  try {
    if (fsType === "ext4") await run("resize2fs", ["--", checkDevicePath(device)], options);
    else await run("xfs_growfs", ["-d", "--", checkAbsolutePath(mountPoint, "mount point")], options);
  } catch (err) {
    if (err instanceof CommandError && /Permission denied/i.test(err.stderr)) {
      throw broken(
        `growing ${fsType} on ${device} online was refused by the kernel (needs CAP_SYS_RESOURCE): ${err.stderr.trim()}`,
      );
    }
    throw err;
  }
}
