import { lstat, readdir, readFile, realpath } from "node:fs/promises";
import { dirname, join } from "node:path";
import { badArgument, broken, missing, notReady } from "./errors.js";
import type { CommandRunner } from "./exec.js";
import { connectedThroughTarget, connectThroughTarget } from "./loop-target.js";
import { isMissing, kernelName } from "./sysfs.js";
import type { LoopTarget, Transport, TransportCall, VolumeTarget } from "./transport.js";
import type { DeviceUsageProbe } from "./usage.js";
import { checkDevicePath } from "./validate.js";

export interface LoopTransportOptions {
  run: CommandRunner;
  /**
   * Backing files must lie inside this directory (the host path of the emulator's pool). A
   * volume_context naming any other file is refused: the node would otherwise format whatever file
   * a PersistentVolume pointed at.
   */
  allowedRoot: string;
  sysfsRoot: string;
  inUse: DeviceUsageProbe;
  /**
   * The emulator's NVMe target stand-in and the host NQN this node presents to it. With both set,
   * every attach is admitted by the target first, as a real `nvme connect` is.
   */
  target?: { socketPath: string; hostNqn: string };
}

const LOOP_DEVICE = /^\/dev\/loop\d+$/;

/** How long a detach waits for the kernel to release a device that was still open. */
const DETACH_WAIT_MS = 10_000;

function loopTarget(target: VolumeTarget): LoopTarget {
  if (target.transport !== "loop") throw broken(`loop transport given a ${target.transport} volume`);
  return target;
}

/**
 * Volumes of a local `rds-csi sim`: the volume's disk.img, attached with a loop device. The
 * attachment is found again by its backing file, so no state is kept here.
 */
export class LoopTransport implements Transport {
  readonly kind = "loop";

  constructor(private readonly options: LoopTransportOptions) {}

  owns(devicePath: string): boolean {
    return LOOP_DEVICE.test(devicePath);
  }

  async check(target: VolumeTarget): Promise<void> {
    const { backingFile } = loopTarget(target);
    let real: string;
    try {
      real = await realpath(backingFile);
    } catch (err) {
      if (!isMissing(err)) throw err;
      await this.realPathOfDeleted(backingFile);
      return;
    }
    await this.refuseOutsideRoot(backingFile, real);
  }

  async attach(target: VolumeTarget, call: TransportCall): Promise<string> {
    const loop = loopTarget(target);
    const file = await this.checkedBackingFile(loop);
    // Asked even when this host already has a device: two test "nodes" share one kernel.
    if (this.options.target) {
      await connectThroughTarget({
        ...this.options.target,
        subsystem: loop.nqn,
        file: loop.backingFile,
        signal: call.signal,
      });
    }
    const existing = await this.attachedDevices(file, call);
    if (existing[0]) return existing[0];
    const { stdout } = await this.options.run("losetup", ["--find", "--show", "--", file], {
      signal: call.signal,
    });
    const device = checkDevicePath(stdout.trim());
    call.log?.info({ device, backingFile: file }, "loop device attached");
    return device;
  }

  async find(target: VolumeTarget, call: TransportCall): Promise<string | undefined> {
    const { backingFile } = loopTarget(target);
    return (await this.attachedDevices(backingFile, call))[0];
  }

  async detach(target: VolumeTarget, call: TransportCall): Promise<void> {
    const { backingFile } = loopTarget(target);
    for (const device of await this.attachedDevices(backingFile, call)) {
      const busy = await this.options.inUse(kernelName(device));
      if (busy) throw notReady(`${device} (${backingFile}) is still in use: ${busy}`);
      const bound = await this.backingFileOf(device);
      try {
        // losetup reads "--" as a device name with -d/-c; the device path is checked instead.
        await this.options.run("losetup", ["--detach", device], { signal: call.signal });
      } catch (err) {
        // Already gone (a concurrent detach, or autoclear): the outcome wanted.
        if (!(await this.stillAttached(device))) continue;
        throw err;
      }
      if (bound !== undefined) await this.awaitRelease(device, bound);
      call.log?.info({ device, backingFile }, "loop device detached");
    }
  }

