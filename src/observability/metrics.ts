import type { status } from "@grpc/grpc-js";
import { status as grpcStatus } from "@grpc/grpc-js";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

/**
 * The driver's Prometheus metrics. One registry per process (not prom-client's global one) so
 * tests can run several drivers side by side.
 */
export class DriverMetrics {
  readonly registry = new Registry();

  readonly rpcTotal = new Counter({
    name: "rds_csi_rpc_total",
    help: "CSI calls by method and gRPC code",
    labelNames: ["method", "code"] as const,
    registers: [this.registry],
  });

  readonly rpcSeconds = new Histogram({
    name: "rds_csi_rpc_duration_seconds",
    help: "CSI call latency by method and gRPC code",
    labelNames: ["method", "code"] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });

  readonly sshCommandSeconds = new Histogram({
    name: "rds_csi_ssh_command_duration_seconds",
    help: "RouterOS command round trips over SSH, by outcome",
    labelNames: ["outcome"] as const,
    buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  readonly sshErrors = new Counter({
    name: "rds_csi_ssh_errors_total",
    help: "RouterOS command errors by kind (not-found, no-space, connection, outcome-unknown, ...)",
    labelNames: ["kind"] as const,
    registers: [this.registry],
  });

  readonly sshConnected = new Gauge({
    name: "rds_csi_ssh_connected",
    help: "1 while the SSH connection to the RDS is up",
    registers: [this.registry],
  });

  readonly sshReconnects = new Counter({
    name: "rds_csi_ssh_reconnects_total",
    help: "SSH connections re-established after a loss",
    registers: [this.registry],
  });

  readonly managedObjects = new Gauge({
    name: "rds_csi_managed_objects",
    help: "Volumes and snapshots of this driver on the RDS, as last listed",
    labelNames: ["type"] as const,
    registers: [this.registry],
  });

  readonly poolFreeBytes = new Gauge({
    name: "rds_csi_pool_free_bytes",
    help: "Free bytes of the RDS pool, as last read",
    registers: [this.registry],
  });

  readonly reconcilerFindings = new Counter({
    name: "rds_csi_reconciler_findings_total",
    help: "Orphans and leftovers found by the reconciler, by type and action",
    labelNames: ["type", "action"] as const,
    registers: [this.registry],
  });

  constructor(options: { processMetrics?: boolean } = {}) {
    if (options.processMetrics ?? true)
      collectDefaultMetrics({ register: this.registry, prefix: "rds_csi_" });
  }

  /** Pipeline observer: one call finished. */
  observeRpc = (method: string, code: status, seconds: number): void => {
    const labels = { method, code: grpcStatus[code] ?? String(code) };
    this.rpcTotal.inc(labels);
    this.rpcSeconds.observe(labels, seconds);
  };
}
