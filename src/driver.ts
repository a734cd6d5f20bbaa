import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import {
  type CommonConfig,
  type ControllerConfig,
  connectionOptionsFor,
  lateCommandWindowMs,
  type NodeConfig,
} from "./config.js";
import type { ControllerSettings } from "./csi/controller-service.js";
import { createIdentityService, type ReadinessSource } from "./csi/identity-service.js";
import { KeyedLocks } from "./csi/locks.js";
import { createNodeService } from "./csi/node-service.js";
import type { ServiceHandlers } from "./csi/pipeline.js";
import type { CsiServiceName } from "./csi/proto.js";
import { type CsiServer, startCsiServer } from "./csi/server.js";
import { registerServices } from "./csi/services.js";
import type { Lineage } from "./lineage/model.js";
import { createLogger, type Logger } from "./log.js";
import { resolveHostNqn } from "./node/index.js";
import { checkNvmeSettings, DEFAULT_NVME_SETTINGS, type NvmeConnectSettings } from "./node/nvme-transport.js";
import { startMetricsServer } from "./observability/http.js";
import { type ControllerMetrics, DriverMetrics } from "./observability/metrics.js";
import type { Reconciler } from "./reconcile/index.js";
import type { SnapshotSchedules } from "./schedule/index.js";
import type { OpenedStorage, PoolStorage, Storage, StoragePools, TombstoneSweep } from "./storage/index.js";
import { DRIVER_VERSION } from "./version.js";

export type Role = "controller" | "node" | "all";

/**
 * The controller's own modules (the stores, SSH), loaded only when a controller starts: the node
 * plugin never loads them, which keeps its resident memory down. The reconciler and the snapshot
 * schedules (which parse Kubernetes objects) and the lineage reader are loaded only when they are on.
 */
async function loadControllerModules(c: ControllerConfig) {
  const schedulesOn = c.snapshotScheduleInterval > 0;
  const [service, storage, lineage, reconcile, schedule] = await Promise.all([
    import("./csi/controller-service.js"),
    import("./storage/index.js"),
    c.lineagePage ? import("./lineage/read.js") : undefined,
    c.reconcileInterval > 0 || schedulesOn ? import("./reconcile/index.js") : undefined,
    schedulesOn ? import("./schedule/index.js") : undefined,
  ]);
  return { ...service, ...storage, lineage, reconcile, schedule };
}
type ControllerModules = Awaited<ReturnType<typeof loadControllerModules>>;

export interface DriverConfig {
  role: Role;
  common: CommonConfig;
  controller?: ControllerConfig;
  node?: NodeConfig & { loopPoolPath?: string };
}

export interface RunningDriver {
  server: CsiServer;
  logger: Logger;
  stop(): Promise<void>;
}

/** How often a disconnected controller tries to reach the RDS again, so readiness recovers on its own. */
const RECONNECT_PROBE_MS = 5_000;
/** How often the volume/snapshot counts and pool free space are refreshed for metrics. */
const CENSUS_MS = 60_000;
/** Bound for one census (one line of counts), well inside its interval. */
const CENSUS_BUDGET_MS = 20_000;
/** How often the connection gauges follow the connection's state. */
const CONNECTION_GAUGE_MS = 1_000;
/** The lineage page reads the RDS at most this often, however often it is loaded. */
const LINEAGE_MAX_AGE_MS = 5_000;
/** Bound for one read of the lineage (five listings). */
const LINEAGE_BUDGET_MS = 60_000;

/** Background timers of the process, all stopped together before the server drains. */
class Timers {
  readonly #handles: NodeJS.Timeout[] = [];

  every(ms: number, fn: () => void): void {
    this.#handles.push(setInterval(fn, ms).unref());
  }

  after(ms: number, fn: () => void): void {
    this.#handles.push(setTimeout(fn, ms).unref());
  }

