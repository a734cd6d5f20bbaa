import type { Logger } from "pino";
import { RdsClient, RdsConnection, type RdsConnectionOptions } from "../rds/index.js";
import { DRIVER_VERSION } from "../version.js";
import type { Facts, ProbeContext } from "./probe.js";
import {
  checkDiskBasics,
  checkExportedFileSize,
  checkFileRemoveInUse,
  provokeDiskErrors,
} from "./probes/disks.js";
import { errorTextsCheck } from "./probes/errors.js";
import {
  checkEmptyLegend,
  checkFileListing,
  checkLineErrorMode,
  checkProplistId,
  checkPutWrap,
  makeScratchDirectory,
  relativePathCheck,
} from "./probes/files.js";
import { checkParentResolution, checkSnapshotPath, checkSubvolumeBasics } from "./probes/subvolumes.js";
import {
  checkConnection,
  checkPackages,
  checkPool,
  checkVersion,
  measureRoundTrip,
} from "./probes/system.js";
import { type CheckResult, DOCTOR_SCHEMA, type DoctorReport, exitCodeFor, summaryOf } from "./report.js";
import { Scratch, ScratchPaths } from "./scratch.js";
import { Interrupted, ProbeSession } from "./session.js";

export interface DoctorOptions {
  connection: Omit<RdsConnectionOptions, "logger">;
  pool: string;
  fsLabel: string;
  root: string;
  nvmePort: number;
  nqnPrefix: string;
  commandTimeoutMs: number;
  probeExport: boolean;
  logger: Logger;
  /** Told about each finished check (progress on stderr). */
  onCheck?: (check: CheckResult) => void;
}

/** A running doctor: `interrupt` asks it to stop before its next command and clean up. */
export interface DoctorRun {
  interrupt(signal: string): void;
  done: Promise<DoctorReport>;
}

/** The upper bound of cleanup, however many objects: a few commands each. */
const CLEANUP_BUDGET_MS = 120_000;

type Step = { name: string; run: (ctx: ProbeContext) => Promise<CheckResult | CheckResult[]> };

/**
 * The checks in order. Each depends only on the ones before it (the scratch directory first); one
 * that fails is reported as failed and the rest go on.
 */
const STEPS: readonly Step[] = [
  { name: "routeros-version", run: checkVersion },
  { name: "packages", run: checkPackages },
  { name: "pool", run: checkPool },
  { name: "round-trip", run: measureRoundTrip },
  { name: "empty_print_legend", run: checkEmptyLegend },
  { name: "put_wrap", run: checkPutWrap },
  { name: "scratch", run: makeScratchDirectory },
  { name: "file listing", run: checkFileListing },
  { name: "file_add_relative_path", run: async (ctx) => relativePathCheck(ctx) },
  { name: "proplist_keeps_id", run: checkProplistId },
  { name: "line_error_mode", run: checkLineErrorMode },
  { name: "disk basics", run: checkDiskBasics },
  {
    name: "disk errors",
    run: async (ctx) => {
      await provokeDiskErrors(ctx);
      return [];
    },
  },
  { name: "file_remove_in_use", run: checkFileRemoveInUse },
  { name: "exported_disk_file_size", run: checkExportedFileSize },
  { name: "subvolumes", run: checkSubvolumeBasics },
  { name: "snapshot_parent_resolution", run: checkParentResolution },
  { name: "snapshot path", run: checkSnapshotPath },
];

/** Steps that need the scratch directory. */
const NEEDS_SCRATCH = new Set(
  STEPS.slice(STEPS.findIndex((s) => s.name === "file listing")).map((s) => s.name),
);

export function startDoctor(options: DoctorOptions): DoctorRun {
  const connection = new RdsConnection({
    ...options.connection,
    // One command at a time: probes read what the previous one did.
    maxChannels: 1,
    keepaliveIntervalMs: 0,
    logger: options.logger.child({ component: "rds" }),
  });
  const session = new ProbeSession(connection, options.commandTimeoutMs);
  const done = runDoctor(options, connection, session).finally(() => connection.close());
  return { interrupt: (signal) => session.interrupt(signal), done };
}

async function runDoctor(
  options: DoctorOptions,
  connection: RdsConnection,
  session: ProbeSession,
): Promise<DoctorReport> {
  const startedAt = new Date().toISOString();
  const paths = new ScratchPaths(options.pool, options.root);
  const scratch = new Scratch(paths);
  const rds = new RdsClient(connection, { logger: options.logger.child({ component: "rds-client" }) });
  const rdsDetail = new RdsClient(connection, { listingForm: "detail" });
  const facts: Facts = { plainBytes: true, fileNameSlash: false, scratchReady: false, errorTexts: {} };
  const ctx: ProbeContext = {
    session,
    rds,
    rdsDetail,
    scratch,
    paths,
    fsLabel: options.fsLabel,
    probeExport: options.probeExport,
    nvmePort: options.nvmePort,
    nqnPrefix: options.nqnPrefix,
    facts,
  };
  const checks: CheckResult[] = [];
  const record = (c: CheckResult) => {
    checks.push(c);
    options.onCheck?.(c);
  };

  const connected = await checkConnection(ctx, connection);
  record(connected);
  if (connected.status === "ok") {
    for (const step of STEPS) {
      if (session.interrupted) break;
      if (NEEDS_SCRATCH.has(step.name) && !facts.scratchReady) continue;
      try {
        const result = await step.run(ctx);
        for (const c of Array.isArray(result) ? result : [result]) record(c);
      } catch (err) {
        if (err instanceof Interrupted) break;
        record(failedStep(step.name, err));
        options.logger.debug({ step: step.name, err: String(err) }, "check failed");
      }
    }
    if (!session.interrupted && facts.scratchReady) record(errorTextsCheck(ctx));
  }

  const cleanup =
    scratch.size === 0
      ? { removed: [], left: [], kept: [] }
      : await scratch.cleanup(session, Date.now() + CLEANUP_BUDGET_MS).catch((err: unknown) => ({
          removed: [],
          left: [{ object: paths.inPool(), error: `cleanup failed: ${String(err)}` }],
          kept: [],
        }));
  const partial = { checks, cleanup, interrupted: session.interrupted };
  return {
    schema: DOCTOR_SCHEMA,
    driverVersion: DRIVER_VERSION,
    startedAt,
    finishedAt: new Date().toISOString(),
    target: {
      address: options.connection.host,
      port: options.connection.port ?? 22,
      user: options.connection.username,
      pool: options.pool,
      fsLabel: options.fsLabel,
      root: options.root,
    },
    scratch: `/${paths.inPool()}`,
    interrupted: session.interrupted,
    checks,
    cleanup,
    exitCode: exitCodeFor(partial),
    summary: summaryOf(partial),
  };
}

function failedStep(name: string, err: unknown): CheckResult {
  return {
    id: name.replace(/ /g, "-"),
    kind: "requirement",
    title: `Check "${name}"`,
    status: "error",
    observed: "failed",
    supported: null,
    note: err instanceof Error ? err.message : String(err),
  };
}
