import { readMountTable } from "./mountinfo.js";
import { deviceHolders, deviceNumber } from "./sysfs.js";

/** Why a block device is busy on this node, or undefined when nothing uses it. */
export type DeviceUsageProbe = (kernelName: string) => Promise<string | undefined>;

/**
 * A device is in use when a filesystem on it is mounted anywhere, when its device node is
 * bind-mounted (a published raw block volume), or when another block device sits on it.
 */
export function deviceUsageProbe(paths: { sysfsRoot: string; mountInfoPath: string }): DeviceUsageProbe {
  return async (name) => {
    const table = await readMountTable(paths.mountInfoPath);
    const number = await deviceNumber(paths.sysfsRoot, name);
    const mounted = table.ofDevice(number)[0];
    if (mounted) return `mounted at ${mounted.mountPoint}`;
    // A bind of /dev/<name> shows the devtmpfs (or the /dev tmpfs of a container) with the node's
    // path inside it as the mount root.
    const bound = table.entries.find(
      (e) => e.root === `/${name}` && (e.fsType === "devtmpfs" || e.fsType === "tmpfs"),
    );
    if (bound) return `bound at ${bound.mountPoint}`;
    const holders = await deviceHolders(paths.sysfsRoot, name);
    if (holders.length > 0) return `held by ${holders.join(", ")}`;
    return undefined;
  };
}
