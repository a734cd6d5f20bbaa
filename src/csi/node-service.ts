import {
  CommandError,
  type CommandRunner,
  checkAbsolutePath,
  checkVolumeId,
  createNodeEnv,
  DEFAULT_NVME_SETTINGS,
  derivedHostNqn,
  execFileRunner,
  expandVolume,
  type NodeEnv,
  NodeError,
  type NodeErrorKind,
  type NvmeConnectSettings,
  type OpCall,
  PROC_MOUNTINFO,
  parseCapability,
  parseVolumeContext,
  publishVolume,
  SYSFS,
  stageVolume,
  type Transports,
  unpublishVolume,
  unstageVolume,
  type VolumeMode,
  volumeStats,
} from "../node/index.js";
import {
  alreadyExists,
  type CsiError,
  failedPrecondition,
  internal,
  invalidArgument,
  notFound,
  outOfRange,
} from "./errors.js";
import { KeyedLocks } from "./locks.js";
import { formatNodeId } from "./node-id.js";
import type { RequestContext } from "./pipeline.js";
import { PUBLISH_READ_ONLY } from "./publish-context.js";
import type { NodeCapabilityType, NodeMethods, Outgoing, StringMap } from "./types.js";

export interface NodeServiceOptions {
  /** This node's name (the Kubernetes node name); the CSI node id adds the host NQN (node-id.ts). */
  nodeId: string;
  /**
   * The NQN this node presents to the RDS (`resolveHostNqn`); derived from the node name when not
   * given. It goes into the node id and into every `nvme connect`.
   */
  hostNqn?: string;
  /**
   * The emulator's NVMe target stand-in (`<data dir>/nvme-target.sock`): loop attaches are
   * admitted by it, as a real target admits connections.
   */
  loopTargetSocket?: string;
  /** Volumes this node may attach; 0 or undefined for no limit. */
  maxVolumesPerNode?: number;
  /** Host directory holding the emulator's pool; enables the loop transport for files inside it. */
  loopAllowedRoot?: string;
  /** NVMe/TCP reconnect behaviour; defaults in src/node/nvme-transport.ts. */
  nvme?: NvmeConnectSettings;
  /** Replaces the default transports (tests, or a node with a different attach mechanism). */
  transports?: Transports;
  run?: CommandRunner;
  sysfsRoot?: string;
  mountInfoPath?: string;
  locks?: KeyedLocks;
}

export type NodeHandlers = {
  [M in keyof NodeMethods]: (
    request: NodeMethods[M]["request"],
    ctx: RequestContext,
  ) => Promise<Outgoing<NodeMethods[M]["response"]>>;
};

const CAPABILITIES: readonly NodeCapabilityType[] = [
  "STAGE_UNSTAGE_VOLUME",
  "EXPAND_VOLUME",
  "GET_VOLUME_STATS",
];

const statusOf: Record<NodeErrorKind, (msg: string) => CsiError> = {
  "invalid-argument": invalidArgument,
  "not-found": notFound,
  "already-exists": alreadyExists,
  "failed-precondition": failedPrecondition,
  "out-of-range": outOfRange,
  internal,
};

/** Node-layer failures become CSI statuses here and nowhere else. */
async function mapped<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof NodeError) throw statusOf[err.kind](err.message);
    if (err instanceof CommandError) throw internal(err.message);
    throw err;
  }
}

function requireVolumeId(value: string): string {
  if (!value) throw invalidArgument("volume_id is required");
  return checkVolumeId(value);
}

function requirePath(value: string, field: string): string {
  if (!value) throw invalidArgument(`${field} is required`);
  return checkAbsolutePath(value, field);
}

/**
 * Node operations on a volume exclude each other, but not the controller's: with `rds-csi all`
 * the lock table is shared, and a snapshot being cut must not abort a publish.
 */
const lockKey = (volumeId: string) => `node/${volumeId}`;

function callOf(ctx: RequestContext): OpCall {
  return { log: ctx.log, signal: ctx.signal };
}

/** required_bytes as an exact size; "0" (unset) becomes undefined. */
function requiredBytes(value: string | undefined): bigint | undefined {
  if (value === undefined || value === "" || value === "0") return undefined;
  if (!/^\d+$/.test(value))
    throw invalidArgument(`capacity_range.required_bytes ${JSON.stringify(value)} is not a size`);
  return BigInt(value);
}

