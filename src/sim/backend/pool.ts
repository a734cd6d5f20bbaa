import { existsSync } from "node:fs";
import { mkdir, open, rm, statfs } from "node:fs/promises";
import path from "node:path";
import { detachWithin, type ReleaseOptions, unmountWithin } from "./release.js";
import { CommandFailed, run } from "./run.js";

/** How long stopping may wait for the kernel to let go of the mount and the loop device. */
const RELEASE: ReleaseOptions = { timeoutMs: 15_000 };

export interface PoolOptions {
  readonly dataDir: string;
  readonly size: bigint;
  /** Btrfs label (the `fs=` argument) and RouterOS mount-point name. */
  readonly label: string;
}

export class PoolSetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PoolSetupError";
  }
}

/**
 * The storage pool: a sparse Btrfs image in the data directory, attached to a loop device and mounted
 * at `<dataDir>/mnt`. A restart finds the same image and filesystem again.
 */
export class Pool {
  private constructor(
    readonly imagePath: string,
    readonly mountPath: string,
    readonly loopDevice: string,
    readonly label: string,
    readonly uuid: string,
  ) {}

  static async open(options: PoolOptions): Promise<Pool> {
    assertCanMount();
    const imagePath = path.join(options.dataDir, "pool.img");
    const mountPath = path.join(options.dataDir, "mnt");
    await mkdir(mountPath, { recursive: true });
    await releaseStale(imagePath, mountPath);
    if (!existsSync(imagePath)) await createImage(imagePath, options);
    const loopDevice = (await step("attach a loop device", "losetup", ["-f", "--show", imagePath])).trim();
    try {
      await mountPool(loopDevice, mountPath);
    } catch (e) {
      await detachWithin(loopDevice, imagePath, RELEASE).catch(() => undefined);
      throw e;
    }
    // `-p` reads the superblock itself: blkid's cache may still hold the filesystem a reused loop
    // device carried before (another pool's, or this pool's before a restart onto another device).
    const uuid = (await run("blkid", ["-p", "-s", "UUID", "-o", "value", loopDevice]).catch(() => "")).trim();
    return new Pool(imagePath, mountPath, loopDevice, options.label, uuid);
  }

  /**
   * Unmounts and detaches, and returns only once the kernel has released both (or throws a
   * ReleaseError saying what is left after the bound); safe to call twice.
   */
  async close(): Promise<void> {
    await unmountWithin(this.mountPath, RELEASE);
    await detachWithin(this.loopDevice, this.imagePath, RELEASE);
  }

  /** Live capacity of the mounted filesystem. */
  async capacity(): Promise<{ size: bigint; free: bigint }> {
    const s = await statfs(this.mountPath, { bigint: true });
    return { size: s.blocks * s.bsize, free: s.bavail * s.bsize };
  }
}

/** Fails early, before anything is created, when loop devices cannot be attached here. */
export function assertCanMount(): void {
  if (typeof process.getuid === "function" && process.getuid() !== 0) {
    throw new PoolSetupError(
      `must run as root to attach a loop device and mount Btrfs (running as uid ${process.getuid()})`,
    );
  }
  if (!existsSync("/dev/loop-control")) {
    throw new PoolSetupError("no loop device support: /dev/loop-control is missing (modprobe loop?)");
  }
}

async function step(what: string, file: string, args: readonly string[]): Promise<string> {
  try {
    return await run(file, args);
  } catch (e) {
    if (e instanceof CommandFailed)
      throw new PoolSetupError(`cannot ${what}: ${e.stderr.trim() || e.message}`);
    throw e;
  }
}

async function createImage(imagePath: string, options: PoolOptions): Promise<void> {
  const handle = await open(imagePath, "w");
  try {
    await handle.truncate(Number(options.size));
  } finally {
    await handle.close();
  }
  try {
    await step("create the Btrfs filesystem", "mkfs.btrfs", ["-q", "-f", "-L", options.label, imagePath]);
  } catch (e) {
    await rm(imagePath, { force: true });
    throw e;
  }
}

/**
 * Mounts the pool, dropping the loop device's cached blocks first. A device just detached from
 * another file (a short-lived image, another pool) can keep blocks read from that file while it was
 * attached, when udev's probe of the device races the detach; the mount then reads a stale
 * superblock ("bad superblock on /dev/loopN"). Flushed and tried again, 3 times in all.
 */
async function mountPool(device: string, mountPath: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    await run("blockdev", ["--flushbufs", device]).catch(() => undefined);
    try {
      await step("mount the Btrfs pool", "mount", ["-t", "btrfs", device, mountPath]);
      return;
    } catch (e) {
      if (attempt >= 3) throw e;
      await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
    }
  }
}

/** After a crash: unmount a leftover mount of ours and detach loop devices still bound to the image. */
async function releaseStale(imagePath: string, mountPath: string): Promise<void> {
  await unmountWithin(mountPath, RELEASE);
  if (!existsSync(imagePath)) return;
  const listing = await run("losetup", ["-j", imagePath]).catch(() => "");
  for (const line of listing.split("\n")) {
    const device = line.split(":")[0]?.trim();
    if (device) await detachWithin(device, imagePath, RELEASE);
  }
}
