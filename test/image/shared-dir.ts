/**
 * A host directory the test shares with its containers the way a node plugin shares
 * /var/lib/kubelet: bind-mounted on itself and made shared, so mounts made inside a container
 * (the emulator's pool, staged and published volumes) appear on the host and in the other
 * containers. Removing it unmounts everything below it and detaches every loop device whose
 * backing file lies below it, whatever state a failed test left.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Where every image test makes its directories; the runner sweeps it after a crashed run. */
export const IMAGE_TEST_ROOT = process.env.RDS_CSI_IMAGE_TEST_DIR ?? join(tmpdir(), "rds-csi-image-tests");

const run = (cmd: string, args: string[]) => execFileSync(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });

/** Mount points at or below `dir`, as this process sees them, deepest first. */
export function mountsUnder(dir: string): Array<{ target: string; source: string }> {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((line) => {
      const fields = line.split(" ");
      const after = fields.indexOf("-");
      return { target: unescapeMount(fields[4] ?? ""), source: fields[after + 2] ?? "" };
    })
    .filter((m) => m.target === dir || m.target.startsWith(`${dir}/`))
    .reverse();
}

function unescapeMount(path: string): string {
  return path.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(Number.parseInt(oct, 8)));
}

/** Loop devices whose backing file lies below `dir` (read from sysfs, so any namespace's). */
export function loopDevicesUnder(dir: string): string[] {
  const found: string[] = [];
  for (const name of readdirSync("/sys/block").filter((n) => /^loop\d+$/.test(n))) {
    let backing = "";
    try {
      backing = readFileSync(`/sys/block/${name}/loop/backing_file`, "utf8").trim();
    } catch {
      continue; // not bound to a file
    }
    if (backing.replace(/ \(deleted\)$/, "").startsWith(`${dir}/`)) found.push(`/dev/${name}`);
  }
  return found;
}

export interface SharedDir {
  path: string;
  /** Unmounts, detaches and deletes; returns what could not be cleaned (empty when all went). */
  remove(): string[];
}

/** Makes a fresh shared directory below IMAGE_TEST_ROOT. */
export function makeSharedDir(prefix: string): SharedDir {
  mkdirSync(IMAGE_TEST_ROOT, { recursive: true });
  const path = mkdtempSync(join(IMAGE_TEST_ROOT, `${prefix}-`));
  // The controller image's non-root user reaches its socket and key below it.
  chmodSync(path, 0o755);
  try {
    run("mount", ["--bind", path, path]);
    run("mount", ["--make-shared", path]);
  } catch (err) {
    rmSync(path, { recursive: true, force: true });
    throw err;
  }
  return { path, remove: () => removeSharedDir(path) };
}

/**
 * Unmounts below `dir` and detaches its loop devices in rounds: a volume's mount holds its loop
 * device, which holds a file in the emulator's pool, which holds the pool's loop device, so each
 * round frees what the previous one released. Loop devices are listed before anything is
 * unmounted: once the pool is gone the kernel no longer prints their backing path under `dir`.
 */
export function removeSharedDir(dir: string): string[] {
  const loops = new Set(loopDevicesUnder(dir));
  for (let round = 0; round < 6; round++) {
    for (const m of mountsUnder(dir).filter((x) => x.target !== dir)) tryRun("umount", [m.target]);
    const mounted = new Set(mountsUnder(dir).map((m) => m.source));
    for (const device of loops) {
      if (mounted.has(device)) continue;
      if (tryRun("losetup", ["--detach", device]) || !isBound(device)) loops.delete(device);
    }
    if (loops.size === 0 && mountsUnder(dir).every((m) => m.target === dir)) break;
    execFileSync("sleep", ["0.5"]);
  }
  const problems: string[] = [];
  for (const m of mountsUnder(dir).filter((x) => x.target !== dir)) {
    problems.push(`still mounted: ${m.target} (${m.source}); unmounted lazily`);
    tryRun("umount", ["--lazy", m.target]);
  }
  for (const device of loops) problems.push(`loop device ${device} could not be detached`);
  for (const m of mountsUnder(dir)) tryRun("umount", [m.target]) || tryRun("umount", ["--lazy", m.target]);
  if (mountsUnder(dir).length === 0) rmSync(dir, { recursive: true, force: true });
  else problems.push(`${dir} is still mounted; left in place`);
  return problems;
}

function tryRun(cmd: string, args: string[]): boolean {
  try {
    run(cmd, args);
    return true;
  } catch {
    return false;
  }
}

function isBound(device: string): boolean {
  try {
    return readFileSync(`/sys/block/${device.slice(5)}/loop/backing_file`, "utf8").trim() !== "";
  } catch {
    return false;
  }
}
