import type { RequestContext } from "../pipeline.js";
import type { GetCapacityRequest, GetCapacityResponse, Outgoing } from "../types.js";
import { type Controller, callOf, poolNamed } from "./context.js";
import { capacityUnder, takeQuotas } from "./quotas.js";
import { capabilitiesVerdict, checkParameters, POOL_PARAMETER, poolParameterOf } from "./validate.js";

/**
 * GetCapacity: free space in the StorageClass's pool (`pool` parameter, or the default pool;
 * volumes are sparse, so this is what new data can still use), or under a StorageClass's
 * `maxPoolUsedPercent` what is left before that limit.
 */
export async function getCapacity(
  c: Controller,
  req: GetCapacityRequest,
  ctx: RequestContext,
): Promise<Outgoing<GetCapacityResponse>> {
  const { quotas, rest } = takeQuotas(req.parameters, "StorageClass");
  checkParameters(rest, "StorageClass", [POOL_PARAMETER]);
  const { storage } = poolNamed(c, poolParameterOf(rest));
  if (req.volume_capabilities.length > 0 && capabilitiesVerdict(req.volume_capabilities) !== undefined) {
    return { available_capacity: "0" };
  }
  if (quotas.maxPoolUsedPercent === undefined) {
    return { available_capacity: (await storage.poolFreeBytes(callOf(ctx))).toString() };
  }
  const pool = await storage.poolCapacity(callOf(ctx));
  return { available_capacity: capacityUnder(quotas, pool).toString() };
}
