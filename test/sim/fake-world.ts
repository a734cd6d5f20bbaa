/**
 * An in-memory world for the interpreter's unit tests: no pool, no root. Files do not exist on the
 * host, so disks report their recorded sizes; subvolumes are a fixed list.
 */
import type { Btrfs, Subvolume } from "../../src/sim/backend/btrfs.js";
import { PathMapper } from "../../src/sim/backend/paths.js";
import { type InjectionEvent, Interpreter } from "../../src/sim/interpreter.js";
import { buildMenus } from "../../src/sim/menus/index.js";
import { Mutex } from "../../src/sim/mutex.js";
import { defaultSettings, mergeSettings, type Settings } from "../../src/sim/settings.js";
import type { DiskRecord, StateStore } from "../../src/sim/state.js";
import type { SimWorld } from "../../src/sim/world.js";

export function fileDisk(
  id: number,
  slot: string,
  filePath: string,
  size: bigint,
  extra: Partial<DiskRecord> = {},
) {
  return {
    id,
    type: "file",
    slot,
    disabled: false,
    filePath,
    fileSize: size,
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
    ...extra,
  } satisfies DiskRecord;
}

export interface FakeWorld {
  world: SimWorld;
  interpreter: Interpreter;
  injections: Array<{ event: InjectionEvent; line: string }>;
  setSettings(patch: Record<string, unknown>): void;
  run(line: string, width?: number): Promise<string>;
}

export function fakeWorld(
  opts: {
    pool?: string;
    disks?: DiskRecord[];
    subvolumes?: Subvolume[];
    /** The subvolume listing, read at every query (a test changes it between queries). */
    listing?: () => readonly Subvolume[];
  } = {},
): FakeWorld {
  const pool = opts.pool ?? "raid1";
  let settings: Settings = defaultSettings();
  const disks = opts.disks ?? [];
  let nextId = Math.max(0, ...disks.map((d) => d.id)) + 1;
  const state = {
    disks,
    settings: {},
    allocateId: () => nextId++,
    save: async () => undefined,
  } as unknown as StateStore;
  const btrfs = {
    list: async () => (opts.listing ? opts.listing() : (opts.subvolumes ?? [])),
    invalidate() {},
  } as unknown as Btrfs;
  const view = {
    name: pool,
    label: pool,
    uuid: "40437dbc-2318-45dc-817b-b3bb95cf48ab",
    mountPath: "/nonexistent-sim-pool",
    loopDevice: "/dev/loop-none",
    capacity: async () => ({ size: 16003143565312n, free: 14789895307264n }),
  };
  const world: SimWorld = {
    pool: view,
    btrfs,
    pools: [{ view, btrfs }],
    state,
    paths: new PathMapper([view]),
    startedAt: new Date(),
    ssh: { port: 2222, authorizedKeysFile: "/nonexistent-sim-keys", hostKeyType: "rsa" },
    settings: () => settings,
    applySettings: async (patch) => {
      settings = mergeSettings(settings, patch);
      return settings;
    },
    log: () => undefined,
    logEntries: () => [],
  };
  const injections: Array<{ event: InjectionEvent; line: string }> = [];
  const lock = new Mutex();
  const interpreter = new Interpreter({
    ...buildMenus(world),
    settings: () => settings,
    onInjection: (event, line) => injections.push({ event, line }),
    withWriteLock: (fn) => lock.run(fn),
  });
  return {
    world,
    interpreter,
    injections,
    setSettings(patch) {
      settings = mergeSettings(settings, patch);
    },
    async run(line, width = 80) {
      const outcome = await interpreter.executeLine(line, width);
      return outcome.lines.map((l) => `${l}\n`).join("");
    },
  };
}
