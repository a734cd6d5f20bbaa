import type { ControllerConfig } from "../../config.js";
import type { Logger } from "../../log.js";
import { type CallOptions, createStorage, type Storage, type StorageRds } from "../../storage/index.js";
import type { KeyedLocks } from "../locks.js";
import type { RequestContext } from "../pipeline.js";
import type { StringMap } from "../types.js";

/** The configuration the Controller service reads (a slice of the controller's config). */
export type ControllerSettings = Pick<
  ControllerConfig,
  | "rdsAddress"
  | "rdsPool"
  | "rdsFsLabel"
  | "rdsRoot"
  | "nvmeAddress"
  | "nvmePort"
  | "nqnPrefix"
  | "maxSnapshotsPerVolume"
  | "nodeTransport"
  | "loopPoolPath"
>;

/** What every controller RPC module works with. */
export interface Controller {
  readonly storage: Storage;
  readonly locks: KeyedLocks;
  readonly maxSnapshotsPerVolume: number;
  /** What the node needs to attach a volume (keys documented in src/node/README.md). */
  volumeContext(volumeId: string, nqn: string): StringMap;
}

export function createController(
  rds: StorageRds,
  settings: ControllerSettings,
  locks: KeyedLocks,
  logger: Logger,
): Controller {
  const storage = createStorage(rds, {
    pool: settings.rdsPool,
    fsLabel: settings.rdsFsLabel ?? settings.rdsPool,
    root: settings.rdsRoot,
    nvmePort: settings.nvmePort,
    nqnPrefix: settings.nqnPrefix,
    logger,
  });
  const nvmeAddress = settings.nvmeAddress ?? settings.rdsAddress;
  const loopPoolPath = settings.loopPoolPath;
  if (settings.nodeTransport === "loop" && loopPoolPath === undefined) {
    throw new Error("the loop transport needs loopPoolPath");
  }
  return {
    storage,
    locks,
    maxSnapshotsPerVolume: settings.maxSnapshotsPerVolume,
    volumeContext(volumeId, nqn) {
      const context: StringMap = {
        transport: settings.nodeTransport,
        nvmeAddress,
        nvmePort: String(settings.nvmePort),
        nqn,
      };
      if (settings.nodeTransport === "loop" && loopPoolPath !== undefined) {
        context.backingFile = storage.layout.hostImagePath(loopPoolPath, volumeId);
      }
      return context;
    },
  };
}

/** The RouterOS call options of a request: its deadline and cancellation. */
export function callOf(ctx: RequestContext): CallOptions {
  return Number.isFinite(ctx.deadline)
    ? { deadline: ctx.deadline, signal: ctx.signal }
    : { signal: ctx.signal };
}