export function createNodeService(options: NodeServiceOptions): NodeHandlers {
  if (!options.nodeId) throw new Error("nodeId is required");
  const max = options.maxVolumesPerNode ?? 0;
  if (!Number.isSafeInteger(max) || max < 0)
    throw new Error("maxVolumesPerNode must be a non-negative integer");
  const hostNqn = options.hostNqn ?? derivedHostNqn(options.nodeId);
  const nodeId = formatNodeId(options.nodeId, hostNqn);
  const env: NodeEnv = createNodeEnv({
    run: options.run ?? execFileRunner,
    sysfsRoot: options.sysfsRoot ?? SYSFS,
    mountInfoPath: options.mountInfoPath ?? PROC_MOUNTINFO,
    ...(options.transports ? { transports: options.transports } : {}),
    ...(options.loopAllowedRoot !== undefined ? { loopAllowedRoot: options.loopAllowedRoot } : {}),
    ...(options.loopTargetSocket !== undefined
      ? { loopTarget: { socketPath: options.loopTargetSocket, hostNqn } }
      : {}),
    nvme: { ...DEFAULT_NVME_SETTINGS, ...options.nvme, hostNqn },
  });
  const locks = options.locks ?? new KeyedLocks();

  return {
    NodeStageVolume: (req, ctx) =>
      mapped(async () => {
        const volumeId = requireVolumeId(req.volume_id);
        const stagingPath = requirePath(req.staging_target_path, "staging_target_path");
        const mode: VolumeMode = withPublishReadOnly(
          parseCapability(req.volume_capability),
          req.publish_context,
        );
        const target = parseVolumeContext(req.volume_context);
        await locks.withLock(lockKey(volumeId), () =>
          stageVolume(env, { volumeId, stagingPath, target, mode }, callOf(ctx)),
        );
        return {};
      }),

    NodeUnstageVolume: (req, ctx) =>
      mapped(async () => {
        const volumeId = requireVolumeId(req.volume_id);
        const stagingPath = requirePath(req.staging_target_path, "staging_target_path");
        await locks.withLock(lockKey(volumeId), () => unstageVolume(env, volumeId, stagingPath, callOf(ctx)));
        return {};
      }),

    NodePublishVolume: (req, ctx) =>
      mapped(async () => {
        const volumeId = requireVolumeId(req.volume_id);
        const targetPath = requirePath(req.target_path, "target_path");
        const mode = withPublishReadOnly(parseCapability(req.volume_capability), req.publish_context);
        // This plugin stages every volume, so publishing always binds from a staging path.
        const stagingPath = requirePath(req.staging_target_path, "staging_target_path");
        const publish = { volumeId, stagingPath, targetPath, mode, readOnly: req.readonly };
        await locks.withLock(lockKey(volumeId), () => publishVolume(env, publish, callOf(ctx)));
        return {};
      }),

    NodeUnpublishVolume: (req, ctx) =>
      mapped(async () => {
        const volumeId = requireVolumeId(req.volume_id);
        const targetPath = requirePath(req.target_path, "target_path");
        await locks.withLock(lockKey(volumeId), () =>
          unpublishVolume(env, volumeId, targetPath, callOf(ctx)),
        );
        return {};
      }),

    NodeGetVolumeStats: (req) =>
      mapped(async () => {
        requireVolumeId(req.volume_id);
        if (!req.volume_path) throw invalidArgument("volume_path is required");
        requireSanePathLength(req.volume_path);
        const stats = await volumeStats(env, req.volume_path);
        return {
          usage: stats.usage.map((u) => ({
            unit: u.unit,
            total: String(u.total),
            available: String(u.available),
            used: String(u.used),
          })),
          volume_condition: stats.condition,
        };
      }),

    NodeExpandVolume: (req, ctx) =>
      mapped(async () => {
        const volumeId = requireVolumeId(req.volume_id);
        if (!req.volume_path) throw invalidArgument("volume_path is required");
        requireSanePathLength(req.volume_path);
        // Optional here; when given it must still be one this node supports.
        if (req.volume_capability) parseCapability(req.volume_capability);
        const expand = {
          volumeId,
          volumePath: req.volume_path,
          requiredBytes: requiredBytes(req.capacity_range?.required_bytes),
        };
        const bytes = await locks.withLock(lockKey(volumeId), () => expandVolume(env, expand, callOf(ctx)));
        return { capacity_bytes: String(bytes) };
      }),

    NodeGetCapabilities: async () => ({
      capabilities: CAPABILITIES.map((type) => ({ rpc: { type } })),
    }),

    NodeGetInfo: async () => ({
      node_id: nodeId,
      max_volumes_per_node: String(max),
      accessible_topology: null,
    }),
  };
}

/**
 * A volume the controller published read-only (publish_context, see
 * src/csi/controller/publish.ts) is staged and published read-only whatever the access mode says.
 */
function withPublishReadOnly(mode: VolumeMode, publishContext: StringMap | null | undefined): VolumeMode {
  return publishContext?.[PUBLISH_READ_ONLY] === "true" ? { ...mode, readOnly: true } : mode;
}

/**
 * A volume_path longer than any path the kernel accepts is refused up front. Other shapes go on
 * to the lookup, which answers NOT_FOUND for paths that do not exist (csi-sanity expects that even
 * for relative ones).
 */
function requireSanePathLength(path: string): void {
  if (path.length > 4096)
    throw invalidArgument(`volume_path is ${path.length} characters long; at most 4096 are allowed`);
}
