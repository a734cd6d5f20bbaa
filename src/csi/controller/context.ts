import type { CallOptions, Storage } from "../../storage/index.js";
import type { KeyedLocks } from "../locks.js";
import type { RequestContext } from "../pipeline.js";
import type { StringMap } from "../types.js";
import { WalkCache } from "./walk-cache.js";

/** How nodes reach a volume: what goes into its volume_context (keys in src/node/README.md). */
export interface VolumeAttachment {
  transport: "nvme-tcp" | "loop";
  /** Where nodes connect for NVMe/TCP. */
  nvmeAddress: string;
  nvmePort: number;
  /** For the loop transport: where the emulator's pool is mounted on the nodes. */
  loopPoolPath?: string | undefined;
}

/** What the Controller service needs besides storage and locks. */
export interface ControllerSettings {
  /** Snapshots one volume may have; 0 for no limit. */
  maxSnapshotsPerVolume: number;
  attachment: VolumeAttachment;
  /**
   * RouterOS takes several host NQNs, comma-separated, in `nvme-tcp-server-allow-host-name`
   * (unconfirmed; off by default). Without it a second node is refused FAILED_PRECONDITION.
   */
  allowHostList?: boolean;
  /** Volumes one node may have published (the node's NodeGetInfo max_volumes_per_node); 0 for no limit. */
  maxVolumesPerNode?: number;
}

/** What every controller RPC module works with. */
export interface Controller {
  readonly storage: Storage;
  readonly locks: KeyedLocks;
  readonly maxSnapshotsPerVolume: number;
  readonly allowHostList: boolean;
  readonly maxVolumesPerNode: number;
  /** Listings kept for the later pages of a ListSnapshots walk (walk-cache.ts); never the truth. */
  readonly walks: WalkCache;
  /** What the node needs to attach a volume (keys documented in src/node/README.md). */
  volumeContext(volumeId: string, nqn: string): StringMap;
}

export function createController(
  storage: Storage,
  settings: ControllerSettings,
  locks: KeyedLocks,
): Controller {
  const { transport, nvmeAddress, nvmePort, loopPoolPath } = settings.attachment;
  if (transport === "loop" && loopPoolPath === undefined) {
    throw new Error("the loop transport needs loopPoolPath");
  }
  return {
    storage,
    locks,
    maxSnapshotsPerVolume: settings.maxSnapshotsPerVolume,
    allowHostList: settings.allowHostList ?? false,
    maxVolumesPerNode: settings.maxVolumesPerNode ?? 0,
    walks: new WalkCache(),
    volumeContext(volumeId, nqn) {
      const context: StringMap = { transport, nvmeAddress, nvmePort: String(nvmePort), nqn };
      if (transport === "loop" && loopPoolPath !== undefined) {
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
