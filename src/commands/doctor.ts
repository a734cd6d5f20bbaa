import { writeFile } from "node:fs/promises";
import type { Command } from "commander";
import { Option } from "commander";
import * as v from "valibot";
import {
  checkHostKeyConfig,
  connectionOptionsFor,
  controllerOptions,
  controllerSchema,
  validateConfig,
} from "../config.js";
import { createLogger } from "../log.js";

/** The controller's flags the doctor needs: how to reach the RDS and where the driver would work. */
const SHARED_FLAGS = [
  "--rds-address",
  "--rds-port",
  "--rds-user",
  "--rds-key-file",
  "--rds-key-passphrase-file",
  "--rds-host-key-fingerprint",
  "--rds-known-hosts-file",
  "--rds-insecure-skip-host-key-check",
  "--rds-command-timeout",
  "--rds-pool",
  "--rds-fs-label",
  "--rds-root",
  "--nvme-port",
  "--nqn-prefix",
];

const doctorSchema = v.pick(controllerSchema, [
  "rdsAddress",
  "rdsPort",
  "rdsUser",
  "rdsKeyFile",
  "rdsKeyPassphraseFile",
  "rdsHostKeyFingerprint",
  "rdsKnownHostsFile",
  "rdsInsecureSkipHostKeyCheck",
  "rdsCommandTimeout",
  "rdsPool",
  "rdsFsLabel",
  "rdsRoot",
  "nvmePort",
  "nqnPrefix",
]);

interface DoctorFlags {
  json?: boolean;
  jsonFile?: string;
  probeExportedDisk?: boolean;
  logLevel: string;
}

export function registerDoctorCommand(program: Command): void {
  const cmd = program
    .command("doctor")
    .description(
      "check, in a scratch directory of its own, every RouterOS behaviour the driver relies on; " +
        "report what this RDS does (exit 0: all supported; docs/doctor.md)",
    );
  for (const o of controllerOptions()) if (SHARED_FLAGS.includes(o.long ?? "")) cmd.addOption(o);
  cmd.addOption(new Option("--json", "print the report as JSON (schema rds-csi-doctor/v1)"));
  cmd.addOption(
    new Option("--json-file <path>", "also write the JSON report to this file (to attach to a bug report)"),
  );
  cmd.addOption(
    new Option(
      "--probe-exported-disk",
      "also check what file-size= does to an exported disk: exports a 16 MiB scratch disk for a moment, to one random host NQN",
    ),
  );
  cmd.addOption(
    new Option("--log-level <level>", "log level of the SSH client, on stderr")
      .env("LOG_LEVEL")
      .default("warn"),
  );
  cmd.action(async (raw: Record<string, unknown> & DoctorFlags) => {
    const config = validateConfig(doctorSchema, raw);
    checkHostKeyConfig(config);
    // Loaded on use: the driver's processes share this CLI and never run the doctor (nor its SSH).
    const [{ renderHuman, renderJson, supportedText }, { EXIT }, { startDoctor }] = await Promise.all([
      import("../doctor/render.js"),
      import("../doctor/report.js"),
      import("../doctor/run.js"),
    ]);
    const logger = createLogger(raw.logLevel as Parameters<typeof createLogger>[0], process.stderr);
    const run = startDoctor({
      connection: connectionOptionsFor(config),
      pool: config.rdsPool,
      fsLabel: config.rdsFsLabel ?? config.rdsPool,
      root: config.rdsRoot,
      nvmePort: config.nvmePort,
      nqnPrefix: config.nqnPrefix,
      commandTimeoutMs: config.rdsCommandTimeout,
      probeExport: raw.probeExportedDisk === true,
      logger,
      onCheck: (c) => process.stderr.write(`  ${c.id}: ${c.observed} (supported: ${supportedText(c)})\n`),
    });
    let signals = 0;
    const onSignal = (signal: NodeJS.Signals) => {
      signals++;
      if (signals > 1) {
        process.stderr.write(`rds-csi doctor: second ${signal}: exiting without finishing cleanup\n`);
        process.exit(EXIT.leftovers);
      }
      process.stderr.write(
        `rds-csi doctor: ${signal}: stopping after the current command, then cleaning up\n`,
      );
      run.interrupt(signal);
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    const report = await run.done;
    if (raw.jsonFile) await writeFile(raw.jsonFile, renderJson(report), { mode: 0o644 });
    process.stdout.write(raw.json ? renderJson(report) : renderHuman(report));
    process.exitCode = report.exitCode;
  });
}