  /**
   * `losetup --detach` of a device that something still has open (udev's blkid after the unmount,
   * say) only marks it for release; answering before the kernel lets go would report a device
   * as gone that is still attached. Waits a bounded time, then tells the caller to retry. Only the
   * same binding counts: once released, the device may already serve another volume.
   */
  private async awaitRelease(device: string, backingFile: string): Promise<void> {
    const deadline = Date.now() + DETACH_WAIT_MS;
    const held = async () => (await this.backingFileOf(device)) === backingFile;
    for (let pause = 10; await held(); pause = Math.min(pause * 2, 200)) {
      if (Date.now() >= deadline) {
        throw notReady(
          `${device} (${backingFile}) was detached but the kernel still holds it open after ` +
            `${DETACH_WAIT_MS} ms; retry`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }

  async refresh(devicePath: string, call: TransportCall): Promise<void> {
    if (!this.owns(devicePath)) throw badArgument(`${devicePath} is not a loop device`);
    await this.options.run("losetup", ["--set-capacity", devicePath], { signal: call.signal });
  }

  async volumeOf(devicePath: string): Promise<string | undefined> {
    const backing = (await this.backingFileOf(devicePath))?.replace(/ \(deleted\)$/, "");
    // The emulator's layout: `<pool>/<root>/vols/<volume id>/disk.img`.
    const m = backing === undefined ? null : /\/([^/]+)\/disk\.img$/.exec(backing);
    return m?.[1];
  }

  async condition(devicePath: string): Promise<string | undefined> {
    const backing = await this.backingFileOf(devicePath);
    if (backing === undefined) return `${devicePath} is no longer attached to a file`;
    if (backing.endsWith(" (deleted)")) return `the backing file of ${devicePath} was deleted`;
    const target = this.options.target;
    if (target && !(await connectedThroughTarget({ ...target, file: backing }))) {
      return `the RDS ended the session of host ${target.hostNqn} to ${backing}`;
    }
    return undefined;
  }

  /** Resolves the file and refuses anything outside the allowed root or not a regular file. */
  private async checkedBackingFile(target: LoopTarget): Promise<string> {
    let real: string;
    try {
      real = await realpath(target.backingFile);
    } catch (err) {
      if (isMissing(err)) throw missing(`backing file ${target.backingFile} does not exist`);
      throw err;
    }
    await this.refuseOutsideRoot(target.backingFile, real);
    if (!(await lstat(real)).isFile()) {
      throw badArgument(`backing file ${target.backingFile} is not a regular file`);
    }
    return real;
  }

  /**
   * find and detach obey the same boundary as attach: a rolled-back stage of a refused
   * volume_context must not detach a loop device the host made for some other file.
   */
  private async refuseOutsideRoot(given: string, real: string): Promise<void> {
    const root = await realpath(this.rootOf(given));
    if (!real.startsWith(`${root}/`)) {
      throw badArgument(`backing file ${given} is outside the allowed directory ${this.options.allowedRoot}`);
    }
  }

  /**
   * The allowed directory a given path claims to be in: the pool's, or that of a pool the emulator
   * mounts beside it (`<data dir>/pools/<name>/mnt`, `--extra-pool`); realpath decides after.
   */
  private rootOf(file: string): string {
    const root = this.options.allowedRoot.replace(/\/+$/, "");
    const pools = join(dirname(root), "pools");
    const m = file.startsWith(`${pools}/`)
      ? /^([A-Za-z0-9][A-Za-z0-9._-]*)\/mnt\//.exec(file.slice(pools.length + 1))
      : null;
    return m ? join(pools, m[1] as string, "mnt") : root;
  }

  /**
   * Loop devices backed by `file`: `losetup --associated` while the file exists; once it is gone
   * only sysfs still names it (with " (deleted)"), and a leaked device must still be found.
   */
  private async attachedDevices(file: string, call: TransportCall): Promise<string[]> {
    let real: string;
    try {
      real = await realpath(file);
    } catch (err) {
      if (!isMissing(err)) throw err;
      return this.devicesOfDeletedFile(await this.realPathOfDeleted(file));
    }
    await this.refuseOutsideRoot(file, real);
    const { stdout } = await this.options.run("losetup", ["--list", "--json", "--associated", real], {
      signal: call.signal,
    });
    return parseLosetupJson(stdout).map((d) => checkDevicePath(d.name));
  }

  /** Where a file that no longer exists was, as the kernel recorded it (root symlinks resolved). */
  private async realPathOfDeleted(file: string): Promise<string> {
    const root = this.rootOf(file);
    if (!file.startsWith(`${root}/`)) {
      throw badArgument(`backing file ${file} is outside the allowed directory ${this.options.allowedRoot}`);
    }
    return (await realpath(root)) + file.slice(root.length);
  }

  private async devicesOfDeletedFile(file: string): Promise<string[]> {
    const names = await readdir(join(this.options.sysfsRoot, "block")).catch(() => [] as string[]);
    const found: string[] = [];
    for (const name of names.filter((n) => /^loop\d+$/.test(n)).sort()) {
      const backing = await this.backingFileOf(`/dev/${name}`);
      if (backing?.replace(/ \(deleted\)$/, "") === file) found.push(`/dev/${name}`);
    }
    return found;
  }

  private async stillAttached(device: string): Promise<boolean> {
    return (await this.backingFileOf(device)) !== undefined;
  }

  /** The kernel's record of the file behind a loop device; undefined when it is not bound. */
  private async backingFileOf(device: string): Promise<string | undefined> {
    try {
      const backing = await readFile(
        join(this.options.sysfsRoot, "block", kernelName(device), "loop/backing_file"),
        "utf8",
      );
      return backing.trim() === "" ? undefined : backing.trim();
    } catch (err) {
      // ENODEV: the device is being released at this very moment, which is no binding either.
      if (isMissing(err) || (err instanceof Error && "code" in err && err.code === "ENODEV"))
        return undefined;
      throw err;
    }
  }
}

interface LosetupDevice {
  name: string;
  backFile: string;
}

/** Parses `losetup --list --json` output. */
export function parseLosetupJson(text: string): LosetupDevice[] {
  if (text.trim() === "") return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw broken(`cannot parse losetup output: ${text.slice(0, 200)}`);
  }
  const list = (parsed as { loopdevices?: unknown }).loopdevices;
  if (!Array.isArray(list)) throw broken("losetup output has no loopdevices list");
  return list.map((entry: unknown) => {
    const e = entry as { name?: unknown; "back-file"?: unknown };
    if (typeof e.name !== "string") throw broken("losetup output entry without a name");
    return { name: e.name, backFile: typeof e["back-file"] === "string" ? e["back-file"] : "" };
  });
}
