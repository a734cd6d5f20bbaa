import type { status } from "@grpc/grpc-js";
import { status as grpcStatus } from "@grpc/grpc-js";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

/** Which CSI services a process serves; it exports the metrics of those only. */
export type MetricsRole = "controller" | "node" | "all";

/**
 * What only a controller measures: the RouterOS connection and round trips, the inventory on the
 * RDS and the reconciler. A node process has no RDS connection, so it exports none of these
 * rather than a misleading 0 (an alert on `rds_csi_ssh_connected == 0` would fire once per node).
 */
export class ControllerMetrics {
  readonly sshCommandSeconds: Histogram<"outcome">;
  readonly sshConnected: Gauge;
  readonly sshReconnects: Counter;
  readonly managedObjects: Gauge<"type" | "pool">;
  readonly poolFreeBytes: Gauge<"pool">;
  readonly reconcilerFindings: Counter<"type" | "action">;
  readonly reconcilerLeader: Gauge;

  constructor(registry: Registry) {
    const registers = [registry];
    // Errors are this histogram's _count with outcome != "ok": no separate error counter.
    this.sshCommandSeconds = new Histogram({
      name: "rds_csi_ssh_command_duration_seconds",
      help: "RouterOS command round trips over SSH, by outcome (ok, not-found, no-space, connection, outcome-unknown, ...)",
      labelNames: ["outcome"] as const,
      buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.sshConnected = new Gauge({
      name: "rds_csi_ssh_connected",
      help: "1 while the SSH connection to the RDS is up",
      registers,
    });
    this.sshReconnects = new Counter({
      name: "rds_csi_ssh_reconnects_total",
      help: "SSH connections re-established after a loss",
      registers,
    });
    this.managedObjects = new Gauge({
      name: "rds_csi_managed_objects",
      help: "Volumes and snapshots of this driver on the RDS, by pool, as last counted",
      labelNames: ["type", "pool"] as const,
      registers,
    });
    this.poolFreeBytes = new Gauge({
      name: "rds_csi_pool_free_bytes",
      help: "Free bytes of each served RDS pool, as last read",
      labelNames: ["pool"] as const,
      registers,
    });
    this.reconcilerFindings = new Counter({
      name: "rds_csi_reconciler_findings_total",
      help: "Orphans and leftovers found by the reconciler, by type and action",
      labelNames: ["type", "action"] as const,
      registers,
    });
    this.reconcilerLeader = new Gauge({
      name: "rds_csi_reconciler_leader",
      help: "1 while this controller holds the reconciler's Lease and runs its passes",
      registers,
    });
  }
}

/**
 * The driver's Prometheus metrics. One registry per process (not prom-client's global one) so
 * tests can run several drivers side by side.
 *
 * CSI call latency is measured here although the sidecars export `csi_sidecar_operations_seconds`:
 * the node's calls come from the kubelet, which no sidecar times, and the driver's own figure
 * (after error mapping, without the socket and sidecar queueing) tells a slow RDS from a slow
 * sidecar. A call count is this histogram's `_count`.
 */
export class DriverMetrics {
  readonly registry = new Registry();
  readonly rpcSeconds: Histogram<"method" | "code">;
  /** Present in the controller and all-in-one roles only. */
  readonly controller: ControllerMetrics | undefined;

  constructor(options: { role?: MetricsRole; processMetrics?: boolean; version?: string } = {}) {
    const role = options.role ?? "all";
    this.rpcSeconds = new Histogram({
      name: "rds_csi_rpc_duration_seconds",
      help: "CSI call latency by method and gRPC code, measured inside the driver",
      labelNames: ["method", "code"] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [this.registry],
    });
    const info = new Gauge({
      name: "rds_csi_build_info",
      help: "Always 1: the driver's version and the role this process serves",
      labelNames: ["version", "role"] as const,
      registers: [this.registry],
    });
    info.set({ version: options.version ?? "unknown", role }, 1);
    this.controller = role === "node" ? undefined : new ControllerMetrics(this.registry);
    // Standard names (process_*, nodejs_*) so stock Node.js dashboards and alerts work unchanged.
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  /** Pipeline observer: one call finished. */
  observeRpc = (method: string, code: status, seconds: number): void => {
    this.rpcSeconds.observe({ method, code: grpcStatus[code] ?? String(code) }, seconds);
  };
}
