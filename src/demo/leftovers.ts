import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";

/**
 * What the kernel still holds below a scratch directory once everything started there has stopped:
 * mounts, and loop devices whose backing file lies there. There are few loop devices on a machine,
 * so a stop that leaves one behind is a problem to report, not a detail.
 */
export function leftoversBelow(dir: string): string[] {
  const mounts = mountTargets()
    .filter((target) => isBelow(target, dir))
    .map((target) => `${target} still mounted`);
  const loops = attachedLoops()
    .filter((loop) => isBelow(loop.backing, dir))
    .map((loop) => `${loop.device} still attached to ${loop.backing}`);
  return [...mounts, ...loops];
}

/**
 * Releases what a node plugin left once it has stopped: the mounts below `mountsBelow` (deepest
 * first), except those below `except` (the emulator's, which it releases itself), and the loop
 * devices whose backing file lies below `loopsBackedBelow` (the pool, where the loop transport finds
 * its images). A call cut short by Ctrl-C can finish a NodeStage after the scenario's cleanup listed
 * what to unmount; without this, that mount keeps its loop device open, the device keeps the pool
 * busy, and all of it outlives the run. Returns what it released and what it could not.
 */
export function releaseNodeSide(dirs: { mountsBelow: string; except: string; loopsBackedBelow?: string }): {
  released: string[];
  failed: string[];
} {
  const released: string[] = [];
  const failed: string[] = [];
  const mounts = mountTargets()
    .filter((target) => isBelow(target, dirs.mountsBelow) && !isBelow(target, dirs.except))
    .sort((a, b) => b.length - a.length);
  for (const target of new Set(mounts)) {
    try {
      execFileSync("umount", [target], { stdio: "pipe" });
      released.push(`unmounted ${target}`);
    } catch (err) {
      failed.push(`umount ${target}: ${commandError(err)}`);
    }
  }
  const loopRoot = dirs.loopsBackedBelow;
  if (loopRoot === undefined) return { released, failed };
  for (const { device, backing } of attachedLoops().filter((loop) => isBelow(loop.backing, loopRoot))) {
    try {
      execFileSync("losetup", ["-d", device], { stdio: "pipe" });
      released.push(`detached ${device} from ${backing}`);
    } catch (err) {
      failed.push(`losetup -d ${device}: ${commandError(err)}`);
    }
  }
  return { released, failed };
}

function isBelow(p: string, dir: string): boolean {
  return `${p}/`.startsWith(`${path.resolve(dir)}/`);
}

/** Every mount point this process sees. */
function mountTargets(): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((line) => unescapeMountPath(line.split(" ")[4] ?? ""))
    .filter((target) => target !== "");
}

/** Every attached loop device and its backing file. */
function attachedLoops(): Array<{ device: string; backing: string }> {
  const loops: Array<{ device: string; backing: string }> = [];
  for (const name of readdirSync("/sys/block").filter((n) => /^loop\d+$/.test(n))) {
    try {
      const backing = readFileSync(`/sys/block/${name}/loop/backing_file`, "utf8").trim();
      loops.push({ device: `/dev/${name}`, backing });
    } catch {
      // not attached
    }
  }
  return loops;
}

/** mountinfo escapes space, tab, newline and backslash as octal. */
function unescapeMountPath(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(Number.parseInt(oct, 8)));
}

function commandError(err: unknown): string {
  const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
  return stderr || (err instanceof Error ? err.message : String(err));
}
