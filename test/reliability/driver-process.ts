/**
 * `rds-csi` as a real process, built from the current source and started with fixed arguments, that a test can SIGKILL
 * and start again exactly as before. Every line the process writes (all incarnations, stdout and
 * stderr) is kept, so tests can read the logs whole.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { status } from "@grpc/grpc-js";
import { CsiClient, isGrpcError } from "../../src/demo/csi-client.js";
import type { SimFixture } from "../helpers/sim.js";

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const READY_TIMEOUT_MS = 90_000;
const STOP_GRACE_MS = 20_000;

/**
 * Builds the driver from the current source into `root`, laid out like the package (dist/, proto/,
 * package.json, node_modules/), and returns its cli.js. Node starts it with about half the CPU
 * that tsx needs, which counts when a suite starts the driver dozens of times.
 */
function buildInto(root: string): string {
  const out = path.join(root, "dist");
  const tsc = path.join(REPO_ROOT, "node_modules", "typescript", "bin", "tsc");
  try {
    execFileSync(
      process.execPath,
      [tsc, "-p", "tsconfig.build.json", "--outDir", out, "--sourceMap", "false"],
      {
        cwd: REPO_ROOT,
        stdio: "pipe",
      },
    );
  } catch {
    // A type error anywhere in the tree still emits JavaScript; only a missing entry point is fatal.
  }
  if (!existsSync(path.join(out, "cli.js"))) throw new Error("building the driver produced no dist/cli.js");
  for (const name of ["node_modules", "proto", "package.json"]) {
    symlinkSync(path.join(REPO_ROOT, name), path.join(root, name));
  }
  return path.join(out, "cli.js");
}

/** Only what Node needs: no RDS_* or CSI_* variable of the test's environment leaks into the driver. */
function cleanEnv(): NodeJS.ProcessEnv {
  const keep = ["PATH", "HOME", "TMPDIR", "LANG"];
  return Object.fromEntries(keep.filter((k) => process.env[k] !== undefined).map((k) => [k, process.env[k]]));
}

export interface CallOutcome {
  code: status;
  message: string;
  response?: Record<string, unknown>;
}

export class DriverProcess {
  /** Every line written by every incarnation, stdout and stderr, in order. */
  readonly lines: string[] = [];
  /** The stdout lines alone: the structured log. */
  readonly stdout: string[] = [];
  readonly endpoint: string;
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  #csi: CsiClient | undefined;
  #cli: string | undefined;
  #stopped = false;
  readonly #workDir: string;
  readonly #safetyNet = () => {
    this.#child?.kill("SIGKILL");
    rmSync(this.#workDir, { recursive: true, force: true });
  };

