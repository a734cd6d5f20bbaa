/**
 * Test harness for `rds-csi sim`: starts an emulator from source on a fresh data directory and a free
 * port, with its own Btrfs image and loop device, and always cleans up (also when the test process
 * exits without calling stop()).
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import ssh2 from "ssh2";
import { ed25519KeyPair } from "./keys.js";
import { matrixSettings } from "./matrix-settings.js";

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const START_TIMEOUT_MS = 90_000;
const STOP_TIMEOUT_MS = 30_000;

export interface SimFaultRule {
  /** Regular expression tested against the whole exec line. */
  match: string;
  action: "drop-before" | "drop-after" | "delay" | "delay-reply" | "fail" | "drop-after-bytes" | "pad-reply";
  ms?: number;
  error?: string;
  bytes?: number;
  /** How many matching lines the rule affects; absent = until cleared. */
  times?: number;
}

export interface SimHealth {
  sessions: number;
  mountPath: string;
  loopDevice: string;
  imagePath: string;
  hostKeyFingerprint: string;
  hostPublicKey: string;
  routerosVersion: string;
}

export interface SimInjectionEvent {
  seq: number;
  time: string;
  line: string;
  kind: "variable" | "command" | "expression";
  source: string;
  col: number;
  result: string;
  quoted: boolean;
}

export interface SimCommandEntry {
  seq: number;
  time: string;
  user: string;
  line: string;
  ran: boolean;
  outcome: "ok" | "error" | "fault";
  error?: string;
  fault?: string;
  /** The reply, cut after 64 KiB; `outputBytes` is its whole length. */
  output: string;
  outputBytes: number;
}

export interface SimCommandCounters {
  commands: number;
  ok: number;
  error: number;
  fault: number;
  outputBytes: number;
  dropped: number;
}

export interface SimExecResult {
  output: string;
  ran: boolean;
  error: string | null;
}

/** Typed client of the emulator's control socket (`<dataDir>/control.sock`, JSON lines). */
export interface SimControl {
  health(): Promise<SimHealth>;
  addFault(rule: SimFaultRule): Promise<number>;
  listFaults(): Promise<Array<SimFaultRule & { id: number; remaining?: number }>>;
  clearFaults(): Promise<void>;
  getSettings(): Promise<Record<string, unknown>>;
  setSettings(patch: Record<string, unknown>): Promise<Record<string, unknown>>;
  poolFull(on: boolean): Promise<void>;
  rejectSessions(on: boolean): Promise<void>;
  /** `$…` evaluations inside values, newest last; `since` is a sequence number from an earlier event. */
  injections(since?: number): Promise<SimInjectionEvent[]>;
  /** Exec lines received over SSH, with whether they ran and what was answered. */
  commands(since?: number): Promise<SimCommandEntry[]>;
  /** Counters of every command since start or the last clear, including entries the log no longer keeps. */
  commandCounters(): Promise<SimCommandCounters>;
  clearLogs(which?: "commands" | "injections" | "all"): Promise<void>;
  /** Forgets cached Btrfs listings (after changing subvolumes directly on the host). */
  refresh(): Promise<void>;
  /** Runs a command line directly (test setup), bypassing SSH and fault rules. */
  exec(line: string, width?: number): Promise<SimExecResult>;
}

export interface SimFixture {
  host: string;
  port: number;
  user: string;
  privateKeyPath: string;
  /** The authorized_keys file the emulator reads on every login (append keys to authorise more). */
  authorizedKeysPath: string;
  hostKeyFingerprint: string;
  knownHostsPath: string;
  dataDir: string;
  poolMountPath: string;
  pool: string;
  fsLabel: string;
  control: SimControl;
  stop(): Promise<void>;
  restart(): Promise<void>;
}

export interface StartSimOptions {
  settings?: Record<string, unknown>;
  size?: string;
  routerosVersion?: string;
  pool?: string;
  /** More pools, `name:size` (`--extra-pool`); each takes one more loop device. */
  extraPools?: string[];
}

