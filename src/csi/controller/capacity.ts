import { isVolumeId } from "../../storage/index.js";
import { expandedSize } from "../../storage/sizes.js";
import { CsiError, invalidArgument, notFound, outOfRange } from "../errors.js";
import type { RequestContext } from "../pipeline.js";
import type {
  ControllerCapabilityType,
  ControllerExpandVolumeRequest,
  ControllerExpandVolumeResponse,
  ControllerGetCapabilitiesResponse,
  GetCapacityRequest,
  GetCapacityResponse,
  Outgoing,
  ValidateVolumeCapabilitiesRequest,
  ValidateVolumeCapabilitiesResponse,
} from "../types.js";
import { type Controller, callOf } from "./context.js";
import {
  capabilitiesVerdict,
  checkParameters,
  requireId,
  requireRange,
  requireSupportedCapabilities,
} from "./validate.js";

/** ControllerGetCapabilities, GetCapacity, ControllerExpandVolume, ValidateVolumeCapabilities. */

/**
 * GET_SNAPSHOT is alpha in CSI 1.12 and csi-sanity 5.4 rejects it; publish/unpublish and volume
 * listing are not implemented, so they are not advertised.
 */
export const CONTROLLER_CAPABILITIES: readonly ControllerCapabilityType[] = [
  "CREATE_DELETE_VOLUME",
  "CREATE_DELETE_SNAPSHOT",
  "LIST_SNAPSHOTS",
  "CLONE_VOLUME",
  "EXPAND_VOLUME",
  "GET_CAPACITY",
];

export async function controllerGetCapabilities(): Promise<Outgoing<ControllerGetCapabilitiesResponse>> {
  return { capabilities: CONTROLLER_CAPABILITIES.map((type) => ({ rpc: { type } })) };
}

/** Free space in the pool: volumes are sparse, so this is what new data can still use. */
export async function getCapacity(
  c: Controller,
  req: GetCapacityRequest,
  ctx: RequestContext,
): Promise<Outgoing<GetCapacityResponse>> {
  checkParameters(req.parameters, "StorageClass");
  if (req.volume_capabilities.length > 0 && capabilitiesVerdict(req.volume_capabilities) !== undefined) {
    return { available_capacity: "0" };
  }
  const free = await c.storage.poolFreeBytes(callOf(ctx));
  return { available_capacity: free.toString() };
}

/**
 * Grows the image on the RDS; the node then grows the filesystem (block volumes need nothing
 * more). A volume already at or above the request is left as it is.
 */
export async function controllerExpandVolume(
  c: Controller,
  req: ControllerExpandVolumeRequest,
  ctx: RequestContext,
): Promise<Outgoing<ControllerExpandVolumeResponse>> {
  const volumeId = requireId(req.volume_id, "volume_id");
  if (req.capacity_range === null) throw invalidArgument("capacity_range is required");
  const range = requireRange(req.capacity_range);
  if (req.volume_capability !== null) requireSupportedCapabilities([req.volume_capability]);
  if (!isVolumeId(volumeId)) throw notFound(`volume ${volumeId} does not exist`);
  return c.locks.withLock(volumeId, async () => {
    const call = callOf(ctx);
    const volume = await c.storage.volumes.find(volumeId, call);
    if (volume === undefined) throw notFound(`volume ${volumeId} does not exist`);
    const choice = expandedSize(range, volume.sizeBytes);
    if (!choice.ok) {
      throw choice.reason === "invalid" ? invalidArgument(choice.message) : outOfRange(choice.message);
    }
    const grown =
      choice.bytes > volume.sizeBytes ? await c.storage.volumes.grow(volumeId, choice.bytes, call) : volume;
    return {
      capacity_bytes: grown.sizeBytes.toString(),
      node_expansion_required: req.volume_capability?.access_type !== "block",
    };
  });
}

export async function validateVolumeCapabilities(
  c: Controller,
  req: ValidateVolumeCapabilitiesRequest,
  ctx: RequestContext,
): Promise<Outgoing<ValidateVolumeCapabilitiesResponse>> {
  const volumeId = requireId(req.volume_id, "volume_id");
  const verdict = capabilitiesVerdict(req.volume_capabilities);
  if (!isVolumeId(volumeId) || (await c.storage.volumes.find(volumeId, callOf(ctx))) === undefined) {
    throw notFound(`volume ${volumeId} does not exist`);
  }
  const parameterProblem = problemOf(() => checkParameters(req.parameters, "StorageClass"));
  const message = verdict ?? parameterProblem;
  if (message !== undefined) return { confirmed: null, message };
  return {
    confirmed: {
      volume_context: req.volume_context,
      volume_capabilities: req.volume_capabilities,
      parameters: req.parameters,
      mutable_parameters: req.mutable_parameters,
    },
  };
}

function problemOf(check: () => void): string | undefined {
  try {
    check();
    return undefined;
  } catch (err) {
    if (err instanceof CsiError) return err.message;
    throw err;
  }
}