  constructor(
    /** `controller`, `node` or `all`, then its flags (without --endpoint). */
    private readonly args: readonly string[],
  ) {
    this.#workDir = mkdtempSync(path.join(tmpdir(), "rds-csi-driver-"));
    this.endpoint = `unix://${path.join(this.#workDir, "csi.sock")}`;
    process.on("exit", this.#safetyNet);
  }

  get running(): boolean {
    const c = this.#child;
    return c !== undefined && c.exitCode === null && c.signalCode === null;
  }

  get csi(): CsiClient {
    if (!this.#csi) throw new Error("the driver is not started");
    return this.#csi;
  }

  /** Starts the process; with `ready`, waits until Probe answers ready (the RDS is reachable). */
  async start(options: { ready: boolean } = { ready: true }): Promise<void> {
    if (this.running) throw new Error("the driver is already running");
    // A test body that outlived its time limit must not start a process nobody will stop.
    if (this.#stopped) throw new Error("the driver was stopped for good");
    this.#cli ??= buildInto(path.join(this.#workDir, "build"));
    const child = spawn(process.execPath, [this.#cli, ...this.args, "--endpoint", this.endpoint], {
      cwd: REPO_ROOT,
      env: cleanEnv(),
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.#child = child;
    this.#exited = new Promise((resolve) => child.once("exit", () => resolve()));
    if (child.stdout) {
      createInterface({ input: child.stdout }).on("line", (line) => {
        this.lines.push(line);
        this.stdout.push(line);
      });
    }
    if (child.stderr) createInterface({ input: child.stderr }).on("line", (line) => this.lines.push(line));
    // A new channel each time: grpc-js backs off for a long while after its server went away.
    this.#csi?.close();
    this.#csi = new CsiClient(this.endpoint);
    const exited = this.#exited.then(() => {
      throw new Error(`rds-csi exited during start:\n${this.lines.slice(-20).join("\n")}`);
    });
    await Promise.race([options.ready ? this.#csi.waitReady(READY_TIMEOUT_MS) : this.#serving(), exited]);
  }

  /** Resolves once the CSI socket answers any call (Probe may still say not ready). */
  async #serving(): Promise<void> {
    const until = Date.now() + READY_TIMEOUT_MS;
    while (Date.now() < until) {
      try {
        await this.csi.call("Identity", "GetPluginInfo", {}, 2_000);
        return;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
    throw new Error(`rds-csi did not serve within ${READY_TIMEOUT_MS} ms`);
  }

  /** SIGKILL: no shutdown code runs, as when a node dies or the OOM killer strikes. */
  async kill(): Promise<void> {
    if (!this.running) return;
    this.#child?.kill("SIGKILL");
    await this.#exited;
  }

  /**
   * SIGTERM, and how the process ended: its exit code, or `undefined` when it was still running
   * `withinMs` later (it is then SIGKILLed, so nothing lingers).
   */
  async terminate(withinMs: number): Promise<{ exitCode: number | null | undefined; ms: number }> {
    const child = this.#child;
    if (!child || !this.running) throw new Error("the driver is not running");
    const started = Date.now();
    child.kill("SIGTERM");
    const ended = await Promise.race([
      this.#exited.then(() => true),
      new Promise<false>((resolve) => setTimeout(() => resolve(false), withinMs)),
    ]);
    if (!ended) {
      child.kill("SIGKILL");
      await this.#exited;
      return { exitCode: undefined, ms: Date.now() - started };
    }
    return { exitCode: child.exitCode, ms: Date.now() - started };
  }

  /** SIGTERM, then SIGKILL if it lingers; closes the client and removes the scratch directory. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#csi?.close();
    this.#csi = undefined;
    if (this.running) {
      this.#child?.kill("SIGTERM");
      const timer = setTimeout(() => this.#child?.kill("SIGKILL"), STOP_GRACE_MS);
      await this.#exited;
      clearTimeout(timer);
    }
    process.off("exit", this.#safetyNet);
    rmSync(this.#workDir, { recursive: true, force: true });
  }

  /** One unary call, ending in the status the caller sees. */
  async attempt(
    service: "Identity" | "Controller" | "Node",
    method: string,
    request: object,
    timeoutMs = 60_000,
  ): Promise<CallOutcome> {
    try {
      const response = await this.csi.call<Record<string, unknown>>(service, method, request, timeoutMs);
      return { code: status.OK, message: "", response };
    } catch (err) {
      if (isGrpcError(err)) return { code: err.code, message: err.details };
      throw err;
    }
  }
}

/**
 * Flags of `rds-csi controller` for an emulator; the host key is pinned by the emulator's
 * fingerprint unless `hostKey` gives other host-key flags.
 */
export function controllerArgs(
  sim: SimFixture,
  hostKey: readonly string[] = ["--rds-host-key-fingerprint", sim.hostKeyFingerprint],
): string[] {
  return [
    "controller",
    "--log-level",
    "debug",
    "--rds-address",
    sim.host,
    "--rds-port",
    String(sim.port),
    "--rds-key-file",
    sim.privateKeyPath,
    ...hostKey,
    "--rds-pool",
    sim.pool,
    "--max-snapshots-per-volume",
    "0",
  ];
}
