import { allowedHosts, describeExport, isVolumeId, type VolumeRecord } from "../../storage/index.js";
import { failedPrecondition, invalidArgument, notFound } from "../errors.js";
import { parseNodeId } from "../node-id.js";
import type { RequestContext } from "../pipeline.js";
import type {
  ControllerPublishVolumeRequest,
  ControllerPublishVolumeResponse,
  ControllerUnpublishVolumeRequest,
  ControllerUnpublishVolumeResponse,
  Outgoing,
  VolumeCapability,
} from "../types.js";
import { type Controller, callOf } from "./context.js";
import { isSharedBlock, requireId, requireSupportedCapabilities } from "./validate.js";

/**
 * ControllerPublishVolume and ControllerUnpublishVolume: export fencing. A volume is exported to
 * the host NQNs of the nodes it is published to and to no one else (src/storage/exports.ts says how
 * that is written to RouterOS without ever widening access on the way).
 */

export async function controllerPublishVolume(
  c: Controller,
  req: ControllerPublishVolumeRequest,
  ctx: RequestContext,
): Promise<Outgoing<ControllerPublishVolumeResponse>> {
  const volumeId = requireId(req.volume_id, "volume_id");
  const nodeId = requireId(req.node_id, "node_id");
  const capability = requireCapability(req.volume_capability);
  const node = parseNodeId(nodeId);
  if (!isVolumeId(volumeId)) throw notFound(`volume ${volumeId} does not exist`);
  if (node === undefined) {
    throw notFound(`node ${nodeId} is not known to this driver (a node id is "<node name>/<host NQN>")`);
  }
  return c.locks.withLock(volumeId, async () => {
    const call = callOf(ctx);
    const volume = await c.storage.volumes.find(volumeId, call);
    if (volume === undefined) throw notFound(`volume ${volumeId} does not exist`);
    const hosts = allowedHosts(volume.export);
    if (hosts.includes(node.hostNqn)) return { publish_context: {} };
    await c.storage.volumes.setAllowedHosts(
      volume,
      [...hostsToKeep(c, volume, capability, nodeId), node.hostNqn],
      call,
    );
    ctx.log.info(
      { volumeId, node: node.nodeName, hostNqn: node.hostNqn, was: describeExport(volume.export) },
      "volume published",
    );
    return { publish_context: {} };
  });
}

export async function controllerUnpublishVolume(
  c: Controller,
  req: ControllerUnpublishVolumeRequest,
  ctx: RequestContext,
): Promise<Outgoing<ControllerUnpublishVolumeResponse>> {
  const volumeId = requireId(req.volume_id, "volume_id");
  // Nothing of ours, or a node that could never have been allowed: nothing to revoke.
  if (!isVolumeId(volumeId)) return {};
  const node = req.node_id === "" ? undefined : parseNodeId(req.node_id);
  if (req.node_id !== "" && node === undefined) return {};
  return c.locks.withLock(volumeId, async () => {
    const call = callOf(ctx);
    const volume = await c.storage.volumes.find(volumeId, call);
    if (volume === undefined) return {};
    // An empty node_id unpublishes from every node (CSI spec), which is also how a volume made
    // before export fencing, exported to every host, is fenced.
    // One node's unpublish of a volume never published through this driver leaves it as it is.
    if (volume.export.kind === "everyone" && node !== undefined) return {};
    const keep = node === undefined ? [] : allowedHosts(volume.export).filter((h) => h !== node.hostNqn);
    await c.storage.volumes.setAllowedHosts(volume, keep, call);
    ctx.log.info({ volumeId, node: node?.nodeName ?? "(all)", remaining: keep.length }, "volume unpublished");
    return {};
  });
}

function requireCapability(cap: VolumeCapability | null): VolumeCapability {
  if (cap === null) throw invalidArgument("volume_capability is required");
  requireSupportedCapabilities([cap]);
  return cap;
}

/**
 * The hosts that stay allowed beside the publishing node. Only a raw block volume published
 * MULTI_NODE_MULTI_WRITER is shared; any other volume already published to another node is
 * FAILED_PRECONDITION (the CO unpublishes it there first). A volume exported to every host (made
 * before export fencing) is narrowed to the publishing node.
 */
function hostsToKeep(
  c: Controller,
  volume: VolumeRecord,
  capability: VolumeCapability,
  nodeId: string,
): readonly string[] {
  const others = allowedHosts(volume.export);
  if (others.length === 0) return [];
  if (!isSharedBlock(capability)) {
    throw failedPrecondition(
      `volume ${volume.volumeId} is ${describeExport(volume.export)} and cannot also be published to ` +
        `node ${nodeId}: only raw block volumes with MULTI_NODE_MULTI_WRITER attach to several nodes`,
    );
  }
  if (!c.allowHostList) {
    throw failedPrecondition(
      `volume ${volume.volumeId} is ${describeExport(volume.export)}; allowing a second host needs a RouterOS ` +
        "that takes a list in nvme-tcp-server-allow-host-name (--rds-allow-host-list, see docs/install.md)",
    );
  }
  return others;
}
