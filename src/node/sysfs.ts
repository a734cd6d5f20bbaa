import { readdir, readFile, readlink } from "node:fs/promises";
import { basename, join } from "node:path";

/*
 * Block-device facts read from sysfs rather than from tool output: the kernel's own view, exact,
 * and easy to fake in a temporary directory for unit tests. `root` is "/sys" in production.
 */

export const SYSFS = "/sys";

async function readTrimmed(path: string): Promise<string> {
  return (await readFile(path, "utf8")).trim();
}

/** "major:minor" of a block device by its kernel name ("loop3", "nvme0n1"). */
export async function deviceNumber(root: string, name: string): Promise<string> {
  return readTrimmed(join(root, "class/block", name, "dev"));
}

/** Kernel name of the block device with number "major:minor", or undefined if there is none. */
export async function deviceNameOf(root: string, number: string): Promise<string | undefined> {
  try {
    return basename(await readlink(join(root, "dev/block", number)));
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw err;
  }
}

/** Exact size in bytes; sysfs counts 512-byte sectors whatever the logical block size. */
export async function deviceSizeBytes(root: string, name: string): Promise<bigint> {
  return BigInt(await readTrimmed(join(root, "class/block", name, "size"))) * 512n;
}

/** Kernel names of devices stacked on this one (dm, md); a device with holders is in use. */
export async function deviceHolders(root: string, name: string): Promise<string[]> {
  try {
    return await readdir(join(root, "class/block", name, "holders"));
  } catch (err) {
    if (isMissing(err)) return [];
    throw err;
  }
}

export function isMissing(err: unknown): boolean {
  return err instanceof Error && "code" in err && (err.code === "ENOENT" || err.code === "ENOTDIR");
}

/** "/dev/loop3" → "loop3". */
export function kernelName(devicePath: string): string {
  return basename(devicePath);
}
