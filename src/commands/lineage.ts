import { type Command, Option } from "commander";
import * as v from "valibot";
import {
  checkHostKeyConfig,
  connectionOptionsFor,
  controllerOptions,
  controllerSchema,
  validateConfig,
} from "../config.js";
import { nonEmpty, oneOf } from "../config-values.js";
import { createLogger, LOG_LEVELS } from "../log.js";
import { DRIVER_NAME } from "../version.js";

/**
 * `rds-csi lineage`: what was made from what on the RDS, read with the controller's own connection
 * flags (and environment variables), host key verified. Read-only: only listings are sent.
 */

const lineageSchema = v.object({
  ...v.pick(controllerSchema, [
    "rdsAddress",
    "rdsPort",
    "rdsUser",
    "rdsKeyFile",
    "rdsKeyPassphraseFile",
    "rdsHostKeyFingerprint",
    "rdsKnownHostsFile",
    "rdsInsecureSkipHostKeyCheck",
    "rdsMaxChannels",
    "rdsCommandTimeout",
    "rdsPool",
    "rdsFsLabel",
    "rdsRoot",
  ]).entries,
  kubeconfig: v.optional(nonEmpty),
  driverName: nonEmpty,
  json: v.optional(v.boolean()),
  logLevel: oneOf(LOG_LEVELS),
});

export function registerLineageCommand(program: Command): void {
  const cmd = program
    .command("lineage")
    .description(
      "print the tree volume → snapshots → volumes restored or cloned from them, with sizes, " +
        "creation times, Kubernetes names and what is safe to delete (read-only)",
    );
  // The controller's connection and layout flags; how it exports volumes does not matter here.
  const connectionFlags = controllerOptions().filter(
    (o) => o.long?.startsWith("--rds-") && o.long !== "--rds-allow-host-list",
  );
  for (const o of connectionFlags) cmd.addOption(o);
  cmd
    .addOption(
      new Option(
        "--kubeconfig <path>",
        "also read PV, PVC, VolumeSnapshot and VolumeSnapshotContent names from this cluster",
      ),
    )
    .addOption(
      new Option("--driver-name <name>", "CSI driver name the cluster's objects name")
        .env("DRIVER_NAME")
        .default(DRIVER_NAME),
    )
    .addOption(new Option("--json", "print the lineage as JSON (schema in docs/lineage.md)"))
    .addOption(
      new Option("--log-level <level>", `log level (to stderr): ${LOG_LEVELS.join(", ")}`).default("warn"),
    )
    .action(async (raw: Record<string, unknown>) => {
      const config = validateConfig(lineageSchema, raw);
      checkHostKeyConfig(config);
      process.stdout.write(await lineageOutput(config));
    });
}

async function lineageOutput(config: v.InferOutput<typeof lineageSchema>): Promise<string> {
  // Loaded on use: the driver's processes share this CLI; only a controller needs the storage layer.
  const [{ readLineage, renderLineageText }, { openStorage }] = await Promise.all([
    import("../lineage/index.js"),
    import("../storage/index.js"),
  ]);
  const logger = createLogger(config.logLevel, process.stderr);
  const opened = openStorage({
    connection: connectionOptionsFor(config),
    pool: config.rdsPool,
    fsLabel: config.rdsFsLabel ?? config.rdsPool,
    root: config.rdsRoot,
    // Only listings are sent: the export settings below are never used to change anything.
    nvmePort: 4420,
    nqnPrefix: "nqn.2000-02.com.mikrotik:rds-csi",
    deleteMarks: false,
    logger,
  });
  try {
    const { kubeconfig } = config;
    const lineage = await readLineage(
      opened.storage,
      { deadline: Date.now() + 10 * config.rdsCommandTimeout },
      kubeconfig === undefined
        ? undefined
        : async () => {
            // The Kubernetes client is loaded only when a kubeconfig is given.
            const { readKubernetesNames } = await import("../lineage/kubernetes.js");
            const names = await readKubernetesNames({
              kubeconfigPath: kubeconfig,
              driverName: config.driverName,
              requestTimeoutMs: config.rdsCommandTimeout,
            });
            if (names.error) logger.warn({ err: names.error }, "Kubernetes names could not be read");
            return names;
          },
    );
    return config.json ? `${JSON.stringify(lineage, null, 2)}\n` : renderLineageText(lineage);
  } finally {
    opened.close();
  }
}
