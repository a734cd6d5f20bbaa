import type { CommonConfig, ControllerConfig, NodeConfig } from "./config.js";
import { createControllerService } from "./csi/controller-service.js";
import { createIdentityService } from "./csi/identity-service.js";
import { KeyedLocks } from "./csi/locks.js";
import { createNodeService } from "./csi/node-service.js";
import type { ServiceHandlers } from "./csi/pipeline.js";
import { type CsiServer, startCsiServer } from "./csi/server.js";
import { registerServices } from "./csi/services.js";
import { createLogger, type Logger, type LogLevel } from "./log.js";
import { startMetricsServer } from "./observability/http.js";
import { DriverMetrics } from "./observability/metrics.js";
import { RdsClient, RdsConnection } from "./rds/index.js";
import { startReconciler } from "./reconcile/index.js";
import { createStorage } from "./storage/index.js";
import { DRIVER_VERSION } from "./version.js";

export type Role = "controller" | "node" | "all";

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
const INVENTORY_MS = 60_000;

function connectionFor(c: ControllerConfig, logger: Logger): RdsConnection {
  const hostKey = c.rdsHostKeyFingerprint
    ? { fingerprint: c.rdsHostKeyFingerprint }
    : c.rdsKnownHostsFile
      ? { knownHostsFile: c.rdsKnownHostsFile }
      : { insecureSkipVerify: true as const };
  return new RdsConnection({
    host: c.rdsAddress,
    port: c.rdsPort,
    username: c.rdsUser,
    privateKey: { path: c.rdsKeyFile },
    ...(c.rdsKeyPassphraseFile ? { passphrase: { path: c.rdsKeyPassphraseFile } } : {}),
    hostKey,
    maxChannels: c.rdsMaxChannels,
    commandTimeoutMs: c.rdsCommandTimeout,
    logger: logger.child({ component: "rds" }),
  });
}

/**
 * Starts the CSI services of one role on the configured endpoint, plus metrics when asked, and
 * returns a handle whose stop() drains calls and closes the RDS connection.
 */
export async function startDriver(config: DriverConfig): Promise<RunningDriver> {
  const logger = createLogger(config.common.logLevel as LogLevel);
  const metrics = new DriverMetrics();
  const locks = new KeyedLocks();
  const handlers: Record<string, ServiceHandlers> = {};
  let connection: RdsConnection | undefined;
  let reconciler: { stop(): Promise<void> } | undefined;
  let readiness = () => ({ ready: true }) as { ready: boolean; reason?: string };
  const timers: NodeJS.Timeout[] = [];

  if (config.role !== "node") {
    const c = config.controller;
    if (!c) throw new Error("controller configuration missing");
    connection = connectionFor(c, logger);
    const rds = new RdsClient(connection, {
      logger: logger.child({ component: "rds-client" }),
      onCommand: ({ seconds, outcome }) => {
        metrics.sshCommandSeconds.observe({ outcome }, seconds);
        if (outcome !== "ok") metrics.sshErrors.inc({ kind: outcome });
      },
    });
    const storage = createStorage(rds, {
      pool: c.rdsPool,
      fsLabel: c.rdsFsLabel ?? c.rdsPool,
      root: c.rdsRoot,
      nvmePort: c.nvmePort,
      nqnPrefix: c.nqnPrefix,
      logger,
    });
    handlers.Controller = createControllerService({
      storage,
      settings: {
        maxSnapshotsPerVolume: c.maxSnapshotsPerVolume,
        attachment: {
          transport: c.nodeTransport,
          nvmeAddress: c.nvmeAddress ?? c.rdsAddress,
          nvmePort: c.nvmePort,
          loopPoolPath: c.loopPoolPath,
        },
      },
      locks,
    });
    // With interval 0 this starts nothing: no timer, no Kubernetes client, no RouterOS command.
    reconciler = startReconciler({
      storage,
      driverName: config.common.driverName,
      intervalMs: c.reconcileInterval,
      dryRun: c.reconcileDryRun,
      gracePeriodMs: c.reconcileGracePeriod,
      passes: c.reconcilePasses,
      locks,
      logger: logger.child({ component: "reconciler" }),
      metrics: { findings: (type, action) => metrics.reconcilerFindings.inc({ type, action }) },
    });
    const conn = connection;
    readiness = () => {
      const h = conn.health();
      return h.connected
        ? { ready: true }
        : { ready: false, reason: h.lastError?.message ?? "not connected yet" };
    };
    // Connect now rather than on the first RPC, and keep trying while disconnected, so Probe
    // (which never does a round trip itself) turns ready without outside help.
    const warm = () => {
      if (conn.health().connected) return;
      rds
        .routerOsVersion()
        .catch((err: unknown) => logger.warn({ err: String(err) }, "RDS not reachable yet"));
    };
    warm();
    timers.push(setInterval(warm, RECONNECT_PROBE_MS).unref());
    // Inventory gauges: two listings a minute, whatever the number of objects.
    const inventory = async () => {
      if (!conn.health().connected) return;
      const census = await storage.census({ deadline: Date.now() + 20_000 });
      metrics.managedObjects.set({ type: "volume" }, census.volumes);
      metrics.managedObjects.set({ type: "snapshot" }, census.snapshots);
      metrics.poolFreeBytes.set(Number(census.freeBytes));
    };
    if (config.common.metricsAddress) {
      const first = setTimeout(() => inventory().catch(() => {}), RECONNECT_PROBE_MS);
      first.unref();
      timers.push(first);
      timers.push(
        setInterval(() => {
          inventory().catch((err: unknown) =>
            logger.debug({ err: String(err) }, "inventory for metrics failed"),
          );
        }, INVENTORY_MS).unref(),
      );
    }
    let reconnectsSeen = 0;
    timers.push(
      setInterval(() => {
        const h = conn.health();
        metrics.sshConnected.set(h.connected ? 1 : 0);
        if (h.reconnects > reconnectsSeen) metrics.sshReconnects.inc(h.reconnects - reconnectsSeen);
        reconnectsSeen = h.reconnects;
      }, 1000).unref(),
    );
  }
  if (config.role !== "controller") {
    const n = config.node;
    if (!n) throw new Error("node configuration missing");
    handlers.Node = createNodeService({
      nodeId: n.nodeId,
      maxVolumesPerNode: n.maxVolumesPerNode,
      ...(n.loopPoolPath ? { loopAllowedRoot: n.loopPoolPath } : {}),
      locks,
    }) as unknown as ServiceHandlers;
  }
  handlers.Identity = createIdentityService({
    driverName: config.common.driverName,
    version: DRIVER_VERSION,
    controller: config.role !== "node",
    readiness: () => readiness(),
  });

  const services = registerServices(handlers, { logger, observe: metrics.observeRpc });
  const server = await startCsiServer({ endpoint: config.common.endpoint, services, logger });
  const metricsServer = config.common.metricsAddress
    ? await startMetricsServer({
        address: config.common.metricsAddress,
        metrics,
        health: { live: () => true, ready: () => readiness() },
        logger,
      })
    : undefined;
  logger.info({ role: config.role, version: DRIVER_VERSION }, "rds-csi started");

  return {
    server,
    logger,
    stop: async () => {
      for (const t of timers) clearInterval(t);
      await server.stop();
      await reconciler?.stop();
      await metricsServer?.close();
      connection?.close();
      logger.info("rds-csi stopped");
    },
  };
}
