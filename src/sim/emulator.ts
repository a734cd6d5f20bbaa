import { mkdir, readFile } from "node:fs/promises";
import path from "node:path";
import { Btrfs } from "./backend/btrfs.js";
import { CommandHelper } from "./backend/helper.js";
import { PathMapper } from "./backend/paths.js";
import { assertCanMount, Pool } from "./backend/pool.js";
import { useCommandHelper } from "./backend/run.js";
import { ControlServer } from "./control.js";
import { controlHandler } from "./control-ops.js";
import { CostModel } from "./cost.js";
import { EventLog } from "./events.js";
import { type ExecDeps, runExec } from "./exec.js";
import { FaultInjector } from "./faults.js";
import { hostKeyIdentity, loadOrCreateHostKey } from "./host-key.js";
import { Interpreter } from "./interpreter.js";
import { buildMenus } from "./menus/index.js";
import { Mutex } from "./mutex.js";
import { defaultSettings, mergeSettings, type Settings } from "./settings.js";
import { SshServer } from "./ssh-server.js";
import { type DiskRecord, StateStore } from "./state.js";
import { NvmeSessions, targetServer } from "./target.js";
import type { LogEntry, PoolView, SimPool, SimWorld } from "./world.js";

export interface EmulatorOptions {
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  readonly authorizedKeysFile: string;
  readonly size: bigint;
  readonly pool: string;
  /**
   * More pools, each its own Btrfs image on its own loop device, mounted at
   * `<dataDir>/pools/<name>/mnt` (`--extra-pool name:size`).
   */
  readonly extraPools?: readonly { name: string; size: bigint }[];
  readonly routerosVersion?: string;
  readonly settingsFile?: string;
  readonly hostKeyFile?: string;
  /** Diagnostic lines (never secrets). */
  readonly log: (line: string) => void;
}

/** Settings kept only while running: a restart never starts with a full pool or refused logins. */
const TRANSIENT_SETTINGS = ["pool_full", "reject_sessions", "faults"] as const;

/** The live settings; runtime changes are saved in the state file (except transient ones). */
class LiveSettings {
  constructor(
    public current: Settings,
    private readonly state: StateStore,
  ) {}

  async apply(patch: unknown): Promise<Settings> {
    this.current = mergeSettings(this.current, patch);
    const persisted: Record<string, unknown> = {
      ...this.state.settings,
      ...(patch as Record<string, unknown>),
    };
    for (const key of TRANSIENT_SETTINGS) delete persisted[key];
    this.state.settings = persisted;
    await this.state.save();
    return this.current;
  }
}

function simPool(name: string, pool: Pool): SimPool {
  return {
    view: {
      name,
      label: pool.label,
      uuid: pool.uuid,
      mountPath: pool.mountPath,
      loopDevice: pool.loopDevice,
      capacity: () => pool.capacity(),
    },
    btrfs: new Btrfs(pool.mountPath),
  };
}

function createWorld(
  pools: readonly SimPool[],
  options: EmulatorOptions,
  state: StateStore,
  settings: LiveSettings,
  hostKeyType: string,
): SimWorld {
  const logEntries: LogEntry[] = [];
  const [first] = pools as [SimPool];
  return {
    pool: first.view,
    btrfs: first.btrfs,
    pools,
    state,
    paths: new PathMapper(pools.map((p) => p.view)),
    startedAt: new Date(),
    ssh: { port: options.port, authorizedKeysFile: options.authorizedKeysFile, hostKeyType },
    settings: () => settings.current,
    applySettings: (patch) => settings.apply(patch),
    log: (topics, message) => {
      logEntries.push({ time: new Date(), topics, message });
      if (logEntries.length > 1000) logEntries.shift();
    },
    logEntries: () => logEntries,
    nvmeSessions: new NvmeSessions(),
  };
}

function createExecDeps(world: SimWorld, settings: LiveSettings): ExecDeps {
  const events = new EventLog();
  const lock = new Mutex();
  const interpreter = new Interpreter({
    ...buildMenus(world),
    settings: () => settings.current,
    onInjection: (event, line) => events.injection(line, event),
    withWriteLock: (fn) => lock.run(fn),
  });
  const faults = new FaultInjector();
  for (const rule of settings.current.faults) faults.add(rule);
  return { interpreter, faults, events, cost: new CostModel(), settings: () => settings.current };
}

/** A running RDS emulator: Btrfs pool, RouterOS CLI interpreter, SSH front and control channel. */
export class Emulator {
  private constructor(
    readonly world: SimWorld,
    readonly pool: Pool,
    /** The `--extra-pool` pools, in the order given. */
    readonly extraPools: readonly Pool[],
    readonly ssh: SshServer,
    readonly control: ControlServer,
    /** The NVMe/TCP target stand-in the loop transport asks before attaching (target.ts). */
    readonly target: ControlServer,
    readonly address: { host: string; port: number },
    readonly hostKeyFingerprint: string,
    private readonly helper: CommandHelper,
  ) {}

