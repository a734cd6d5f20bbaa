import type { RequestContext } from "../pipeline.js";
import type { GetCapacityRequest, GetCapacityResponse, Outgoing } from "../types.js";
import { type Controller, callOf, poolNamed } from "./context.js";
import { capabilitiesVerdict, checkParameters, POOL_PARAMETER, poolParameterOf } from "./validate.js";

/**
 * GetCapacity: free space in the StorageClass's pool (`pool` parameter, or the default pool);
 * volumes are sparse, so this is what new data can still use.
 */
export async function getCapacity(
  c: Controller,
  req: GetCapacityRequest,
  ctx: RequestContext,
): Promise<Outgoing<GetCapacityResponse>> {
  checkParameters(req.parameters, "StorageClass", [POOL_PARAMETER]);
  const pool = poolNamed(c, poolParameterOf(req.parameters));
  if (req.volume_capabilities.length > 0 && capabilitiesVerdict(req.volume_capabilities) !== undefined) {
    return { available_capacity: "0" };
  }
  const free = await pool.storage.poolFreeBytes(callOf(ctx));
  return { available_capacity: free.toString() };
}
