import type { ConcurrencyRun } from "../suites/concurrency.js";
import type { ProfileSummary } from "./profile-summary.js";
import { type Summary, summarize } from "./stats.js";

/** What `npm run bench` writes to bench/results/latest.json, and renders as latest.md. */

export interface Target {
  /** How the target reads in the report, e.g. "≤ 1.5 × floor (72.0 ms)". */
  text: string;
  /** The median must not exceed this. */
  limit: number;
}

export interface Verdict {
  met: boolean;
  text: string;
}

export interface Figure {
  id: string;
  label: string;
  unit: "ms" | "round trips" | "errors" | "calls" | "ratio" | "MiB";
  summary: Summary;
  samples: number[];
  target?: Target;
  verdict?: Verdict;
  note?: string;
}

const round = (v: number) => Math.round(v * 100) / 100;

export function figure(
  id: string,
  label: string,
  unit: Figure["unit"],
  samples: readonly number[],
  target?: Target,
  note?: string,
): Figure {
  const summary = summarize(samples);
  const out: Figure = { id, label, unit, summary, samples: samples.map(round) };
  if (target) {
    out.target = target;
    out.verdict = verdictOf(summary.median, target, unit);
  }
  if (note) out.note = note;
  return out;
}

/** The verdict of a median against a target (exported for targets computed when the report is rendered). */
export function verdictFor(median: number, target: Target, unit: Figure["unit"]): Verdict {
  return verdictOf(median, target, unit);
}

export function formatValue(value: number, unit: Figure["unit"]): string {
  if (!Number.isFinite(value)) return "—";
  if (unit === "ms") return value >= 1000 ? `${(value / 1000).toFixed(2)} s` : `${value.toFixed(1)} ms`;
  if (unit === "ratio") return `${value.toFixed(2)}×`;
  if (unit === "MiB") return `${value.toFixed(1)} MiB`;
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}

function verdictOf(median: number, target: Target, unit: Figure["unit"]): Verdict {
  if (median <= target.limit) {
    const under = target.limit - median;
    return { met: true, text: under > 0 ? `met (${formatValue(under, unit)} under)` : "met" };
  }
  const over = median - target.limit;
  const times = target.limit > 0 ? ` = ${(median / target.limit).toFixed(1)}× the target` : "";
  return { met: false, text: `missed by ${formatValue(over, unit)}${times}` };
}

export interface MachineInfo {
  cpus: number;
  cpuModel: string;
  kernel: string;
  node: string;
  btrfsProgs: string;
  memoryGiB: number;
  loadAverageStart: number[];
  loadAverageEnd: number[];
}

export interface PhaseRecord {
  name: string;
  wallMs: number;
  driverCpuMs: number;
  emulatorCpuMs: number;
  /** CPU of the btrfs processes the emulator ran (its reaped children). */
  btrfsCpuMs: number;
  /** CPU of this benchmark process (the CSI client, SSH clients, bookkeeping). */
  clientCpuMs: number;
  driverRssKiB: number;
  driverPeakRssKiB: number;
  emulatorRssKiB: number;
  profileIndex?: number;
}

/** Everything measured, in the shape latest.json keeps it; the report is rendered from this. */
export interface BenchData {
  /** The driver and emulator ran as `node dist/cli.js` or from source through tsx. */
  build: string;
  /** The controller's memory limit in the Helm chart, MiB, to hold the measured RSS against. */
  chartMemoryLimitMiB?: number;
  setup: {
    poolSize: string;
    volumeSizes: string[];
    snapshotCounts: number[];
    pageSize: number;
    concurrentCalls: number;
    concurrencyVolumes: number;
  };
  /**
   * Medians of the floor: the driver's path, the emulator's share, and the rest (the transport);
   * and the transport of the driver's real read commands (JSON listings), from their replay.
   */
  floor: { rdsConnectionMs: number; emulatorOnlyMs: number; transportMs: number; readTransportMs: number };
  figures: Figure[];
  transport: Array<{ clientNoDelay: boolean; serverNoDelay: boolean; summary: Summary; samples: number[] }>;
  replay: Array<{ line: string; replyBytes: number; overSsh: Summary; emulatorOnly: Summary }>;
  breakdown: BreakdownRow[];
  /** The commands each snapshot operation sends (smallest size), with the driver's median time of each. */
  commands: Record<string, CommandTime[]>;
  listing: ListingRecord[];
  /**
   * The execs of CreateSnapshot and DeleteSnapshot on the listing volumes before any snapshot is
   * made (figures `list.none.*`); absent from results taken before it was measured.
   */
  listingBaseline?: Pick<ListingRecord, "createSnapshotCommands" | "deleteSnapshotCommands">;
  concurrency: ConcurrencyRun[];
  phases: PhaseRecord[];
}

/** A command as the report shows it: its shape, and its median time as the driver saw it. */
export interface CommandTime {
  command: string;
  medianMs: number;
}

/** One command replayed: over SSH (the driver's path) and inside the emulator alone, medians. */
export interface CommandCost {
  command: string;
  replyBytes: number;
  overSshMs: number;
  emulatorOnlyMs: number;
}

/** What is known about listing at one snapshot count beyond its figures. */
export interface ListingRecord {
  snapshots: number;
  populateMs: number;
  walkPages: number;
  walkSampledPages?: number;
  /** The execs of the first page, replayed. */
  firstPageCommands: CommandCost[];
  /** The execs of CreateSnapshot and DeleteSnapshot with this many snapshots present. */
  createSnapshotCommands: CommandTime[];
  deleteSnapshotCommands: CommandTime[];
}

/** Medians of one operation at one size, split by where the time went. */
export interface BreakdownRow {
  operation: string;
  size: string;
  totalMs: number;
  handlerMs: number;
  commandMs: number;
  roundTrips: number;
}

export type ProfilesByPhase = Record<string, { driver?: ProfileSummary; emulator?: ProfileSummary }>;

/** latest.json: the measurements plus when, where and how they were taken. */
export interface BenchResults extends BenchData {
  version: 1;
  /** The emulator's cost model during the run (settings), absent when it was off. */
  costModel?: Record<string, number>;
  date: string;
  mode: "full" | "quick";
  durationS: number;
  machine: MachineInfo;
  profiles: ProfilesByPhase;
}
