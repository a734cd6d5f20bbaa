import type { Storage, StoragePools } from "../storage/index.js";
import { controllerGetCapabilities, validateVolumeCapabilities } from "./controller/capabilities.js";
import { getCapacity } from "./controller/capacity.js";
import { type ControllerSettings, createController } from "./controller/context.js";
import { controllerExpandVolume } from "./controller/expand.js";
import { listSnapshots } from "./controller/listing.js";
import { controllerPublishVolume, controllerUnpublishVolume } from "./controller/publish.js";
import { createSnapshot, deleteSnapshot } from "./controller/snapshots.js";
import { createVolume, deleteVolume } from "./controller/volumes.js";
import { unimplemented } from "./errors.js";
import { KeyedLocks } from "./locks.js";
import type { RequestContext, ServiceHandlers } from "./pipeline.js";
import type { ControllerMethods, Outgoing } from "./types.js";

export type { ControllerSettings, VolumeAttachment } from "./controller/context.js";

export interface ControllerServiceOptions {
  /** The driver's objects on the RDS, shared with the rest of the controller process (the reconciler). */
  storage: Storage;
  /** Every pool served (`--rds-pools`), the default one being `storage`; without it, `storage` alone. */
  pools?: StoragePools;
  settings: ControllerSettings;
  /** Per-id operation guard; pass one to share it with other services of the process. */
  locks?: KeyedLocks;
}

type ControllerHandlers = {
  [M in keyof ControllerMethods]: (
    req: ControllerMethods[M]["request"],
    ctx: RequestContext,
  ) => Promise<Outgoing<ControllerMethods[M]["response"]>>;
};

const notImplemented = (what: string) => async (): Promise<never> => {
  throw unimplemented(`${what} is not implemented by this driver`);
};

/**
 * The CSI Controller service. It keeps no state of its own: every answer is read from the RDS,
 * so any number of restarts between calls changes nothing. Each RPC lives in src/csi/controller/.
 */
export function createControllerService(options: ControllerServiceOptions): ServiceHandlers {
  const c = createController(
    options.pools ?? options.storage,
    options.settings,
    options.locks ?? new KeyedLocks(),
  );
  const handlers: ControllerHandlers = {
    CreateVolume: (req, ctx) => createVolume(c, req, ctx),
    DeleteVolume: (req, ctx) => deleteVolume(c, req, ctx),
    ControllerGetCapabilities: () => controllerGetCapabilities(),
    ValidateVolumeCapabilities: (req, ctx) => validateVolumeCapabilities(c, req, ctx),
    GetCapacity: (req, ctx) => getCapacity(c, req, ctx),
    ControllerExpandVolume: (req, ctx) => controllerExpandVolume(c, req, ctx),
    CreateSnapshot: (req, ctx) => createSnapshot(c, req, ctx),
    DeleteSnapshot: (req, ctx) => deleteSnapshot(c, req, ctx),
    ListSnapshots: (req, ctx) => listSnapshots(c, req, ctx),
    ControllerPublishVolume: (req, ctx) => controllerPublishVolume(c, req, ctx),
    ControllerUnpublishVolume: (req, ctx) => controllerUnpublishVolume(c, req, ctx),
    ListVolumes: notImplemented("ListVolumes"),
    ControllerGetVolume: notImplemented("ControllerGetVolume"),
    ControllerModifyVolume: notImplemented("ControllerModifyVolume"),
    GetSnapshot: notImplemented("GetSnapshot"),
  };
  return handlers;
}
