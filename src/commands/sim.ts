import type { Command } from "commander";
import { parseSize } from "../sim/sizes.js";
import { parseRosVersion } from "../sim/version.js";

interface SimCliOptions {
  listen: string;
  dataDir: string;
  authorizedKeys: string;
  size: string;
  pool: string;
  extraPool: string[];
  routerosVersion?: string;
  settings?: string;
  hostKey?: string;
  stopWithParent?: boolean;
}

/** How often a sim started with --stop-with-parent checks that its parent is still there. */
const PARENT_CHECK_MS = 500;

/** `127.0.0.1:2222`, `[::1]:2222` or `:2222` (all interfaces). */
function parseListen(text: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(text);
  const port = Number(m?.[3]);
  if (!m || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`--listen must look like 127.0.0.1:2222, got ${JSON.stringify(text)}`);
  }
  return { host: m[1] ?? (m[2] || "0.0.0.0"), port };
}

/** `--extra-pool name:size`, e.g. `fast:2G`: another pool on its own image and loop device. */
function parseExtraPool(text: string): { name: string; size: bigint } {
  const [name = "", sizeText = "", ...rest] = text.split(":");
  const size = parseSize(sizeText);
  if (
    rest.length > 0 ||
    !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name) ||
    size === undefined ||
    size < 128n * 1024n * 1024n
  ) {
    throw new Error(
      `--extra-pool must look like fast:2G (a pool name, a size of at least 128M), got ${JSON.stringify(text)}`,
    );
  }
  return { name, size };
}

async function runSim(opts: SimCliOptions): Promise<void> {
  // A parent that went away takes the read ends of our output pipes with it: a write must not
  // crash the process before it has unmounted the pool.
  for (const stream of [process.stdout, process.stderr]) stream.on("error", () => undefined);
  const { host, port } = parseListen(opts.listen);
  const size = parseSize(opts.size);
  if (size === undefined || size < 128n * 1024n * 1024n) {
    throw new Error(`--size must be at least 128M (e.g. 8G), got ${JSON.stringify(opts.size)}`);
  }
  if (!/^[A-Za-z0-9._-]+$/.test(opts.pool))
    throw new Error(`--pool must match [A-Za-z0-9._-]+, got ${opts.pool}`);
  const extraPools = opts.extraPool.map(parseExtraPool);
  for (const [i, extra] of extraPools.entries()) {
    if (extra.name === opts.pool || extraPools.findIndex((e) => e.name === extra.name) !== i)
      throw new Error(`--extra-pool ${extra.name} names a pool twice`);
  }
  if (opts.routerosVersion) parseRosVersion(opts.routerosVersion);
  // Loaded here, not at the top: the driver's processes share this CLI and never run the emulator.
  const { Emulator } = await import("../sim/emulator.js");
  const emulator = await Emulator.start({
    host,
    port,
    dataDir: opts.dataDir,
    authorizedKeysFile: opts.authorizedKeys,
    size,
    pool: opts.pool,
    extraPools,
    ...(opts.routerosVersion ? { routerosVersion: opts.routerosVersion } : {}),
    ...(opts.settings ? { settingsFile: opts.settings } : {}),
    ...(opts.hostKey ? { hostKeyFile: opts.hostKey } : {}),
    log: (line) => process.stderr.write(`rds-csi sim: ${line}\n`),
  });
  const { address, pool } = emulator;
  const extras = emulator.extraPools.map(
    (p, i) => `, pool ${extraPools[i]?.name} mounted at ${p.mountPath} on ${p.loopDevice}`,
  );
  process.stdout.write(
    `rds-csi sim: listening on ${address.host}:${address.port} (pool ${opts.pool} mounted at ${pool.mountPath} ` +
      `on ${pool.loopDevice}${extras.join("")}, host key ${emulator.hostKeyFingerprint}, control ${emulator.control.socketPath})\n`,
  );
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`rds-csi sim: ${signal}: closing connections, unmounting the pool\n`);
    emulator.stop().then(
      () => process.exit(0),
      (e: Error) => {
        process.stderr.write(`rds-csi sim: stop failed: ${e.message}\n`);
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
  if (opts.stopWithParent) {
    // A parent that dies without stopping us (SIGKILL, a crash) must not leave the pool mounted and
    // its loop device taken: once we are re-parented, stop as on SIGTERM.
    const parent = process.ppid;
    setInterval(() => {
      if (process.ppid !== parent) stop("parent exited");
    }, PARENT_CHECK_MS).unref();
  }
}

export function registerSimCommand(program: Command): void {
  program
    .command("sim")
    .description("run an RDS emulator: RouterOS CLI over SSH on a loop-mounted Btrfs image")
    .option("--listen <host:port>", "SSH listen address", "127.0.0.1:2222")
    .requiredOption("--data-dir <dir>", "directory holding the pool image, state and host key")
    .requiredOption("--authorized-keys <file>", "OpenSSH authorized_keys file for user admin (ed25519, rsa)")
    .option("--size <size>", "pool image size when it is created (binary suffixes: 8G)", "8G")
    .option("--pool <name>", "pool slot, mount-point and Btrfs label", "raid1")
    .option(
      "--extra-pool <name:size>",
      "another pool (slot, mount-point and label <name>) on its own image and loop device, mounted at <data-dir>/pools/<name>/mnt; repeatable",
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .option(
      "--routeros-version <version>",
      "RouterOS version to emulate (default 7.22, or the settings file)",
    )
    .option("--settings <file>", "JSON settings file (see src/sim/README.md)")
    .option("--host-key <file>", "SSH host private key (default: generated in the data directory)")
    .option("--stop-with-parent", "stop (and unmount the pool) when the process that started it exits")
    .action(async (opts: SimCliOptions) => {
      try {
        await runSim(opts);
      } catch (e) {
        process.stderr.write(`rds-csi sim: ${e instanceof Error ? e.message : String(e)}\n`);
        process.exit(1);
      }
    });
}
