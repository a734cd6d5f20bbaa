import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { shippedNodeFlags } from "./shipped-flags.js";

const CLI = fileURLToPath(new URL("../../dist/cli.js", import.meta.url));

/** One role's resident memory: after start-up, and again after idling. KiB. */
export interface IdleSample {
  start: number;
  settled: number;
}

export type Role = "controller" | "node" | "all";

/** The RDS (emulator) the idle controller and `all` connect to. */
export interface IdleRds {
  port: number;
  privateKeyPath: string;
  hostKeyFingerprint: string;
}

/** How long after start-up the first sample is taken, and how long the roles then idle. */
export const IDLE_START_MS = 3000;
export const IDLE_SETTLE_MS = 30_000;

/**
 * Resident memory of `rds-csi controller`, `rds-csi node` and `rds-csi all`, each its own process
 * started as shipped (the images' node flags, no profiler preload, log level warn) and idle: nothing
 * calls them. What a controller Deployment and a node DaemonSet pod cost before any work.
 *
 * A controller connects to the RDS at start-up and stays connected (src/driver.ts `keepConnected`,
 * so its Probe turns ready), so a pod's idle controller holds one SSH session with its keepalives:
 * given `rds` (the benchmark's emulator), the controller and `all` connect to it and idle like
 * that. Without it they point at an address nothing answers and keep retrying.
 *
 * Sampled twice: a few seconds after each has made its socket, and again after IDLE_SETTLE_MS more
 * of idling. The second is what a pod costs for most of its life: start-up garbage (the gRPC
 * and protobuf set-up, the CLI's parsing) is collected only once V8 gets round to it, which takes
 * tens of seconds in an idle process. Undefined for a role whose process did not come up, or all
 * undefined when the build is missing.
 */
export async function idleMemoryKiB(
  workDir: string,
  rds?: IdleRds,
  settleMs = IDLE_SETTLE_MS,
): Promise<Partial<Record<Role, IdleSample>>> {
  if (!existsSync(CLI)) return {};
  const dir = mkdtempSync(join(workDir, "idle-"));
  const children: ChildProcess[] = [];
  try {
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(dir, "key")], {
      stdio: "ignore",
    });
    const target = rds
      ? [
          "--rds-port",
          String(rds.port),
          "--rds-key-file",
          rds.privateKeyPath,
          "--rds-host-key-fingerprint",
          rds.hostKeyFingerprint,
        ]
      : [
          "--rds-port",
          "1",
          "--rds-key-file",
          join(dir, "key"),
          "--rds-host-key-fingerprint",
          `SHA256:${"A".repeat(43)}`,
        ];
    const rdsArgs = ["--rds-address", "127.0.0.1", ...target];
    const args: Record<Role, string[]> = {
      controller: ["controller", ...rdsArgs],
      node: ["node", "--node-id", "bench-idle"],
      all: ["all", ...rdsArgs, "--node-id", "bench-idle-all"],
    };
    const roles = Object.keys(args) as Role[];
    const socket = (role: Role) => join(dir, `${role}.sock`);
    const pids = new Map<Role, number | undefined>();
    for (const role of roles) {
      const child = spawn(
        process.execPath,
        [
          ...shippedNodeFlags(),
          CLI,
          ...args[role],
          "--endpoint",
          `unix://${socket(role)}`,
          "--log-level",
          "warn",
        ],
        { stdio: "ignore" },
      );
      children.push(child);
      pids.set(role, child.pid);
    }
    // Up once each has made its socket; then a few seconds, then the long idle.
    const until = Date.now() + 30_000;
    while (Date.now() < until && !roles.every((r) => existsSync(socket(r))))
      await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, IDLE_START_MS));
    const start = new Map(roles.map((r) => [r, existsSync(socket(r)) ? rssKiB(pids.get(r)) : undefined]));
    await new Promise((r) => setTimeout(r, settleMs));
    const out: Partial<Record<Role, IdleSample>> = {};
    for (const role of roles) {
      const first = start.get(role);
      const settled = rssKiB(pids.get(role));
      if (first !== undefined && settled !== undefined) out[role] = { start: first, settled };
    }
    return out;
  } finally {
    for (const child of children) child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }
}

function rssKiB(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}
