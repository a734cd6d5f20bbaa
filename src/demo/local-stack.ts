import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { PACKAGE_ROOT } from "../package-root.js";
import { CsiClient } from "./csi-client.js";
import { leftoversBelow, releaseNodeSide } from "./leftovers.js";
import { type Child, startChild } from "./processes.js";

export interface LocalStackOptions {
  /** Scratch directory; the emulator's data, keys and the CSI socket go below it. */
  workDir: string;
  /** Emulator pool size, e.g. "4G" (a sparse file). */
  poolSize?: string;
  logLevel?: string;
  /** Extra flags for `rds-csi all`. */
  driverArgs?: string[];
  /** Flags for the `node` that runs `rds-csi all` (e.g. the image's V8 flags), before the script. */
  driverNodeFlags?: string[];
  /** Emulator settings file contents. */
  simSettings?: Record<string, unknown>;
}

export interface LocalStack {
  sim: Child;
  driver: Child;
  simPort: number;
  hostKeyFingerprint: string;
  poolMountPath: string;
  endpoint: string;
  privateKeyPath: string;
  csi: CsiClient;
  stop(): Promise<string[]>;
}

/** `node <this package's cli.js>`: the same build that runs the demo starts its parts. */
function cliCommand(): { command: string; args: string[] } {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith(".ts")) {
    return { command: process.execPath, args: ["--import", "tsx", join(PACKAGE_ROOT, "src", "cli.ts")] };
  }
  return { command: process.execPath, args: [join(PACKAGE_ROOT, "dist", "cli.js")] };
}

const LISTENING = /listening on [^:\s]+:(\d+) \(pool \S+ mounted at (\S+) on \S+, host key (SHA256:\S+),/;

/**
 * Starts an RDS emulator and `rds-csi all` (loop transport) talking to it over SSH with a pinned
 * host key — the whole driver on one machine. Used by the demo, csi-sanity and the e2e tests.
 */
export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const { workDir } = options;
  mkdirSync(workDir, { recursive: true });
  // OpenSSH's own key generator: its keys are what real deployments use, and every one parses.
  const privateKeyPath = join(workDir, "id_ed25519");
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "rds-csi-local", "-f", privateKeyPath]);
  const authorizedKeys = join(workDir, "authorized_keys");
  writeFileSync(authorizedKeys, readFileSync(`${privateKeyPath}.pub`));
  const simDataDir = join(workDir, "rds");
  let poolMount: string | undefined;
  const simArgs = ["--listen", "127.0.0.1:0", "--data-dir", simDataDir, "--authorized-keys", authorizedKeys];
  simArgs.push("--size", options.poolSize ?? "4G");
  // If this process is killed outright, the emulator still unmounts its pool and frees the device.
  simArgs.push("--stop-with-parent");
  if (options.simSettings) {
    const settings = join(workDir, "sim-settings.json");
    writeFileSync(settings, JSON.stringify(options.simSettings));
    simArgs.push("--settings", settings);
  }
  const cli = cliCommand();
  const sim = startChild("rds-csi sim", cli.command, [...cli.args, "sim", ...simArgs]);
  let driver: Child | undefined;
  let csi: CsiClient | undefined;
  const stop = async (): Promise<string[]> => {
    const problems: string[] = [];
    csi?.close();
    if (driver && (await driver.stop()) !== 0) problems.push(`driver exit: ${driver.tail(5)}`);
    // What the node side still holds would keep the pool busy and outlive the run: release it
    // before the emulator unmounts the pool. It is still a problem to report (the node side should
    // have released it), but no longer a leak.
    const node = releaseNodeSide({
      mountsBelow: workDir,
      except: simDataDir,
      ...(poolMount ? { loopsBackedBelow: poolMount } : {}),
    });
    problems.push(...node.released.map((r) => `left by the node side, now ${r}`), ...node.failed);
    if ((await sim.stop()) !== 0) problems.push(`emulator exit: ${sim.tail(5)}`);
    // Both processes wait for the kernel to release what they held; anything left is reported.
    problems.push(...leftoversBelow(workDir));
    return problems;
  };
  try {
    const line = await sim.waitForLine(LISTENING, 120_000);
    const [, port, poolMountPath, fingerprint] = LISTENING.exec(line) as RegExpExecArray;
    poolMount = poolMountPath;
    const endpoint = `unix://${join(workDir, "csi", "csi.sock")}`;
    const driverArgs = [
      "all",
      "--endpoint",
      endpoint,
      "--log-level",
      options.logLevel ?? "info",
      "--rds-address",
      "127.0.0.1",
      "--rds-port",
      port!,
      "--rds-key-file",
      privateKeyPath,
      "--rds-host-key-fingerprint",
      fingerprint!,
      "--rds-pool",
      "raid1",
      "--node-transport",
      "loop",
      "--loop-pool-path",
      poolMountPath!,
      "--node-id",
      "local-node",
      ...(options.driverArgs ?? []),
    ];
    driver = startChild("rds-csi all", cli.command, [
      ...(options.driverNodeFlags ?? []),
      ...cli.args,
      ...driverArgs,
    ]);
    csi = new CsiClient(endpoint);
    await driver.whileRunning(csi.waitReady(60_000));
    return {
      sim,
      driver,
      simPort: Number(port),
      hostKeyFingerprint: fingerprint!,
      poolMountPath: poolMountPath!,
      endpoint,
      privateKeyPath,
      csi,
      stop,
    };
  } catch (err) {
    const problems = await stop();
    const logs = [`emulator:\n${sim.tail()}`, driver ? `driver:\n${driver.tail()}` : ""].join("\n");
    throw new Error(
      `${err instanceof Error ? err.message : String(err)}\n${logs}${problems.length ? `\n${problems.join("\n")}` : ""}`,
    );
  }
}
