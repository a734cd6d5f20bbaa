import { CsiError, invalidArgument, notFound } from "../errors.js";
import type { RequestContext } from "../pipeline.js";
import type {
  ControllerCapabilityType,
  ControllerGetCapabilitiesResponse,
  Outgoing,
  ValidateVolumeCapabilitiesRequest,
  ValidateVolumeCapabilitiesResponse,
} from "../types.js";
import { type Controller, callOf, volumeOf } from "./context.js";
import { capabilitiesVerdict, checkParameters, POOL_PARAMETER, requireId } from "./validate.js";

/** ControllerGetCapabilities and ValidateVolumeCapabilities: what this controller can do. */

/**
 * GET_SNAPSHOT is alpha in CSI 1.12 and csi-sanity 5.4 rejects it; volume listing is not
 * implemented, so it is not advertised. PUBLISH_UNPUBLISH_VOLUME is export fencing (publish.ts);
 * PUBLISH_READONLY its `readonly` flag, which the node honours from publish_context.
 */
export const CONTROLLER_CAPABILITIES: readonly ControllerCapabilityType[] = [
  "CREATE_DELETE_VOLUME",
  "CREATE_DELETE_SNAPSHOT",
  "LIST_SNAPSHOTS",
  "CLONE_VOLUME",
  "EXPAND_VOLUME",
  "GET_CAPACITY",
  "PUBLISH_UNPUBLISH_VOLUME",
  "PUBLISH_READONLY",
];

export async function controllerGetCapabilities(): Promise<Outgoing<ControllerGetCapabilitiesResponse>> {
  return { capabilities: CONTROLLER_CAPABILITIES.map((type) => ({ rpc: { type } })) };
}

export async function validateVolumeCapabilities(
  c: Controller,
  req: ValidateVolumeCapabilitiesRequest,
  ctx: RequestContext,
): Promise<Outgoing<ValidateVolumeCapabilitiesResponse>> {
  const volumeId = requireId(req.volume_id, "volume_id");
  const verdict = capabilitiesVerdict(req.volume_capabilities);
  const target = volumeOf(c, volumeId);
  if (
    target === undefined ||
    (await target.pool.storage.volumes.find(target.id, callOf(ctx))) === undefined
  ) {
    throw notFound(`volume ${volumeId} does not exist`);
  }
  const parameterProblem = problemOf(() => {
    checkParameters(req.parameters, "StorageClass", [POOL_PARAMETER]);
    const pool = req.parameters[POOL_PARAMETER];
    if (pool !== undefined && pool !== target.pool.name) {
      throw invalidArgument(`volume ${volumeId} is in pool ${target.pool.name}, not ${pool}`);
    }
  });
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
