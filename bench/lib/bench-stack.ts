import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { CsiClient } from "../../src/demo/csi-client.js";
import type { LocalStack } from "../../src/demo/local-stack.js";
import { shippedNodeFlags } from "./shipped-flags.js";
import { SimControl } from "./sim-control.js";

/**
 * The system under test: `rds-csi sim` on a real Btrfs pool and `rds-csi all` (loop transport) as
 * separate processes, exactly as the demo runs them, so the controller's memory and CPU are its
 * own. Adds what a benchmark needs on top: the driver's per-command log, process CPU and memory
 * from /proc, phase-by-phase CPU profiles, and cleanup that also runs when the process dies.
 */

export interface DriverLogEntry {
  msg: string;
  /** "RouterOS command": the line sent and its round-trip time as the driver saw it. */
  command?: string;
  ms?: number;
  /** "done" / "failed": the handler's own duration. */
  method?: string;
  durationMs?: number;
}

export interface ProcessSample {
  /** Resident set size now and at its peak, KiB (/proc/<pid>/status VmRSS, VmHWM). */
  rssKiB: number;
  hwmKiB: number;
  /** CPU time of the process, and of the children it has waited for (the emulator's btrfs runs), ms. */
  cpuMs: number;
  childrenCpuMs: number;
}

export interface BenchStackOptions {
  workDir: string;
  poolSize: string;
  /** Directory for per-phase CPU profiles of the driver and the emulator; none when absent. */
  profileDir?: string;
}

const PRELOAD = fileURLToPath(new URL("./profiler-preload.mjs", import.meta.url));
const SRC = fileURLToPath(new URL("../../src/", import.meta.url));
const DIST = fileURLToPath(new URL("../../dist/", import.meta.url));
const DIST_STACK = new URL("../../dist/demo/local-stack.js", import.meta.url).href;

/** How the driver and emulator run: the compiled build as shipped (`node dist/cli.js`), or from source. */
export type DriverBuild = "dist" | "source (tsx)";

/** The newest modification time of the files under `dir` whose names end in `suffix`; 0 if none. */
function newestMtime(dir: string, suffix: string): number {
  if (!existsSync(dir)) return 0;
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(path, suffix));
    else if (entry.name.endsWith(suffix)) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

/**
 * The local stack from the compiled build when it is there and current — memory and CPU figures are
 * then those of the shipped program, not of a TypeScript loader — else from source.
 */
async function loadStackModule(): Promise<{
  startLocalStack: typeof import("../../src/demo/local-stack.js").startLocalStack;
  build: DriverBuild;
}> {
  const built = newestMtime(DIST, ".js");
  if (built > 0 && built >= newestMtime(SRC, ".ts")) {
    const mod = (await import(DIST_STACK)) as typeof import("../../src/demo/local-stack.js");
    return { startLocalStack: mod.startLocalStack, build: "dist" };
  }
  process.stderr.write(
    "bench: dist/ is missing or older than src/ (npm run build); running the driver from source\n",
  );
  const mod = await import("../../src/demo/local-stack.js");
  return { startLocalStack: mod.startLocalStack, build: "source (tsx)" };
}
const CLOCK_TICKS_PER_SECOND = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());

export class BenchStack {
  readonly driverLog: DriverLogEntry[] = [];
  readonly control: SimControl;
  private profileMarks = 0;
  private stopped: Promise<string[]> | undefined;

  private constructor(
    readonly local: LocalStack,
    readonly options: BenchStackOptions,
    readonly build: DriverBuild,
  ) {
    this.control = new SimControl(join(options.workDir, "rds", "control.sock"));
    const stdout = local.driver.proc.stdout;
    if (stdout) createInterface({ input: stdout }).on("line", (line) => this.record(line));
  }

  static async start(options: BenchStackOptions): Promise<BenchStack> {
    const saved = process.env.NODE_OPTIONS;
    const savedDir = process.env.RDS_CSI_BENCH_PROFILE_DIR;
    if (options.profileDir) {
      // Children inherit the environment at spawn; restored once both are running.
      process.env.NODE_OPTIONS = `${saved ? `${saved} ` : ""}--import ${PRELOAD}`;
      process.env.RDS_CSI_BENCH_PROFILE_DIR = options.profileDir;
    }
    try {
      const { startLocalStack, build } = await loadStackModule();
      const local = await startLocalStack({
        workDir: options.workDir,
        poolSize: options.poolSize,
        // debug: the driver logs every RouterOS command with its duration, which attributes time.
        logLevel: "debug",
        driverArgs: ["--max-snapshots-per-volume", "0"],
        driverNodeFlags: shippedNodeFlags(),
      });
      return new BenchStack(local, options, build);
    } finally {
      restoreEnv("NODE_OPTIONS", saved);
      restoreEnv("RDS_CSI_BENCH_PROFILE_DIR", savedDir);
    }
  }

