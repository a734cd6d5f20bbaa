import type { NodeEnv, OpCall } from "./env.js";
import { badArgument, notReady } from "./errors.js";
import { growMounted } from "./filesystem.js";
import { deviceSizeBytes } from "./sysfs.js";
import type { Transport } from "./transport.js";
import { isFsType } from "./validate.js";
import { volumeAtPath } from "./volume-path.js";

export interface ExpandRequest {
  volumeId: string;
  volumePath: string;
  /** The size the controller grew the volume to, when the CO says. */
  requiredBytes: bigint | undefined;
}

function transportOwning(env: NodeEnv, device: string): Transport {
  for (const t of Object.values(env.transports)) if (t?.owns(device)) return t;
  throw badArgument(`${device} was not attached by an enabled transport`);
}

/**
 * Makes the node see the grown device (loop capacity refresh, NVMe namespace rescan), then grows
 * the filesystem on it. Block volumes only need the refresh. Returns the device size in bytes.
 */
export async function expandVolume(env: NodeEnv, req: ExpandRequest, call: OpCall): Promise<bigint> {
  const found = await volumeAtPath(env, req.volumePath);
  if (found.kind === "unmounted")
    throw notReady(`nothing is mounted at ${req.volumePath}; the volume is not published`);
  if (found.deviceName === undefined) throw notReady(`the device behind ${req.volumePath} is gone`);
  const device = `/dev/${found.deviceName}`;
  await transportOwning(env, device).refresh(device, { signal: call.signal, log: call.log });
  const size = await deviceSizeBytes(env.sysfsRoot, found.deviceName);
  if (req.requiredBytes !== undefined && size < req.requiredBytes) {
    throw notReady(
      `${device} is ${size} bytes after a rescan, less than the requested ${req.requiredBytes}; expand the volume on the controller first`,
    );
  }
  if (found.kind === "block") return size;
  const { entry } = found;
  if (!isFsType(entry.fsType))
    throw badArgument(`${req.volumePath} holds ${entry.fsType}, which this driver does not grow`);
  if (entry.superOptions.includes("ro"))
    throw notReady(`the filesystem at ${req.volumePath} is mounted read-only and cannot grow`);
  await growMounted(env.run, entry.fsType, device, found.path, call);
  call.log.info({ device, bytes: String(size), fsType: entry.fsType }, "volume expanded");
  return size;
}
