import type { Command } from "commander";
import {
  checkControllerConfig,
  commonOptions,
  commonSchema,
  controllerOptions,
  controllerSchema,
  nodeOptions,
  nodeSchema,
  validateConfig,
} from "../config.js";
import type { DriverConfig, Role } from "../driver.js";

/** Upper bound of a graceful shutdown, below Kubernetes' default 30 s termination grace period. */
const SHUTDOWN_BOUND_MS = 20_000;

const descriptions: Record<Role, string> = {
  controller: "serve the CSI Identity and Controller services (talks to the RDS over SSH)",
  node: "serve the CSI Identity and Node services (attaches, formats and mounts volumes on this node)",
  all: "serve Identity, Controller and Node in one process (local use, csi-sanity)",
};

export function configFor(role: Role, raw: Record<string, unknown>): DriverConfig {
  const common = validateConfig(commonSchema, raw);
  const config: DriverConfig = { role, common };
  if (role !== "node") {
    config.controller = validateConfig(controllerSchema, raw);
    checkControllerConfig(config.controller);
  }
  if (role !== "controller") {
    const loopPoolPath = typeof raw.loopPoolPath === "string" ? raw.loopPoolPath : undefined;
    config.node = { ...validateConfig(nodeSchema, raw), ...(loopPoolPath ? { loopPoolPath } : {}) };
  }
  return config;
}

export function registerDriverCommands(program: Command): void {
  for (const role of ["controller", "node", "all"] as const) {
    const cmd = program.command(role).description(descriptions[role]);
    const options = [
      ...commonOptions(),
      ...(role !== "node" ? controllerOptions() : []),
      ...(role !== "controller" ? nodeOptions() : []),
    ];
    // The node needs the emulator's pool path too (to allow loop attachments inside it only).
    if (role === "node") options.push(...controllerOptions().filter((o) => o.long === "--loop-pool-path"));
    for (const o of options) cmd.addOption(o);
    cmd.action(async (raw: Record<string, unknown>) => {
      const config = configFor(role, raw);
      // Loaded here: the other sub-commands (sim, doctor, demo) start without gRPC and its kin.
      const { startDriver } = await import("../driver.js");
      const driver = await startDriver(config);
      let stopping = false;
      const shutdown = (signal: string) => {
        if (stopping) {
          driver.logger.warn({ signal }, "second signal: exiting now");
          process.exit(1);
        }
        stopping = true;
        driver.logger.info({ signal }, "shutting down");
        // Whatever is still in flight (a RouterOS command held by the router, a reconciler pass,
        // a mount), the process ends within the bound: a pod's grace period is 30 s by default.
        const bound = setTimeout(() => {
          driver.logger.error({ boundMs: SHUTDOWN_BOUND_MS }, "shutdown did not finish in time; exiting");
          process.exit(1);
        }, SHUTDOWN_BOUND_MS);
        bound.unref();
        driver.stop().then(
          () => process.exit(0),
          (err: unknown) => {
            driver.logger.error({ err: String(err) }, "shutdown failed");
            process.exit(1);
          },
        );
      };
      process.on("SIGTERM", () => shutdown("SIGTERM"));
      process.on("SIGINT", () => shutdown("SIGINT"));
    });
  }
}