  static async start(options: EmulatorOptions): Promise<Emulator> {
    assertCanMount();
    await mkdir(options.dataDir, { recursive: true });
    const state = await StateStore.load(options.dataDir);
    const settings = new LiveSettings(await initialSettings(options, state), state);
    // First, while this process is small: every tool the emulator runs is started by the helper,
    // so a start costs the same with 10 000 subvolumes in the tables as with none.
    const helper = new CommandHelper({ log: options.log });
    helper.start();
    useCommandHelper(helper);
    const stopHelper = async () => {
      useCommandHelper(undefined);
      await helper.close();
    };
    let pool: Pool;
    try {
      pool = await Pool.open({ dataDir: options.dataDir, size: options.size, label: options.pool });
    } catch (e) {
      await stopHelper();
      throw e;
    }
    const undo: Array<() => Promise<void>> = [() => pool.close(), stopHelper];
    const extraPools: Pool[] = [];
    try {
      for (const extra of options.extraPools ?? []) {
        const dataDir = path.join(options.dataDir, "pools", extra.name);
        const opened = await Pool.open({ dataDir, size: extra.size, label: extra.name });
        extraPools.push(opened);
        undo.unshift(() => opened.close());
      }
      const hostKey = loadOrCreateHostKey(
        options.hostKeyFile ?? path.join(options.dataDir, "ssh_host_rsa_key"),
        options.hostKeyFile === undefined,
      );
      const identity = hostKeyIdentity(hostKey);
      const pools = [
        simPool(options.pool, pool),
        ...extraPools.map((p, i) => simPool(options.extraPools?.[i]?.name as string, p)),
      ];
      const world = createWorld(
        pools,
        options,
        state,
        settings,
        identity.type === "ssh-ed25519" ? "ed25519" : "rsa",
      );
      for (const p of world.pools) await seedPoolDisk(world, p.view);
      const execDeps = createExecDeps(world, settings);
      const ssh = new SshServer({
        hostKey,
        authorizedKeysFile: options.authorizedKeysFile,
        settings: () => settings.current,
        exec: (request, io) => runExec(execDeps, request, io),
        onError: options.log,
      });
      const address = await ssh.listen(options.host, options.port);
      world.ssh.port = address.port;
      undo.unshift(() => ssh.close());
      const control = new ControlServer(
        path.join(options.dataDir, "control.sock"),
        controlHandler({
          ...execDeps,
          ssh,
          pool,
          world,
          hostKeyFingerprint: identity.fingerprint,
          hostPublicKey: `${identity.type} ${identity.publicBlob.toString("base64")}`,
          applySettings: (patch) => settings.apply(patch),
        }),
      );
      await control.listen();
      undo.unshift(() => control.close());
      const target = targetServer(options.dataDir, world);
      await target.listen();
      const listening = { host: address.address, port: address.port };
      return new Emulator(
        world,
        pool,
        extraPools,
        ssh,
        control,
        target,
        listening,
        identity.fingerprint,
        helper,
      );
    } catch (e) {
      for (const step of undo) await step().catch(() => undefined);
      throw e;
    }
  }

  /** Closes every connection, then unmounts the pool and detaches its loop device. */
  async stop(): Promise<void> {
    await this.ssh.close();
    await this.control.close();
    await this.target.close();
    for (const extra of this.extraPools) await extra.close();
    try {
      await this.pool.close();
    } finally {
      useCommandHelper(undefined);
      await this.helper.close();
    }
  }
}

async function initialSettings(options: EmulatorOptions, state: StateStore): Promise<Settings> {
  let settings = mergeSettings(defaultSettings(), state.settings);
  if (options.settingsFile) {
    let patch: unknown;
    try {
      patch = JSON.parse(await readFile(options.settingsFile, "utf8"));
    } catch (e) {
      throw new Error(`cannot read settings file ${options.settingsFile}: ${(e as Error).message}`);
    }
    settings = mergeSettings(settings, patch);
  }
  if (options.routerosVersion)
    settings = mergeSettings(settings, { routeros_version: options.routerosVersion });
  return settings;
}

/**
 * A pool disk (type raid, Btrfs, mounted) per pool: the first `/disk` items of a new data
 * directory; a pool added later comes after the pool disks already there.
 */
async function seedPoolDisk(world: SimWorld, pool: PoolView): Promise<void> {
  if (world.state.disks.some((d) => d.pool && d.slot === pool.name)) return;
  const hex = pool.uuid.replace(/-/g, "").padEnd(32, "0");
  const record: DiskRecord = {
    id: world.state.allocateId(),
    type: "raid",
    slot: pool.name,
    disabled: false,
    fileOffset: 0n,
    mountFilesystem: true,
    mountReadOnly: false,
    compress: false,
    nvmeTcpExport: false,
    nvmeTcpServerPort: 4420,
    nvmeTcpServerAllowHostName: "",
    iscsiExport: false,
    nfsSharing: false,
    smbSharing: false,
    mediaSharing: false,
    mediaInterface: "none",
    swap: false,
    pool: true,
    raidUuid: [0, 8, 16, 24].map((i) => hex.slice(i, i + 8)).join("-"),
  };
  const after = world.state.disks.filter((d) => d.pool).length;
  world.state.disks.splice(after, 0, record);
  await world.state.save();
}
