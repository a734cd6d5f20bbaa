import type { RequestContext } from "../pipeline.js";
import type { GetCapacityRequest, GetCapacityResponse, Outgoing } from "../types.js";
import { type Controller, callOf } from "./context.js";
import { capabilitiesVerdict, checkParameters } from "./validate.js";

/** GetCapacity: free space in the pool; volumes are sparse, so this is what new data can still use. */
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
