import type { Btrfs } from "./backend/btrfs.js";
import type { PathMapper } from "./backend/paths.js";
import type { Settings } from "./settings.js";
import type { StateStore } from "./state.js";

/** The mounted storage pool as the menus see it. */
export interface PoolView {
  /** Slot and mount-point name, e.g. `raid1`. */
  readonly name: string;
  /** Btrfs label (the `fs=` argument). */
  readonly label: string;
  readonly uuid: string;
  readonly mountPath: string;
  capacity(): Promise<{ size: bigint; free: bigint }>;
}

export interface LogEntry {
  readonly time: Date;
  readonly topics: string;
  readonly message: string;
}

/** Everything the menus act on: the pool, Btrfs, the persistent `/disk` table and the settings. */
export interface SimWorld {
  readonly pool: PoolView;
  readonly btrfs: Btrfs;
  readonly state: StateStore;
  readonly paths: PathMapper;
  readonly startedAt: Date;
  settings(): Settings;
  log(topics: string, message: string): void;
  logEntries(): readonly LogEntry[];
}