/** The data directory of each pool: the first pool's, then `pools/<name>` of each extra one. */
function poolDirs(dataDir: string, extraPools: readonly string[] = []): string[] {
  return [dataDir, ...extraPools.map((e) => path.join(dataDir, "pools", e.split(":")[0] as string))];
}

async function controlRequest(
  socketPath: string,
  request: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const socket = net.createConnection(socketPath);
    let buffer = "";
    socket.setEncoding("utf8");
    socket.on("connect", () => socket.write(`${JSON.stringify(request)}\n`));
    socket.on("data", (chunk: string) => {
      buffer += chunk;
      const nl = buffer.indexOf("\n");
      if (nl < 0) return;
      socket.end();
      const reply = JSON.parse(buffer.slice(0, nl)) as Record<string, unknown>;
      if (reply.ok === true) resolve(reply);
      else reject(new Error(`sim control ${String(request.op)}: ${String(reply.error)}`));
    });
    socket.on("error", reject);
  });
}

function makeControl(socketPath: string): SimControl {
  const call = (op: string, extra: Record<string, unknown> = {}) =>
    controlRequest(socketPath, { op, ...extra });
  return {
    health: async () => (await call("health")) as unknown as SimHealth,
    addFault: async (rule) => ((await call("addFault", { rule })).rule as { id: number }).id,
    listFaults: async () => (await call("listFaults")).rules as Array<SimFaultRule & { id: number }>,
    clearFaults: async () => void (await call("clearFaults")),
    getSettings: async () => (await call("getSettings")).settings as Record<string, unknown>,
    setSettings: async (settings) =>
      (await call("setSettings", { settings })).settings as Record<string, unknown>,
    poolFull: async (on) => void (await call("poolFull", { on })),
    rejectSessions: async (on) => void (await call("rejectSessions", { on })),
    injections: async (since = 0) => (await call("injections", { since })).events as SimInjectionEvent[],
    commands: async (since = 0) => (await call("commands", { since })).entries as SimCommandEntry[],
    commandCounters: async () =>
      (await call("commands", { since: Number.MAX_SAFE_INTEGER })).counters as SimCommandCounters,
    clearLogs: async (which = "all") => void (await call("clearLogs", { which })),
    refresh: async () => void (await call("refresh")),
    exec: async (line, width) =>
      (await call("exec", { line, ...(width !== undefined ? { width } : {}) })) as unknown as SimExecResult,
  };
}

function isMounted(mountPath: string): boolean {
  const info = readFileSync("/proc/self/mountinfo", "utf8");
  return info.split("\n").some((line) => line.split(" ")[4] === mountPath);
}

function attachedLoops(imagePath: string): string[] {
  if (!existsSync(imagePath)) return [];
  const out = execFileSync("losetup", ["-j", imagePath], { encoding: "utf8" });
  return out
    .split("\n")
    .map((l) => l.split(":")[0]?.trim() ?? "")
    .filter((d) => d !== "");
}

/** Last-resort cleanup, synchronous so it can run from a process `exit` handler. */
function forceCleanup(
  child: ChildProcess | undefined,
  dataDir: string,
  removeDir: boolean,
  extraPools: readonly string[] = [],
): void {
  if (child && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  for (const dir of poolDirs(dataDir, extraPools)) {
    const mnt = path.join(dir, "mnt");
    try {
      if (isMounted(mnt)) execFileSync("umount", ["-l", mnt]);
    } catch {
      // best effort: the process is exiting
    }
    try {
      for (const device of attachedLoops(path.join(dir, "pool.img"))) execFileSync("losetup", ["-d", device]);
    } catch {
      // best effort
    }
  }
  if (removeDir) rmSync(path.dirname(dataDir), { recursive: true, force: true });
}

interface Running {
  child: ChildProcess;
  port: number;
  stderr: () => string;
}

function launch(args: readonly string[]): Promise<Running> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", "src/cli.ts", "sim", ...args], {
      cwd: REPO_ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`sim did not start within ${START_TIMEOUT_MS} ms: ${stderr}`));
    }, START_TIMEOUT_MS);
    child.stdout?.setEncoding("utf8");
    child.stderr?.setEncoding("utf8");
    child.stderr?.on("data", (c: string) => {
      stderr += c;
    });
    child.stdout?.on("data", (c: string) => {
      stdout += c;
      const m = /listening on .*:(\d+) /.exec(stdout);
      if (m) {
        clearTimeout(timer);
        resolve({ child, port: Number(m[1]), stderr: () => stderr });
      }
    });
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`sim exited before listening (code ${code}, signal ${signal}): ${stderr || stdout}`));
      // After start-up only SIGTERM from halt() ends it; anything else is a crash worth seeing.
      if (signal !== "SIGTERM" && code !== 0) {
        process.stderr.write(
          `rds-csi sim exited unexpectedly (code ${code}, signal ${signal}):\n${stderr}\n`,
        );
      }
    });
  });
}

function waitForExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/**
 * Starts the sim on `port` (0 = any free port). A restart asks for its old port again, so clients keep
 * their address; if another process took it meanwhile, it retries briefly and then takes a new one.
 */
async function launchOn(args: readonly string[], port: number): Promise<Running> {
  const withPort = (p: number) => args.map((a) => (a === "127.0.0.1:0" ? `127.0.0.1:${p}` : a));
  for (let attempt = 0; ; attempt++) {
    try {
      return await launch(withPort(port));
    } catch (e) {
      if (port === 0 || !/EADDRINUSE/.test(String(e))) throw e;
      if (attempt >= 5) return launch(withPort(0));
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/** SIGTERM, wait for exit, then verify the pool is unmounted and its loop device detached. */
async function halt(running: Running, dataDir: string, extraPools: readonly string[] = []): Promise<void> {
  const { child } = running;
  child.kill("SIGTERM");
  if (!(await waitForExit(child, STOP_TIMEOUT_MS))) {
    forceCleanup(child, dataDir, false, extraPools);
    throw new Error(`sim did not exit within ${STOP_TIMEOUT_MS} ms of SIGTERM: ${running.stderr()}`);
  }
  const leftovers = poolDirs(dataDir, extraPools).flatMap((dir) => {
    const mnt = path.join(dir, "mnt");
    return [
      ...(isMounted(mnt) ? [`${mnt} still mounted`] : []),
      ...attachedLoops(path.join(dir, "pool.img")).map((d) => `${d} still attached`),
    ];
  });
  if (child.exitCode !== 0) leftovers.push(`exit code ${child.exitCode}: ${running.stderr()}`);
  if (leftovers.length > 0) {
    forceCleanup(undefined, dataDir, false, extraPools);
    throw new Error(`sim did not clean up: ${leftovers.join("; ")}`);
  }
}

interface FixtureFiles {
  root: string;
  dataDir: string;
  privateKeyPath: string;
  authorizedKeysPath: string;
  knownHostsPath: string;
  /** CLI arguments after `sim`, listening on port 0 (a free port). */
  args: string[];
}

/** A fresh temp directory with a client key, its authorized_keys, and the settings file if any. */
function prepareFiles(opts: StartSimOptions, pool: string): FixtureFiles {
  const root = mkdtempSync(path.join(tmpdir(), "rds-sim-"));
  const dataDir = path.join(root, "data");
  const keys = ed25519KeyPair();
  const privateKeyPath = path.join(root, "id_ed25519");
  const authorizedKeysPath = path.join(root, "authorized_keys");
  writeFileSync(privateKeyPath, keys.private, { mode: 0o600 });
  writeFileSync(authorizedKeysPath, `${keys.public}\n`);
  const args = ["--listen", "127.0.0.1:0", "--data-dir", dataDir, "--authorized-keys", authorizedKeysPath];
  // A test process that dies (a crashed worker, a timeout) must not leave the pool mounted.
  args.push("--stop-with-parent");
  args.push("--size", opts.size ?? "2G", "--pool", pool);
  for (const extra of opts.extraPools ?? []) args.push("--extra-pool", extra);
  if (opts.routerosVersion) args.push("--routeros-version", opts.routerosVersion);
  // Under the settings matrix its combination is the base; the test's own settings win.
  const settings = { ...matrixSettings(), ...(opts.settings ?? {}) };
  if (Object.keys(settings).length > 0) {
    const settingsPath = path.join(root, "settings.json");
    writeFileSync(settingsPath, JSON.stringify(settings));
    args.push("--settings", settingsPath);
  }
  return {
    root,
    dataDir,
    privateKeyPath,
    authorizedKeysPath,
    knownHostsPath: path.join(root, "known_hosts"),
    args,
  };
}

/** Starts an emulator in a fresh temp directory on a free port; `stop()` removes everything again. */
export async function startSim(opts: StartSimOptions = {}): Promise<SimFixture> {
  const pool = opts.pool ?? "raid1";
  const files = prepareFiles(opts, pool);
  const { dataDir } = files;
  let running: Running | undefined;
  const extras = opts.extraPools ?? [];
  const safetyNet = () => forceCleanup(running?.child, dataDir, true, extras);
  process.on("exit", safetyNet);
  const control = makeControl(path.join(dataDir, "control.sock"));

  const boot = async (port: number) => {
    running = await launchOn(files.args, port);
    fixture.port = running.port;
    const health = await control.health();
    fixture.hostKeyFingerprint = health.hostKeyFingerprint;
    writeFileSync(files.knownHostsPath, `[${fixture.host}]:${fixture.port} ${health.hostPublicKey}\n`);
  };
  const fixture: SimFixture = {
    host: "127.0.0.1",
    port: 0,
    user: "admin",
    privateKeyPath: files.privateKeyPath,
    authorizedKeysPath: files.authorizedKeysPath,
    hostKeyFingerprint: "",
    knownHostsPath: files.knownHostsPath,
    dataDir,
    poolMountPath: path.join(dataDir, "mnt"),
    pool,
    fsLabel: pool,
    control,
    stop: async () => {
      try {
        if (running) await halt(running, dataDir, extras);
      } finally {
        process.off("exit", safetyNet);
        forceCleanup(running?.child, dataDir, true, extras);
      }
    },
    restart: async () => {
      if (running) await halt(running, dataDir, extras);
      await boot(fixture.port);
    },
  };

  try {
    await boot(0);
  } catch (e) {
    process.off("exit", safetyNet);
    forceCleanup(running?.child, dataDir, true, extras);
    throw e;
  }
  return fixture;
}

export interface SshRunResult {
  stdout: string;
  stderr: string;
  code: number | null;
}

/** Runs one exec request against the emulator with the ssh2 client (no PTY, like a driver). */
export function sshExec(
  sim: Pick<SimFixture, "host" | "port" | "privateKeyPath">,
  command: string,
  options: { user?: string; privateKey?: string | Buffer } = {},
): Promise<SshRunResult> {
  return new Promise((resolve, reject) => {
    const client = new ssh2.Client();
    client
      .on("ready", () => {
        client.exec(command, (err, stream) => {
          if (err) {
            client.end();
            reject(err);
            return;
          }
          const out: Buffer[] = [];
          const errOut: Buffer[] = [];
          let code: number | null = null;
          stream.on("data", (b: Buffer) => out.push(b));
          stream.stderr.on("data", (b: Buffer) => errOut.push(b));
          stream.on("exit", (c: number | null) => {
            code = c;
          });
          stream.on("close", () => {
            client.end();
            resolve({
              stdout: Buffer.concat(out).toString("utf8"),
              stderr: Buffer.concat(errOut).toString("utf8"),
              code,
            });
          });
        });
      })
      .on("error", reject)
      .connect({
        host: sim.host,
        port: sim.port,
        username: options.user ?? "admin",
        privateKey: options.privateKey ?? readFileSync(sim.privateKeyPath),
        readyTimeout: 20_000,
      });
  });
}
