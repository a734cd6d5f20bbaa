/**
 * The mutating controller operations under test, each able to make a fresh starting point for one
 * test case: its inputs are made through the driver itself (no faults armed), under names unique to
 * the case, and the case's ids are named by role (`volume`, `source`, `snapshot`) so two cases can be
 * compared with their ids masked.
 */
import { open } from "node:fs/promises";
import path from "node:path";
import { snapshotIdFor, volumeIdFor } from "../../src/storage/ids.js";
import {
  createSnapshotRequest,
  createVolumeRequest,
  mountCapability,
  ROOT,
  snapshotSource,
  volumeSource,
} from "../controller/harness.js";
import type { SimFixture } from "../helpers/sim.js";
import type { Roles } from "./pool-state.js";

export type ControllerMethod =
  | "CreateVolume"
  | "DeleteVolume"
  | "CreateSnapshot"
  | "DeleteSnapshot"
  | "ControllerExpandVolume"
  | "ControllerPublishVolume"
  | "ControllerUnpublishVolume";

export interface CaseInput {
  roles: Roles;
  method: ControllerMethod;
  request: object;
}

/** What making a case's inputs needs: a way to call the controller without faults. */
export interface Driver {
  sim: SimFixture;
  call(method: ControllerMethod, request: object): Promise<Record<string, unknown>>;
}

export interface Operation {
  /** Label in the tables. */
  name: string;
  /**
   * Whether a final error must leave the pool exactly as before the call. Creates and expansion
   * must roll back (the CO may give up after a final error, and whatever was made would leak);
   * deletes cannot be undone and are instead finished by the CO, which retries them on any error.
   */
  finalErrorRollsBack: boolean;
  /**
   * What a rolled-back create may leave, as masked change lines: the new volume's empty snapshot
   * directory. The undo does not remove it, because RouterOS may run an undo late, when snapshots
   * may already sit in the directory, and whether `/file remove` of a directory is recursive is
   * unknown; an empty directory is swept later (DeleteSnapshot of an unknown id, the reconciler).
   */
  mayRemainAfterRollBack?: readonly string[];
  /**
   * Who may connect to the case's volume at any moment, checked after every attempt: a problem when
   * the pool lets in anyone else (export fencing must never widen access, whatever fails).
   */
  mayConnect?: readonly string[];
  /** Makes the inputs of one case; `tag` is unique per case and a valid CSI name. */
  prepare(driver: Driver, tag: string): Promise<CaseInput>;
}

/** A new volume's snapshot directory, as `changes` prints it. */
const EMPTY_SNAPSHOT_DIRECTORY = "+ file rds-csi/snaps/{volume}/: directory";

const MiB = 1024n * 1024n;
const VOLUME_BYTES = 2n * MiB;
const GROWN_BYTES = 3n * MiB;

/** The same recognisable bytes in every case's source, so restored and cloned images compare equal. */
const PATTERN = Buffer.alloc(64 * 1024, "rds-csi fault matrix data block\n");

/** Writes the pattern at the start and in the middle of a volume's image, as an application would. */
export async function writePattern(sim: SimFixture, volumeId: string): Promise<void> {
  const image = path.join(sim.poolMountPath, ROOT, "vols", volumeId, "disk.img");
  const file = await open(image, "r+");
  try {
    await file.write(PATTERN, 0, PATTERN.length, 0);
    await file.write(PATTERN, 0, PATTERN.length, Number(MiB) + 4096);
    await file.sync();
  } finally {
    await file.close();
  }
}

async function volumeWithData(driver: Driver, name: string): Promise<string> {
  const res = await driver.call("CreateVolume", createVolumeRequest(name, { required: VOLUME_BYTES }));
  const volumeId = (res.volume as { volume_id: string }).volume_id;
  await writePattern(driver.sim, volumeId);
  return volumeId;
}

async function snapshotOf(driver: Driver, name: string, volumeId: string): Promise<string> {
  const res = await driver.call("CreateSnapshot", createSnapshotRequest(name, volumeId));
  return (res.snapshot as { snapshot_id: string }).snapshot_id;
}

const deleteVolumeRequest = (volumeId: string) => ({ volume_id: volumeId, secrets: {} });

/** The node every publish case publishes to, as the external-attacher names it. */
export const FENCED_HOST = "nqn.2014-08.org.nvmexpress:uuid:f0f0f0f0-0000-4000-8000-0000000000f0";
const FENCED_NODE = `matrix-node/${FENCED_HOST}`;

const publishRequest = (volumeId: string) => ({
  volume_id: volumeId,
  node_id: FENCED_NODE,
  volume_capability: mountCapability(),
  readonly: false,
  secrets: {},
  volume_context: {},
});
const unpublishRequest = (volumeId: string) => ({ volume_id: volumeId, node_id: FENCED_NODE, secrets: {} });
const deleteSnapshotRequest = (snapshotId: string) => ({ snapshot_id: snapshotId, secrets: {} });

/** Restores and clones only read their source, so one source serves every case of the operation. */
function sharedSource(): (driver: Driver, tag: string) => Promise<{ source: string; snapshot: string }> {
  let made: Promise<{ source: string; snapshot: string }> | undefined;
  return (driver, tag) => {
    made ??= (async () => {
      const source = await volumeWithData(driver, `${tag}-shared-source`);
      return { source, snapshot: await snapshotOf(driver, `${tag}-shared-snapshot`, source) };
    })();
    return made;
  };
}

