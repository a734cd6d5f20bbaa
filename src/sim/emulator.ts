import { mkdir, readFile } from "node:fs/promises";
import path from "node:path";
import { Btrfs } from "./backend/btrfs.js";
import { PathMapper } from "./backend/paths.js";
import { assertCanMount, Pool } from "./backend/pool.js";
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
import type { LogEntry, SimWorld } from "./world.js";

export interface EmulatorOptions {
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  readonly authorizedKeysFile: string;
  readonly size: bigint;
  readonly pool: string;
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

function createWorld(
  options: EmulatorOptions,
  pool: Pool,
  state: StateStore,
  settings: LiveSettings,
  hostKeyType: string,
): SimWorld {
  const logEntries: LogEntry[] = [];
  return {
    pool: {
      name: options.pool,
      label: options.pool,
      uuid: pool.uuid,
      mountPath: pool.mountPath,
      loopDevice: pool.loopDevice,
      capacity: () => pool.capacity(),
    },
    btrfs: new Btrfs(pool.mountPath),
    state,
    paths: new PathMapper(options.pool, pool.mountPath),
    startedAt: new Date(),
    ssh: { port: options.port, authorizedKeysFile: options.authorizedKeysFile, hostKeyType },
    settings: () => settings.current,
    applySettings: (patch) => settings.apply(patch),
    log: (topics, message) => {
      logEntries.push({ time: new Date(), topics, message });
      if (logEntries.length > 1000) logEntries.shift();
    },
    logEntries: () => logEntries,
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
    readonly ssh: SshServer,
    readonly control: ControlServer,
    readonly address: { host: string; port: number },
    readonly hostKeyFingerprint: string,
  ) {}

  static async start(options: EmulatorOptions): Promise<Emulator> {
    assertCanMount();
    await mkdir(options.dataDir, { recursive: true });
    const state = await StateStore.load(options.dataDir);
    const settings = new LiveSettings(await initialSettings(options, state), state);
    const pool = await Pool.open({ dataDir: options.dataDir, size: options.size, label: options.pool });
    const undo: Array<() => Promise<void>> = [() => pool.close()];
    try {
      const hostKey = loadOrCreateHostKey(
        options.hostKeyFile ?? path.join(options.dataDir, "ssh_host_rsa_key"),
        options.hostKeyFile === undefined,
      );
      const identity = hostKeyIdentity(hostKey);
      const world = createWorld(
        options,
        pool,
        state,
        settings,
        identity.type === "ssh-ed25519" ? "ed25519" : "rsa",
      );
      await seedPoolDisk(world);
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
      const listening = { host: address.address, port: address.port };
      return new Emulator(world, pool, ssh, control, listening, identity.fingerprint);
    } catch (e) {
      for (const step of undo) await step().catch(() => undefined);
      throw e;
    }
  }

  /** Closes every connection, then unmounts the pool and detaches its loop device. */
  async stop(): Promise<void> {
    await this.ssh.close();
    await this.control.close();
    await this.pool.close();
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

/** The pool disk (type raid, Btrfs, mounted) is the first `/disk` item of a new data directory. */
async function seedPoolDisk(world: SimWorld): Promise<void> {
  if (world.state.disks.some((d) => d.pool)) return;
  const hex = world.pool.uuid.replace(/-/g, "").padEnd(32, "0");
  const record: DiskRecord = {
    id: world.state.allocateId(),
    type: "raid",
    slot: world.pool.name,
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
  world.state.disks.unshift(record);
  await world.state.save();
}
