import { allowedHosts, describeExport, hostTag, type VolumeRecord } from "../../storage/index.js";
import {
  alreadyExists,
  failedPrecondition,
  invalidArgument,
  notFound,
  resourceExhausted,
} from "../errors.js";
import { parseNodeId } from "../node-id.js";
import type { RequestContext } from "../pipeline.js";
import { PUBLISH_READ_ONLY } from "../publish-context.js";
import type {
  ControllerPublishVolumeRequest,
  ControllerPublishVolumeResponse,
  ControllerUnpublishVolumeRequest,
  ControllerUnpublishVolumeResponse,
  Outgoing,
  VolumeCapability,
} from "../types.js";
import { type Controller, callOf, volumeOf } from "./context.js";
import { isSharedBlock, requireId, requireSupportedCapabilities } from "./validate.js";

/**
 * ControllerPublishVolume and ControllerUnpublishVolume: export fencing. A volume is exported to
 * the host NQNs of the nodes it is published to and to no one else (src/storage/exports.ts says how
 * that is written to RouterOS without ever widening access on the way).
 *
 * A read-only publish is remembered per host in the volume's `/disk` comment (metadata.ts), set in
 * the same command as the allow list, and travels to the node in publish_context, which stages
 * and publishes the volume read-only. The attach limit is counted from the allow lists of the
 * driver's disks: the controller keeps no state of its own.
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
  const target = volumeOf(c, volumeId);
  if (target === undefined) throw notFound(`volume ${volumeId} does not exist`);
  if (node === undefined) {
    throw notFound(`node ${nodeId} is not known to this driver (a node id is "<node name>/<host NQN>")`);
  }
  const { volumes } = target.pool.storage;
  return c.locks.withLock(target.pool.csiId(target.id), async () => {
    const call = callOf(ctx);
    const volume = await volumes.find(target.id, call);
    if (volume === undefined) throw notFound(`volume ${volumeId} does not exist`);
    const readOnly = req.readonly;
    const context = { publish_context: readOnly ? { [PUBLISH_READ_ONLY]: "true" } : {} };
    const hosts = allowedHosts(volume.export);
    if (hosts.includes(node.hostNqn)) {
      const wasReadOnly = volume.readOnlyHosts.includes(hostTag(node.hostNqn));
      if (wasReadOnly !== readOnly) {
        throw alreadyExists(
          `volume ${volumeId} is already published ${wasReadOnly ? "read-only" : "read-write"} to node ` +
            `${nodeId}; unpublish it before publishing it ${readOnly ? "read-only" : "read-write"}`,
        );
      }
      return context;
    }
    const keep = hostsToKeep(c, volume, capability, nodeId);
    // Under the node's lock too, so two publishes to one node cannot both take its last slot.
    return c.locks.withLock(`node:${node.hostNqn}`, async () => {
      await requireAttachSlot(c, target.id, node, nodeId, ctx);
      const readOnlyHosts = [...keep.filter((h) => volume.readOnlyHosts.includes(hostTag(h)))];
      if (readOnly) readOnlyHosts.push(node.hostNqn);
      await volumes.setAllowedHosts(volume, [...keep, node.hostNqn], call, readOnlyHosts);
      ctx.log.info(
        {
          volumeId,
          node: node.nodeName,
          hostNqn: node.hostNqn,
          readOnly,
          was: describeExport(volume.export),
        },
        "volume published",
      );
      return context;
    });
  });
}

/** RESOURCE_EXHAUSTED when the node already has --max-volumes-per-node volumes published. */
async function requireAttachSlot(
  c: Controller,
  volumeId: string,
  node: { hostNqn: string },
  nodeId: string,
  ctx: RequestContext,
): Promise<void> {
  const limit = c.maxVolumesPerNode;
  if (limit === 0) return;
  const published = (await c.storage.volumes.publishedTo(node.hostNqn, callOf(ctx))).filter(
    (v) => v !== volumeId,
  );
  if (published.length >= limit) {
    throw resourceExhausted(
      `node ${nodeId} already has ${published.length} volumes published, the most one node may attach ` +
        `(--max-volumes-per-node=${limit}); unpublish one first`,
    );
  }
}

export async function controllerUnpublishVolume(
  c: Controller,
  req: ControllerUnpublishVolumeRequest,
  ctx: RequestContext,
): Promise<Outgoing<ControllerUnpublishVolumeResponse>> {
  const volumeId = requireId(req.volume_id, "volume_id");
  // Nothing of ours, or a node that could never have been allowed: nothing to revoke.
  const target = volumeOf(c, volumeId);
  if (target === undefined) return {};
  const node = req.node_id === "" ? undefined : parseNodeId(req.node_id);
  if (req.node_id !== "" && node === undefined) return {};
  const { volumes } = target.pool.storage;
  return c.locks.withLock(target.pool.csiId(target.id), async () => {
    const call = callOf(ctx);
    const volume = await volumes.find(target.id, call);
    if (volume === undefined) return {};
    // An empty node_id unpublishes from every node (CSI spec), which is also how a volume made
    // before export fencing, exported to every host, is fenced.
    // One node's unpublish of a volume never published through this driver leaves it as it is.
    if (volume.export.kind === "everyone" && node !== undefined) return {};
    const keep = node === undefined ? [] : allowedHosts(volume.export).filter((h) => h !== node.hostNqn);
    await volumes.setAllowedHosts(volume, keep, call);
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