  clear(): void {
    for (const handle of this.#handles) clearTimeout(handle);
  }
}

/** The process-wide parts every role is started with. */
interface Shared {
  driverName: string;
  logger: Logger;
  metrics: DriverMetrics;
  locks: KeyedLocks;
  timers: Timers;
}

/** A running Controller: its service, whether it can reach the RDS, and how to wind it down. */
interface ControllerParts {
  service: ServiceHandlers;
  readiness: ReadinessSource;
  /** The lineage page's source, when --lineage-page is on. */
  lineage?: () => Promise<Lineage>;
  stop(): Promise<void>;
}

/**
 * Starts the CSI services of one role on the configured endpoint, plus metrics when asked, and
 * returns a handle whose stop() drains calls and closes the RDS connection.
 */
export async function startDriver(config: DriverConfig): Promise<RunningDriver> {
  const { common } = config;
  const logger = createLogger(common.logLevel);
  // Process metrics (a GC observer on every collection, an event-loop delay monitor) only when
  // something can scrape them.
  const metrics = new DriverMetrics({
    role: config.role,
    version: DRIVER_VERSION,
    processMetrics: Boolean(common.metricsAddress),
  });
  const shared: Shared = {
    driverName: common.driverName,
    logger,
    metrics,
    locks: new KeyedLocks(),
    timers: new Timers(),
  };
  const controller =
    config.role === "node"
      ? undefined
      : startController(
          required(config.controller, "controller"),
          shared,
          Boolean(common.metricsAddress),
          await loadControllerModules(required(config.controller, "controller")),
        );
  const readiness: ReadinessSource = controller?.readiness ?? (() => ({ ready: true }));
  const node =
    config.role === "controller"
      ? undefined
      : await nodeService(required(config.node, "node"), shared.locks, logger);
  const handlers: Partial<Record<CsiServiceName, ServiceHandlers>> = {
    Identity: createIdentityService({
      driverName: common.driverName,
      version: DRIVER_VERSION,
      readiness,
    }),
    ...(controller ? { Controller: controller.service } : {}),
    ...(node ? { Node: node } : {}),
  };

  const services = registerServices(handlers, { logger, observe: metrics.observeRpc });
  const server = await startCsiServer({ endpoint: common.endpoint, services, logger });
  const metricsServer = common.metricsAddress
    ? await startMetricsServer({
        address: common.metricsAddress,
        metrics,
        health: { live: () => true, ready: () => readiness() },
        logger,
        ...(controller?.lineage ? { lineage: controller.lineage } : {}),
      })
    : undefined;
  if (controller?.lineage && !common.metricsAddress) {
    logger.warn("--lineage-page is on but --metrics-address is empty: the page is not served");
  }
  logger.info({ role: config.role, version: DRIVER_VERSION }, "rds-csi started");

  return {
    server,
    logger,
    stop: async () => {
      shared.timers.clear();
      await server.stop();
      await controller?.stop();
      await metricsServer?.close();
      logger.info("rds-csi stopped");
    },
  };
}

function required<T>(section: T | undefined, role: string): T {
  if (section === undefined) throw new Error(`${role} configuration missing`);
  return section;
}

/**
 * The Controller service and what runs beside it: one storage (with its own RDS connection) shared
 * by the service and the orphan reconciler, a reconnect loop that keeps readiness honest, and the
 * RouterOS metrics.
 */
function startController(
  c: ControllerConfig,
  shared: Shared,
  withCensus: boolean,
  m: ControllerModules,
): ControllerParts {
  const { logger, timers } = shared;
  const metrics = required(shared.metrics.controller, "controller metrics");
  const lateWindowMs = lateCommandWindowMs(c);
  const opened = m.openStorage({
    connection: connectionOptionsFor(c),
    pool: c.rdsPool,
    fsLabel: c.rdsFsLabel ?? c.rdsPool,
    root: c.rdsRoot,
    nvmePort: c.nvmePort,
    nqnPrefix: c.nqnPrefix,
    fenceNewVolumes: c.exportFencing,
    logger,
    deleteMarks: lateWindowMs > 0,
    extraPools: c.rdsPools,
    onCommand: ({ seconds, outcome }) => {
      metrics.sshCommandSeconds.observe({ outcome }, seconds);
    },
  });
  const { storage, pools, health } = opened;
  const service = m.createControllerService({
    storage,
    pools,
    settings: controllerSettings(c),
    locks: shared.locks,
  });
  const reconciler = reconcilerFor(c, pools, shared, m);
  const schedules = schedulesFor(c, shared, m);
  const sweeps = pools.all().flatMap((pool) => sweepFor(lateWindowMs, pool, shared, m) ?? []);
  keepConnected(health, opened.reach, shared);
  watchConnection(health, metrics, timers);
  if (withCensus) refreshCensus(health, pools, shared);
  return {
    service,
    ...(m.lineage ? { lineage: lineageSource(c, storage, shared, m.lineage) } : {}),
    readiness: () => {
      const h = health();
      return h.connected
        ? { ready: true }
        : { ready: false, reason: h.lastError?.message ?? "not connected yet" };
    },
    stop: async () => {
      await schedules?.stop();
      await reconciler?.stop();
      await Promise.all(sweeps.map((sweep) => sweep.stop()));
      opened.close();
    },
  };
}

function controllerSettings(c: ControllerConfig): ControllerSettings {
  return {
    maxSnapshotsPerVolume: c.maxSnapshotsPerVolume,
    maxVolumesPerNode: c.maxVolumesPerNode,
    allowHostList: c.rdsAllowHostList,
    attachment: {
      transport: c.nodeTransport,
      nvmeAddress: c.nvmeAddress ?? c.rdsAddress,
      nvmePort: c.nvmePort,
      loopPoolPath: c.loopPoolPath,
    },
  };
}

/** The namespace a pod runs in, from its service account; "default" outside a cluster. */
function podNamespace(): string {
  try {
    return (
      readFileSync("/var/run/secrets/kubernetes.io/serviceaccount/namespace", "utf8").trim() || "default"
    );
  } catch {
    return "default";
  }
}

/** With interval 0 there is none: no timer, no Kubernetes client, no RouterOS command. */
function reconcilerFor(
  c: ControllerConfig,
  pools: StoragePools,
  shared: Shared,
  m: ControllerModules,
): Reconciler | undefined {
  if (c.reconcileInterval <= 0 || !m.reconcile) return undefined;
  const { leaseNameFor } = m.reconcile;
  const metrics = required(shared.metrics.controller, "controller metrics");
  return m.reconcile.startReconciler({
    storage: pools.default.storage,
    pools,
    driverName: shared.driverName,
    intervalMs: c.reconcileInterval,
    dryRun: c.reconcileDryRun,
    gracePeriodMs: c.reconcileGracePeriod,
    passes: c.reconcilePasses,
    exportFencing: c.exportFencing,
    locks: shared.locks,
    logger: shared.logger,
    metrics: {
      findings: (type, action) => metrics.reconcilerFindings.inc({ type, action }),
      leader: (leading) => metrics.reconcilerLeader.set(leading ? 1 : 0),
    },
    ...(c.reconcileLeaderElection
      ? {
          lease: {
            name: c.reconcileLeaseName ?? leaseNameFor(shared.driverName),
            namespace: c.reconcileLeaseNamespace ?? podNamespace(),
          },
        }
      : {}),
  });
}

/** Snapshot schedules (src/schedule); with interval 0 there are none and no client is loaded. */
function schedulesFor(
  c: ControllerConfig,
  shared: Shared,
  m: ControllerModules,
): SnapshotSchedules | undefined {
  if (c.snapshotScheduleInterval <= 0 || !m.schedule || !m.reconcile) return undefined;
  const { leaseNameFor } = m.reconcile;
  return m.schedule.startSnapshotSchedules({
    driverName: shared.driverName,
    intervalMs: c.snapshotScheduleInterval,
    logger: shared.logger,
    ...(c.snapshotScheduleLeaderElection
      ? {
          lease: {
            name: leaseNameFor(shared.driverName, "snapshot-schedules"),
            namespace: c.reconcileLeaseNamespace ?? podNamespace(),
          },
        }
      : {}),
  });
}

/**
 * The sweep of delete marks: what a RouterOS command run late re-creates after DeleteVolume or
 * DeleteSnapshot is removed (see src/storage/tombstones.ts). Off with a window of 0.
 */
function sweepFor(
  windowMs: number,
  pool: PoolStorage,
  shared: Shared,
  m: ControllerModules,
): TombstoneSweep | undefined {
  if (windowMs <= 0) return undefined;
  const sweep = new m.TombstoneSweep({
    storage: pool.storage,
    locks: shared.locks,
    lockKeyOf: (id) => pool.csiId(id),
    windowMs,
    logger: shared.logger.child({ component: "delete-marks", pool: pool.name }),
  });
  sweep.start(m.sweepIntervalFor(windowMs));
  return sweep;
}

/**
 * The lineage page's data: one read of the RDS at a time, reused for a few seconds; with
 * --lineage-kubernetes also the cluster's names (the Kubernetes client is loaded at the first read).
 */
function lineageSource(
  c: ControllerConfig,
  storage: Storage,
  shared: Shared,
  reader: typeof import("./lineage/read.js"),
): () => Promise<Lineage> {
  const names = async () => {
    const { readKubernetesNames } = await import("./lineage/kubernetes.js");
    const read = await readKubernetesNames({
      driverName: shared.driverName,
      requestTimeoutMs: c.rdsCommandTimeout,
    });
    if (read.error) shared.logger.warn({ err: read.error }, "lineage page: Kubernetes names not read");
    return read;
  };
  return reader.cachedLineage(
    () =>
      reader.readLineage(
        storage,
        { deadline: Date.now() + LINEAGE_BUDGET_MS },
        c.lineageKubernetes ? names : undefined,
      ),
    LINEAGE_MAX_AGE_MS,
  );
}

type HealthSource = OpenedStorage["health"];

/**
 * Connects now rather than on the first RPC, and keeps trying while disconnected, so Probe (which
 * never does a round trip itself) turns ready without outside help.
 */
function keepConnected(health: HealthSource, probe: () => Promise<unknown>, shared: Shared): void {
  const warm = () => {
    if (health().connected) return;
    probe().catch((err: unknown) => shared.logger.warn({ err: String(err) }, "RDS not reachable yet"));
  };
  warm();
  shared.timers.every(RECONNECT_PROBE_MS, warm);
}

/** The connection gauges: connected or not, and reconnects since the last look. */
function watchConnection(health: HealthSource, metrics: ControllerMetrics, timers: Timers): void {
  let reconnectsSeen = 0;
  timers.every(CONNECTION_GAUGE_MS, () => {
    const h = health();
    metrics.sshConnected.set(h.connected ? 1 : 0);
    if (h.reconnects > reconnectsSeen) metrics.sshReconnects.inc(h.reconnects - reconnectsSeen);
    reconnectsSeen = h.reconnects;
  });
}

/**
 * Inventory gauges, one series per served pool: one line of counts a minute per pool (RouterOS
 * counts, nothing is listed), whatever the number of objects; skipped while disconnected. A pool that cannot be read keeps its last figures.
 */
function refreshCensus(health: HealthSource, pools: StoragePools, shared: Shared): void {
  const { timers } = shared;
  const metrics = required(shared.metrics.controller, "controller metrics");
  const census = async () => {
    if (!health().connected) return;
    for (const { name, storage } of pools.all()) {
      try {
        const counts = await storage.census({ deadline: Date.now() + CENSUS_BUDGET_MS });
        metrics.managedObjects.set({ type: "volume", pool: name }, counts.volumes);
        metrics.managedObjects.set({ type: "snapshot", pool: name }, counts.snapshots);
        metrics.poolFreeBytes.set({ pool: name }, Number(counts.freeBytes));
      } catch (err) {
        shared.logger.debug({ err: String(err), pool: name }, "inventory for metrics failed");
      }
    }
  };
  timers.after(RECONNECT_PROBE_MS, () => void census());
  timers.every(CENSUS_MS, () => void census());
}

async function nodeService(
  n: NonNullable<DriverConfig["node"]>,
  locks: KeyedLocks,
  logger: Logger,
): Promise<ServiceHandlers> {
  const { hostNqn, from } = await resolveHostNqn({
    given: n.hostNqn,
    file: n.hostNqnFile,
    nodeName: n.nodeId,
  });
  logger.info({ hostNqn, from }, "host NQN this node presents to the RDS");
  // Only a node beside a local emulator (loop transport) needs to know where its target listens.
  const loopTarget = n.loopPoolPath ? await import("./sim/target.js") : undefined;
  return createNodeService({
    nodeId: n.nodeId,
    hostNqn,
    maxVolumesPerNode: n.maxVolumesPerNode,
    nvme: nvmeSettings(n),
    ...(n.loopPoolPath && loopTarget
      ? {
          loopAllowedRoot: n.loopPoolPath,
          // The emulator keeps its NVMe target stand-in beside the pool mount (`<data dir>/mnt`).
          loopTargetSocket: join(dirname(n.loopPoolPath), loopTarget.TARGET_SOCKET),
        }
      : {}),
    locks,
  });
}

/** The kernel counts NVMe/TCP timeouts in whole seconds; a part second is rounded up. */
export function nvmeSettings(n: NodeConfig): NvmeConnectSettings {
  const seconds = (ms: number) => (ms < 0 ? -1 : Math.ceil(ms / 1000));
  return checkNvmeSettings({
    ...DEFAULT_NVME_SETTINGS,
    ctrlLossTmoSeconds: seconds(n.nvmeCtrlLossTimeout),
    reconnectDelaySeconds: Math.max(1, seconds(n.nvmeReconnectDelay)),
  });
}
