import { readdir, readFile, readlink } from "node:fs/promises";
import path from "node:path";
import { CommandFailed, run } from "./run.js";

/**
 * Giving the pool back to the kernel, in bounded time. Both steps can lag behind the command that
 * asked for them: `umount` answers EBUSY while a btrfs tool started by an in-flight command still
 * holds the filesystem, and `losetup -d` on a device that something (udev's blkid, a closing mount)
 * still has open only marks it for detaching once the last holder lets go. Stopping is finished only
 * when both are really gone; otherwise the caller learns exactly what is left.
 */

export interface ReleaseOptions {
  /** Upper bound for each step. */
  readonly timeoutMs: number;
  /** First pause between attempts; doubles up to a quarter of a second. */
  readonly pollMs?: number;
}

export class ReleaseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ReleaseError";
  }
}

/** Unmounts `mountPath`, retrying while it is busy; resolves at once when it is not mounted. */
export async function unmountWithin(mountPath: string, options: ReleaseOptions): Promise<void> {
  let lastError = "";
  const done = await retryUntil(options, async () => {
    if (!(await isMounted(mountPath))) return true;
    try {
      await run("umount", [mountPath]);
    } catch (e) {
      if (!(e instanceof CommandFailed)) throw e;
      lastError = e.stderr.trim() || e.message;
    }
    return !(await isMounted(mountPath));
  });
  if (!done) {
    throw new ReleaseError(
      `${mountPath} is still mounted after ${options.timeoutMs} ms${lastError ? `: ${lastError}` : ""}`,
    );
  }
}

/**
 * Detaches `device` from `imagePath` and waits until the kernel has let it go. Only a device still
 * backed by this image counts: once released, the same name may already serve someone else's file.
 */
export async function detachWithin(
  device: string,
  imagePath: string,
  options: ReleaseOptions,
): Promise<void> {
  const done = await retryUntil(options, async () => {
    if (!(await isBackedBy(device, imagePath))) return true;
    // A deferred detach, or a device already gone, is not an error; the read-back decides.
    await run("losetup", ["-d", device]).catch(() => undefined);
    return !(await isBackedBy(device, imagePath));
  });
  if (!done) {
    const holders = [...(await holdersOf(device)), ...(await namespacesMounting(device))];
    throw new ReleaseError(
      `${device} is still attached to ${imagePath} after ${options.timeoutMs} ms` +
        (holders.length > 0 ? ` (held by ${holders.join(", ")})` : " (still open)"),
    );
  }
}

/** True when /proc/self/mountinfo lists `mountPath` as a mount point. */
export async function isMounted(mountPath: string): Promise<boolean> {
  const info = await readFile("/proc/self/mountinfo", "utf8");
  const target = path.resolve(mountPath);
  return info.split("\n").some((line) => line.split(" ")[4] === target);
}

/** The file the kernel says backs `device`, or undefined when it is not attached. */
async function backingFile(device: string): Promise<string | undefined> {
  try {
    return (await readFile(`/sys/block/${path.basename(device)}/loop/backing_file`, "utf8")).trim();
  } catch {
    return undefined;
  }
}

async function isBackedBy(device: string, imagePath: string): Promise<boolean> {
  const file = await backingFile(device);
  return file !== undefined && file.replace(/ \(deleted\)$/, "") === path.resolve(imagePath);
}

async function holdersOf(device: string): Promise<string[]> {
  return readdir(`/sys/block/${path.basename(device)}/holders`).catch(() => []);
}

/**
 * Processes in other mount namespaces that still have the device mounted: a namespace made while
 * the pool was mounted (a container started meanwhile, say) keeps its own copy of the mount, and
 * with it the device, after the unmount here. Named so the message says who to look at.
 */
async function namespacesMounting(device: string): Promise<string[]> {
  const found = new Map<string, string>();
  for (const pid of (await readdir("/proc").catch(() => [])).filter((p) => /^\d+$/.test(p))) {
    const info = await readFile(`/proc/${pid}/mountinfo`, "utf8").catch(() => "");
    if (!info.split("\n").some((line) => line.split(" - ")[1]?.split(" ")[1] === device)) continue;
    const namespace = await readlink(`/proc/${pid}/ns/mnt`).catch(() => "?");
    if (found.has(namespace)) continue;
    const command = (await readFile(`/proc/${pid}/comm`, "utf8").catch(() => "?")).trim();
    found.set(namespace, `a mount in ${namespace} of pid ${pid} (${command})`);
  }
  return [...found.values()];
}

async function retryUntil(options: ReleaseOptions, attempt: () => Promise<boolean>): Promise<boolean> {
  const deadline = Date.now() + options.timeoutMs;
  let pause = options.pollMs ?? 20;
  for (;;) {
    if (await attempt()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, Math.min(pause, Math.max(0, deadline - Date.now()))));
    pause = Math.min(pause * 2, 250);
  }
}
