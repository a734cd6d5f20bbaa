import { VolumeInUseError } from "../../storage/index.js";
import { failedPrecondition, invalidArgument, notFound, outOfRange } from "../errors.js";
import type { RequestContext } from "../pipeline.js";
import type { ControllerExpandVolumeRequest, ControllerExpandVolumeResponse, Outgoing } from "../types.js";
import { type Controller, callOf, volumeOf } from "./context.js";
import { expandedSize } from "./sizes.js";
import { requireId, requireRange, requireSupportedCapabilities } from "./validate.js";

/**
 * ControllerExpandVolume: grows the image on the RDS; the node then grows the filesystem (block
 * volumes need nothing more). A volume already at or above the request is left as it is.
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
  const target = volumeOf(c, volumeId);
  if (target === undefined) throw notFound(`volume ${volumeId} does not exist`);
  const { volumes } = target.pool.storage;
  return c.locks.withLock(target.pool.csiId(target.id), async () => {
    const call = callOf(ctx);
    const volume = await volumes.find(target.id, call);
    if (volume === undefined) throw notFound(`volume ${volumeId} does not exist`);
    const choice = expandedSize(range, volume.sizeBytes);
    if (!choice.ok) {
      throw choice.reason === "invalid" ? invalidArgument(choice.message) : outOfRange(choice.message);
    }
    const grown =
      choice.bytes > volume.sizeBytes
        ? await volumes.grow(target.id, choice.bytes, call).catch((err: unknown) => {
            // The CSI answer for a published volume the plugin cannot grow online.
            throw err instanceof VolumeInUseError ? failedPrecondition(err.message) : err;
          })
        : volume;
    return {
      capacity_bytes: grown.sizeBytes.toString(),
      node_expansion_required: req.volume_capability?.access_type !== "block",
    };
  });
}
