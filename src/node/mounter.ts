import { realpath } from "node:fs/promises";
import { broken } from "./errors.js";
import type { CommandRunner, RunOptions } from "./exec.js";
import { type MountEntry, type MountTable, readMountTable } from "./mountinfo.js";
import { isMissing } from "./sysfs.js";
import { checkAbsolutePath, checkDevicePath } from "./validate.js";

/** The path as the mount table spells it (symlinks resolved), or the path itself if it does not exist. */
export async function canonicalPath(path: string): Promise<string> {
  try {
    return await realpath(path);
  } catch (err) {
    if (isMissing(err)) return path;
    throw err;
  }
}

// Stacked mounts at one path happen after a crash between mount and bookkeeping; a bounded loop
// peels them without risking an endless one.
const MAX_STACKED_UNMOUNTS = 16;

/** mount/umount through util-linux, with the mount table read back from mountinfo. */
export class Mounter {
  constructor(
    private readonly run: CommandRunner,
    private readonly mountInfoPath: string,
  ) {}

  table(): Promise<MountTable> {
    return readMountTable(this.mountInfoPath);
  }

  /** The top-most mount at `path`, if any. */
  async mountAt(path: string): Promise<MountEntry | undefined> {
    return (await this.table()).at(await canonicalPath(path));
  }

  async mountFilesystem(
    device: string,
    target: string,
    fsType: string,
    options: readonly string[],
    call: RunOptions = {},
  ): Promise<void> {
    const args = ["-t", fsType];
    if (options.length > 0) args.push("-o", options.join(","));
    args.push("--", checkDevicePath(device), checkAbsolutePath(target, "mount target"));
    await this.run("mount", args, call);
  }

  /**
   * Bind-mounts `source` (a directory or a device node) at `target`. Read-only needs a second,
   * remount step; if it fails the writable bind is taken down again rather than left behind.
   */
  async bind(source: string, target: string, readOnly: boolean, call: RunOptions = {}): Promise<void> {
    const src = checkAbsolutePath(source, "bind source");
    const dst = checkAbsolutePath(target, "bind target");
    await this.run("mount", ["--bind", "--", src, dst], call);
    if (!readOnly) return;
    try {
      await this.run("mount", ["-o", "remount,bind,ro", "--", dst], call);
    } catch (err) {
      await this.run("umount", ["--", dst], call).catch(() => undefined);
      throw err;
    }
  }

  /** Unmounts everything stacked at `path`; returns how many mounts were removed. */
  async unmountAll(path: string, call: RunOptions = {}): Promise<number> {
    const target = checkAbsolutePath(await canonicalPath(path), "unmount target");
    for (let removed = 0; removed < MAX_STACKED_UNMOUNTS; removed++) {
      if (!(await this.table()).at(target)) return removed;
      await this.run("umount", ["--", target], call);
    }
    throw broken(`${path} still has mounts after ${MAX_STACKED_UNMOUNTS} unmounts`);
  }
}
