import type { Btrfs } from "./backend/btrfs.js";
import type { PathMapper } from "./backend/paths.js";
import type { Settings } from "./settings.js";
import type { StateStore } from "./state.js";
import type { NvmeSessions } from "./target.js";

/** The mounted storage pool as the menus see it. */
export interface PoolView {
  /** Slot and mount-point name, e.g. `raid1`. */
  readonly name: string;
  /** Btrfs label (the `fs=` argument). */
  readonly label: string;
  readonly uuid: string;
  readonly mountPath: string;
  /** The loop device under the pool (for `/disk monitor-traffic`). */
  readonly loopDevice: string;
  capacity(): Promise<{ size: bigint; free: bigint }>;
}

export interface LogEntry {
  readonly time: Date;
  readonly topics: string;
  readonly message: string;
}

/** The SSH service as `/ip service`, `/ip ssh` and `/user ssh-keys` show it. */
export interface SshServiceView {
  /** The port actually listened on (known once listening). */
  port: number;
  readonly authorizedKeysFile: string;
  /** `rsa` or `ed25519`. */
  readonly hostKeyType: string;
}

/** One Btrfs pool of the router: its own filesystem on its own loop device. */
export interface SimPool {
  readonly view: PoolView;
  readonly btrfs: Btrfs;
}

/** Everything the menus act on: the pools, Btrfs, the persistent `/disk` table and the settings. */
export interface SimWorld {
  /** The first pool (`--pool`); `pools` holds it and every `--extra-pool`. */
  readonly pool: PoolView;
  readonly btrfs: Btrfs;
  /** Every pool, the first one first. */
  readonly pools: readonly SimPool[];
  readonly state: StateStore;
  readonly paths: PathMapper;
  readonly startedAt: Date;
  readonly ssh: SshServiceView;
  settings(): Settings;
  /** Changes settings at runtime (`/system identity set`); validated like the control channel. */
  applySettings(patch: Record<string, unknown>): Promise<Settings>;
  log(topics: string, message: string): void;
  /** Hosts connected through the NVMe target stand-in (target.ts); absent in unit-test worlds. */
  readonly nvmeSessions?: NvmeSessions;
  logEntries(): readonly LogEntry[];
}
