import { statfs } from "node:fs/promises";
import type { NodeEnv } from "./env.js";
import { deviceSizeBytes } from "./sysfs.js";
import type { Transport } from "./transport.js";
import { volumeAtPath } from "./volume-path.js";

export interface Usage {
  unit: "BYTES" | "INODES";
  total: bigint;
  available: bigint;
  used: bigint;
}

export interface VolumeStats {
  usage: Usage[];
  condition: { abnormal: boolean; message: string };
}

const healthy = { abnormal: false, message: "volume is mounted and readable" };

/** Byte and inode usage of the filesystem mounted at `path` (statfs, exact). */
export async function filesystemUsage(path: string): Promise<Usage[]> {
  const s = await statfs(path, { bigint: true });
  return [
    {
      unit: "BYTES",
      total: s.blocks * s.bsize,
      available: s.bavail * s.bsize,
      used: (s.blocks - s.bfree) * s.bsize,
    },
    { unit: "INODES", total: s.files, available: s.ffree, used: s.files - s.ffree },
  ];
}

async function transportCondition(env: NodeEnv, device: string): Promise<string | undefined> {
  const owner: Transport | undefined = Object.values(env.transports).find((t) => t?.owns(device));
  return owner?.condition ? owner.condition(device) : undefined;
}

/**
 * Usage and health of a staged or published volume. A path that exists but has lost its mount
 * or device reports an abnormal condition rather than an error, so the CO can surface it.
 */
export async function volumeStats(env: NodeEnv, volumePath: string): Promise<VolumeStats> {
  const found = await volumeAtPath(env, volumePath);
  if (found.kind === "unmounted") {
    return { usage: [], condition: { abnormal: true, message: `nothing is mounted at ${volumePath}` } };
  }
  if (found.deviceName === undefined) {
    return {
      usage: [],
      condition: { abnormal: true, message: `the device behind ${volumePath} no longer exists` },
    };
  }
  const device = `/dev/${found.deviceName}`;
  const problem = await transportCondition(env, device);
  if (found.kind === "block") {
    const total = await deviceSizeBytes(env.sysfsRoot, found.deviceName);
    return {
      usage: [{ unit: "BYTES", total, available: 0n, used: 0n }],
      condition: problem ? { abnormal: true, message: problem } : healthy,
    };
  }
  try {
    const usage = await filesystemUsage(found.path);
    return { usage, condition: problem ? { abnormal: true, message: problem } : healthy };
  } catch (err) {
    return { usage: [], condition: { abnormal: true, message: `cannot read ${volumePath}: ${String(err)}` } };
  }
}