export function createOperations(): Record<string, Operation> {
  const restoreSource = sharedSource();
  const cloneSource = sharedSource();
  return {
    CreateVolume: {
      name: "CreateVolume",
      finalErrorRollsBack: true,
      mayRemainAfterRollBack: [EMPTY_SNAPSHOT_DIRECTORY],
      prepare: async (_driver, tag) => ({
        roles: { volume: volumeIdFor(tag) },
        method: "CreateVolume",
        request: createVolumeRequest(tag, { required: VOLUME_BYTES }),
      }),
    },
    CreateSnapshot: {
      name: "CreateSnapshot",
      finalErrorRollsBack: true,
      prepare: async (driver, tag) => {
        const source = await volumeWithData(driver, `${tag}-source`);
        return {
          roles: { source, snapshot: snapshotIdFor(tag) },
          method: "CreateSnapshot",
          request: createSnapshotRequest(tag, source),
        };
      },
    },
    restore: {
      name: "restore (grown)",
      finalErrorRollsBack: true,
      mayRemainAfterRollBack: [EMPTY_SNAPSHOT_DIRECTORY],
      prepare: async (driver, tag) => {
        const { source, snapshot } = await restoreSource(driver, tag);
        return {
          roles: { source, snapshot, volume: volumeIdFor(tag) },
          method: "CreateVolume",
          request: createVolumeRequest(tag, { required: GROWN_BYTES, source: snapshotSource(snapshot) }),
        };
      },
    },
    clone: {
      name: "clone (grown)",
      finalErrorRollsBack: true,
      mayRemainAfterRollBack: [EMPTY_SNAPSHOT_DIRECTORY],
      prepare: async (driver, tag) => {
        const { source } = await cloneSource(driver, tag);
        return {
          roles: { source, volume: volumeIdFor(tag) },
          method: "CreateVolume",
          request: createVolumeRequest(tag, { required: GROWN_BYTES, source: volumeSource(source) }),
        };
      },
    },
    expand: {
      name: "ControllerExpandVolume",
      finalErrorRollsBack: true,
      prepare: async (driver, tag) => {
        const volume = await volumeWithData(driver, tag);
        return {
          roles: { volume },
          method: "ControllerExpandVolume",
          request: {
            volume_id: volume,
            capacity_range: { required_bytes: String(GROWN_BYTES), limit_bytes: "0" },
            secrets: {},
            volume_capability: mountCapability(),
          },
        };
      },
    },
    publish: {
      name: "ControllerPublishVolume",
      // The attacher retries until the VolumeAttachment is gone; a half-done publish is finished.
      finalErrorRollsBack: false,
      mayConnect: [FENCED_HOST],
      prepare: async (driver, tag) => {
        const volume = await volumeWithData(driver, tag);
        return { roles: { volume }, method: "ControllerPublishVolume", request: publishRequest(volume) };
      },
    },
    unpublish: {
      name: "ControllerUnpublishVolume",
      finalErrorRollsBack: false,
      mayConnect: [FENCED_HOST],
      prepare: async (driver, tag) => {
        const volume = await volumeWithData(driver, tag);
        await driver.call("ControllerPublishVolume", publishRequest(volume));
        return { roles: { volume }, method: "ControllerUnpublishVolume", request: unpublishRequest(volume) };
      },
    },
    DeleteVolume: {
      name: "DeleteVolume",
      finalErrorRollsBack: false,
      prepare: async (driver, tag) => {
        const volume = await volumeWithData(driver, tag);
        return { roles: { volume }, method: "DeleteVolume", request: deleteVolumeRequest(volume) };
      },
    },
    DeleteVolumeWithSnapshot: {
      name: "DeleteVolume (has a snapshot)",
      finalErrorRollsBack: false,
      prepare: async (driver, tag) => {
        const volume = await volumeWithData(driver, tag);
        const snapshot = await snapshotOf(driver, `${tag}-kept`, volume);
        return { roles: { volume, snapshot }, method: "DeleteVolume", request: deleteVolumeRequest(volume) };
      },
    },
    DeleteSnapshot: {
      name: "DeleteSnapshot (last, volume gone)",
      finalErrorRollsBack: false,
      prepare: async (driver, tag) => {
        const volume = await volumeWithData(driver, `${tag}-source`);
        const snapshot = await snapshotOf(driver, tag, volume);
        await driver.call("DeleteVolume", deleteVolumeRequest(volume));
        return {
          roles: { volume, snapshot },
          method: "DeleteSnapshot",
          request: deleteSnapshotRequest(snapshot),
        };
      },
    },
    DeleteSnapshotOfLiveVolume: {
      name: "DeleteSnapshot (volume kept)",
      finalErrorRollsBack: false,
      prepare: async (driver, tag) => {
        const volume = await volumeWithData(driver, `${tag}-source`);
        const snapshot = await snapshotOf(driver, tag, volume);
        return {
          roles: { volume, snapshot },
          method: "DeleteSnapshot",
          request: deleteSnapshotRequest(snapshot),
        };
      },
    },
  };
}