  get csi(): CsiClient {
    return this.local.csi;
  }

  get poolMountPath(): string {
    return this.local.poolMountPath;
  }

  get driverPid(): number {
    return this.local.driver.proc.pid!;
  }

  get simPid(): number {
    return this.local.sim.proc.pid!;
  }

  private record(line: string): void {
    if (!line.startsWith("{")) return;
    try {
      const entry = JSON.parse(line) as DriverLogEntry;
      if (entry.msg === "RouterOS command" || entry.msg === "done" || entry.msg === "failed") {
        this.driverLog.push({
          msg: entry.msg,
          ...(entry.command !== undefined ? { command: entry.command, ms: entry.ms } : {}),
          ...(entry.method !== undefined ? { method: entry.method, durationMs: entry.durationMs } : {}),
        });
      }
    } catch {
      // not a log line of ours
    }
  }

  /** Resolves once the driver has logged `count` finished calls (log lines trail the replies). */
  async driverCallsLogged(count: number, timeoutMs = 2000): Promise<void> {
    const until = Date.now() + timeoutMs;
    const finished = () => this.driverLog.filter((e) => e.msg === "done" || e.msg === "failed").length;
    while (finished() < count && Date.now() < until) await new Promise((r) => setTimeout(r, 2));
  }

  sample(pid: number): ProcessSample {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kib = (key: string) =>
      Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? Number.NaN);
    // /proc/<pid>/stat: fields after the command name; utime, stime, cutime, cstime are 14–17.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = (i: number) => (Number(fields[i - 3]) * 1000) / CLOCK_TICKS_PER_SECOND;
    return {
      rssKiB: kib("VmRSS"),
      hwmKiB: kib("VmHWM"),
      cpuMs: ticks(14) + ticks(15),
      childrenCpuMs: ticks(16) + ticks(17),
    };
  }

  /**
   * Closes the current CPU profile of the driver and the emulator (each writes
   * `<pid>.<n>.cpuprofile`) and starts the next; returns the index of the one just closed.
   */
  async cutProfiles(): Promise<number | undefined> {
    const dir = this.options.profileDir;
    if (!dir) return undefined;
    const index = this.profileMarks++;
    for (const pid of [this.driverPid, this.simPid]) process.kill(pid, "SIGUSR2");
    const files = [this.driverPid, this.simPid].map((pid) => join(dir, `${pid}.${index}.cpuprofile`));
    const until = Date.now() + 30_000;
    while (!files.every((f) => existsSync(f)) && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 20));
    }
    return index;
  }

  /** Stops both processes (the emulator unmounts its pool and detaches its loop device). */
  stop(): Promise<string[]> {
    this.stopped ??= this.local.stop();
    return this.stopped;
  }
}

function restoreEnv(key: string, value: string | undefined): void {
  if (value === undefined) delete process.env[key];
  else process.env[key] = value;
}

/**
 * Last resort when the benchmark dies without stopping the stack: kill our two children, unmount
 * the pool, detach its loop device, remove the scratch directory. Synchronous, for an `exit` handler.
 */
export function forceCleanup(workDir: string, pids: readonly number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  const mount = join(workDir, "rds", "mnt");
  const image = join(workDir, "rds", "pool.img");
  try {
    const mounted = readFileSync("/proc/self/mountinfo", "utf8")
      .split("\n")
      .some((l) => l.split(" ")[4] === mount);
    if (mounted) execFileSync("umount", ["-l", mount], { stdio: "ignore" });
  } catch {
    // best effort
  }
  try {
    if (existsSync(image)) {
      const loops = execFileSync("losetup", ["-j", image], { encoding: "utf8" })
        .split("\n")
        .map((l) => l.split(":")[0]?.trim() ?? "")
        .filter((d) => d !== "");
      for (const device of loops) execFileSync("losetup", ["-d", device], { stdio: "ignore" });
    }
  } catch {
    // best effort
  }
  rmSync(workDir, { recursive: true, force: true });
}
