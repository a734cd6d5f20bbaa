import type { BigIntStats } from "node:fs";
import { stat } from "node:fs/promises";
import type { NodeEnv } from "./env.js";
import { missing } from "./errors.js";
import { canonicalPath } from "./mounter.js";
import type { MountEntry } from "./mountinfo.js";
import { readRecord, stagingLayout } from "./staging.js";
import { deviceNameOf, isMissing } from "./sysfs.js";

/** What is found at a volume_path given to NodeGetVolumeStats or NodeExpandVolume. */
export type VolumeAtPath =
  /** A published or staged raw block volume: a device node. */
  | { kind: "block"; path: string; deviceName: string | undefined }
  /** A directory with a mount on it. */
  | { kind: "mounted"; path: string; entry: MountEntry; deviceName: string | undefined }
  /** A directory or file where the volume should be but nothing is mounted. */
  | { kind: "unmounted"; path: string };

/** "major:minor" from a stat rdev, as glibc encodes it. */
export function splitDeviceNumber(rdev: bigint): string {
  const major = ((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn);
  const minor = (rdev & 0xffn) | ((rdev >> 12n) & ~0xffn);
  return `${major}:${minor}`;
}

/**
 * Resolves a volume path. Any path where the volume was staged or published is accepted; a
 * staging directory is followed to the mount inside it. A path that does not exist is NOT_FOUND.
 */
export async function volumeAtPath(env: NodeEnv, volumePath: string): Promise<VolumeAtPath> {
  if (!volumePath.startsWith("/"))
    throw missing(`volume path ${JSON.stringify(volumePath)} does not exist (not absolute)`);
  let path = await canonicalPath(volumePath);
  let info: BigIntStats;
  try {
    info = await stat(path, { bigint: true });
  } catch (err) {
    if (isMissing(err)) throw missing(`volume path ${volumePath} does not exist`);
    throw err;
  }
  if (info.isDirectory()) {
    const record = await readRecord(stagingLayout(path));
    if (record) {
      const layout = stagingLayout(path);
      path = record.accessType === "mount" ? layout.fsDir : layout.blockFile;
      info = await stat(path, { bigint: true }).catch(() => info);
    }
  }
  if (info.isBlockDevice()) {
    return {
      kind: "block",
      path,
      deviceName: await deviceNameOf(env.sysfsRoot, splitDeviceNumber(info.rdev)),
    };
  }
  const entry = await env.mounter.mountAt(path);
  if (!entry) return { kind: "unmounted", path };
  return { kind: "mounted", path, entry, deviceName: await deviceNameOf(env.sysfsRoot, entry.device) };
}
