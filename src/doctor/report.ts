/**
 * The doctor's report: what was checked, what the RDS did, and whether the driver supports it.
 * The JSON form is a stable schema (`DOCTOR_SCHEMA`, docs/doctor.md): fields are only ever added.
 */

export const DOCTOR_SCHEMA = "rds-csi-doctor/v1";

/**
 * Exit statuses (docs/doctor.md). A signal wins over findings: an interrupted run is incomplete.
 * Cleanup that left something behind wins over everything, because the user must act on it.
 */
export const EXIT = {
  /** Every check ran and the driver supports what it found. */
  ok: 0,
  /** Bad flags or configuration, or an internal error before any check ran. */
  usage: 1,
  /** The RDS could not be reached: address, SSH login, host key. */
  unreachable: 2,
  /** Something the driver needs is missing or behaves in a way it does not support, or a check failed. */
  unsupported: 3,
  /** Cleanup could not remove everything the doctor created; the report lists what is left. */
  leftovers: 4,
  /** Interrupted by SIGINT (SIGTERM: 143); cleanup ran. */
  interrupted: 130,
} as const;

/**
 * - `ok`: observed and supported;
 * - `unsupported`: observed, and the driver does not work with it (or a requirement is missing);
 * - `warning`: works, but worth knowing (little free space, a slow round trip, not probed);
 * - `error`: the probe itself failed, so the behaviour is unknown;
 * - `skipped`: not run because an earlier check found what it needs missing, or the run was interrupted.
 */
export type CheckStatus = "ok" | "unsupported" | "warning" | "error" | "skipped";

export interface CheckResult {
  /** Stable identifier; for emulator settings it is the setting's name (src/sim/README.md, "Settings"). */
  id: string;
  /** `setting` checks detect one behaviour that differs between RouterOS versions or is unknown. */
  kind: "requirement" | "setting" | "measurement";
  title: string;
  status: CheckStatus;
  /** The behaviour seen, as a setting value where one exists (`float`, `accept`, …), else text. */
  observed: string;
  /** Whether the driver supports what was observed; null when nothing was observed. */
  supported: boolean | null;
  note: string;
  /** Measurements in milliseconds (round trip, snapshot, listing). */
  ms?: number;
  /** RouterOS's own words where they matter (error texts). */
  details?: Record<string, string>;
}

export interface CleanupReport {
  /** What the doctor created and removed again, in removal order. */
  removed: string[];
  /** What it created and could not remove (the run exits 4); each with RouterOS's answer. */
  left: Array<{ object: string; error: string }>;
  /** What it created but left in place on purpose: the root directory, when something else appeared in it. */
  kept: Array<{ object: string; reason: string }>;
}

export interface DoctorReport {
  schema: typeof DOCTOR_SCHEMA;
  driverVersion: string;
  startedAt: string;
  finishedAt: string;
  target: { address: string; port: number; user: string; pool: string; fsLabel: string; root: string };
  /** The scratch directory the probes ran in, under the root (`<pool>/<root>/doctor-<uuid>`). */
  scratch: string;
  /** Set when SIGINT or SIGTERM stopped the run. */
  interrupted: string | null;
  checks: CheckResult[];
  cleanup: CleanupReport;
  exitCode: number;
  summary: string;
}

/** The exit status a finished report asks for. */
export function exitCodeFor(report: Pick<DoctorReport, "checks" | "cleanup" | "interrupted">): number {
  if (report.cleanup.left.length > 0) return EXIT.leftovers;
  if (report.interrupted === "SIGTERM") return 143;
  if (report.interrupted) return EXIT.interrupted;
  if (report.checks.some((c) => c.id === "connection" && c.status !== "ok")) return EXIT.unreachable;
  if (report.checks.some((c) => c.status === "unsupported" || c.status === "error")) return EXIT.unsupported;
  return EXIT.ok;
}

export function summaryOf(report: Pick<DoctorReport, "checks" | "cleanup" | "interrupted">): string {
  const count = (s: CheckStatus) => report.checks.filter((c) => c.status === s).length;
  const parts = [`${count("ok")} ok`, `${count("warning")} warning`, `${count("unsupported")} unsupported`];
  parts.push(`${count("error")} failed`, `${count("skipped")} skipped`);
  const { removed, left } = report.cleanup;
  const cleanup =
    left.length > 0
      ? `cleanup LEFT ${left.length} objects behind`
      : removed.length === 0
        ? "nothing was created"
        : `cleanup removed all ${removed.length} objects it created`;
  const stopped = report.interrupted ? `interrupted by ${report.interrupted}; ` : "";
  return `${stopped}${parts.join(", ")}; ${cleanup}`;
}
