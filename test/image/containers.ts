/**
 * The project's images started the way a user runs them: `rds-csi sim` in a privileged container
 * of the node image, and the driver (controller image, node image) against it. Every container
 * shares one host directory (see shared-dir.ts) at the same path, so paths in the emulator's
 * output, the driver's flags and the test's own files all mean the same place.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, chownSync, copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { GenericContainer, type StartedTestContainer, Wait } from "testcontainers";
import { CsiClient } from "../../src/demo/csi-client.js";
import { imageName, NEVER_PULL, type Role, RUN_ID, RUN_LABEL } from "./engine.js";

/** The controller image's user (Dockerfile `USER`). */
const CONTROLLER_UID = 1000;
const SIM_SSH_PORT = 2222;
const STOP_GRACE_MS = 30_000;
const LISTENING = /listening on [^:\s]+:\d+ \(pool \S+ mounted at (\S+) on \S+, host key (SHA256:\S+),/;

/** The last lines a container printed, for failure messages. */
export class LogTail {
  private text = "";
  append(chunk: string): void {
    this.text = (this.text + chunk).slice(-64_000);
  }
  tail(lines = 40): string {
    return this.text.split("\n").slice(-lines).join("\n");
  }
  /** The first match of `re`; the consumer's stream can trail the engine's wait strategy a little. */
  async waitFor(re: RegExp, ms = 10_000): Promise<RegExpExecArray | null> {
    for (const until = Date.now() + ms; Date.now() < until; ) {
      const m = re.exec(this.text);
      if (m) return m;
      await new Promise((r) => setTimeout(r, 100));
    }
    return re.exec(this.text);
  }
}

class ProjectContainer extends GenericContainer {
  readonly logs = new LogTail();

  constructor(role: Role, args: string[]) {
    super(imageName(role));
    this.withPullPolicy(NEVER_PULL)
      .withLabels({ [RUN_LABEL]: RUN_ID })
      .withCommand(args)
      .withLogConsumer((stream) =>
        stream.on("data", (chunk: Buffer | string) => this.logs.append(chunk.toString())),
      );
  }

  /** `dir` at the same path inside, with mounts propagating both ways (Kubernetes' Bidirectional). */
  withSharedDir(dir: string): this {
    this.hostConfig.Binds = [...(this.hostConfig.Binds ?? []), `${dir}:${dir}:rw,rshared`];
    return this;
  }
}

export interface Running {
  container: StartedTestContainer;
  logs: LogTail;
  /** Stops with SIGTERM and a grace period (the process cleans up), then removes the container. */
  stop(): Promise<void>;
}

function running(container: StartedTestContainer, logs: LogTail): Running {
  return { container, logs, stop: async () => void (await container.stop({ timeout: STOP_GRACE_MS })) };
}

export interface SimContainer extends Running {
  port: number;
  hostKeyFingerprint: string;
  /** The pool's mount point, the same path in every container and on the host. */
  poolMountPath: string;
  /** The admin key, readable by root only. */
  privateKeyPath: string;
}

/** `rds-csi sim` from the node image: privileged (loop devices, mkfs.btrfs, mount). */
export async function startSimContainer(dir: string, poolSize = "4G"): Promise<SimContainer> {
  const keys = join(dir, "keys");
  mkdirSync(keys, { recursive: true });
  const privateKeyPath = join(keys, "id_ed25519");
  execFileSync("ssh-keygen", [
    "-q",
    "-t",
    "ed25519",
    "-N",
    "",
    "-C",
    "rds-csi-image-test",
    "-f",
    privateKeyPath,
  ]);
  writeFileSync(join(keys, "authorized_keys"), readFileSync(`${privateKeyPath}.pub`));
  const spec = new ProjectContainer("node", [
    "sim",
    "--listen",
    `0.0.0.0:${SIM_SSH_PORT}`,
    "--data-dir",
    join(dir, "rds"),
    "--authorized-keys",
    join(keys, "authorized_keys"),
    "--size",
    poolSize,
  ])
    .withPrivilegedMode()
    .withSharedDir(dir)
    .withExposedPorts(SIM_SSH_PORT)
    .withWaitStrategy(Wait.forLogMessage(LISTENING))
    .withStartupTimeout(120_000);
  const container = await spec.start();
  const m = await spec.logs.waitFor(LISTENING);
  if (!m) {
    await container.stop({ timeout: STOP_GRACE_MS });
    throw new Error(`emulator started without its listening line:\n${spec.logs.tail()}`);
  }
  return {
    ...running(container, spec.logs),
    port: container.getMappedPort(SIM_SSH_PORT),
    poolMountPath: m[1]!,
    hostKeyFingerprint: m[2]!,
    privateKeyPath,
  };
}

export interface DriverContainer extends Running {
  endpoint: string;
  csi: CsiClient;
}

/** Flags that point a driver at the emulator. */
function rdsFlags(sim: SimContainer, keyFile: string): string[] {
  return [
    "--rds-address",
    "127.0.0.1",
    "--rds-port",
    String(sim.port),
    "--rds-key-file",
    keyFile,
    "--rds-host-key-fingerprint",
    sim.hostKeyFingerprint,
    "--rds-pool",
    "raid1",
  ];
}

/**
 * A driver sub-command from its image on the host network (as node plugins run), serving CSI on
 * a socket in the shared directory; resolves once the socket answers Probe.
 */
async function startDriver(role: Role, args: string[], dir: string, socketDir: string, privileged: boolean) {
  const endpoint = `unix://${join(socketDir, "csi.sock")}`;
  const spec = new ProjectContainer(role, [...args, "--endpoint", endpoint, "--log-level", "warn"])
    .withNetworkMode("host")
    .withSharedDir(dir);
  if (privileged) spec.withPrivilegedMode();
  const container = await spec.start();
  const csi = new CsiClient(endpoint);
  try {
    await csi.waitReady(60_000);
  } catch (err) {
    csi.close();
    await container.stop({ timeout: STOP_GRACE_MS });
    throw new Error(`${role} image never served CSI: ${String(err)}\n${spec.logs.tail()}`);
  }
  const base = running(container, spec.logs);
  return {
    ...base,
    endpoint,
    csi,
    stop: async () => {
      csi.close();
      await base.stop();
    },
  };
}

/**
 * `rds-csi controller` from the controller image, as its non-root user: the key is handed over
 * the way a Secret mount would be, a copy readable by that user only.
 */
export async function startControllerContainer(
  dir: string,
  sim: SimContainer,
  extraArgs: readonly string[] = [],
): Promise<DriverContainer> {
  const own = join(dir, "controller");
  mkdirSync(own, { recursive: true });
  const key = join(own, "ssh-privatekey");
  copyFileSync(sim.privateKeyPath, key);
  chownSync(key, CONTROLLER_UID, CONTROLLER_UID);
  chmodSync(key, 0o400);
  const socketDir = join(own, "csi");
  mkdirSync(socketDir, { recursive: true });
  chownSync(socketDir, CONTROLLER_UID, CONTROLLER_UID);
  return startDriver(
    "controller",
    [
      "controller",
      ...rdsFlags(sim, key),
      "--node-transport",
      "loop",
      "--loop-pool-path",
      sim.poolMountPath,
      ...extraArgs,
    ],
    dir,
    socketDir,
    false,
  );
}

/** `rds-csi node` from the node image, privileged, attaching volumes with loop devices. */
export async function startNodeContainer(
  dir: string,
  sim: SimContainer,
  extraArgs: readonly string[] = [],
): Promise<DriverContainer> {
  const socketDir = join(dir, "node", "csi");
  mkdirSync(socketDir, { recursive: true });
  return startDriver(
    "node",
    ["node", "--node-id", "image-node", "--loop-pool-path", sim.poolMountPath, ...extraArgs],
    dir,
    socketDir,
    true,
  );
}

/** `rds-csi all` from the node image: both services in one privileged process, as the demo runs. */
export async function startAllInOneContainer(dir: string, sim: SimContainer): Promise<DriverContainer> {
  const socketDir = join(dir, "all", "csi");
  mkdirSync(socketDir, { recursive: true });
  return startDriver(
    "node",
    [
      "all",
      ...rdsFlags(sim, sim.privateKeyPath),
      "--node-transport",
      "loop",
      "--loop-pool-path",
      sim.poolMountPath,
      "--node-id",
      "image-node",
    ],
    dir,
    socketDir,
    true,
  );
}
