import { Cron } from "croner";
import { parseDurationMs } from "../duration.js";

/**
 * The schedule a PVC asks for, read from annotations under the driver's name (so two driver
 * instances in one cluster each read only their own keys). A PVC that sets the schedule key uses
 * its own annotations only; otherwise its StorageClass's annotations apply.
 */

export interface ScheduleKeys {
  schedule: string;
  retentionCount: string;
  retentionAge: string;
  snapshotClass: string;
}

/** The annotation keys for a driver name, e.g. `rds.csi.mikrotik.com/snapshot-schedule`. */
export function scheduleKeys(driverName: string): ScheduleKeys {
  return {
    schedule: `${driverName}/snapshot-schedule`,
    retentionCount: `${driverName}/snapshot-retention-count`,
    retentionAge: `${driverName}/snapshot-retention-age`,
    snapshotClass: `${driverName}/snapshot-class`,
  };
}

export interface Schedule {
  /** The expression as written, for messages. */
  expression: string;
  /** The latest time the expression names at or before `at` (epoch ms), or undefined. */
  latestSlot(at: number): number | undefined;
  /** Keep at most this many scheduled snapshots. */
  keepCount?: number;
  /** Remove scheduled snapshots older than this (ms); the newest is always kept. */
  keepForMs?: number;
  /** The VolumeSnapshotClass to use; undefined: the cluster's default class. */
  snapshotClass?: string;
}

export type ScheduleSource = "PersistentVolumeClaim" | "StorageClass";

export type ScheduleVerdict =
  | { kind: "none" }
  | { kind: "schedule"; schedule: Schedule; source: ScheduleSource }
  | { kind: "invalid"; problem: string; source: ScheduleSource };

type Annotations = Readonly<Record<string, string>> | undefined;

const MAX_RETENTION_COUNT = 10_000;
/** Days and weeks, which retention is usually written in and Go durations lack. */
const LONG_UNITS = /^(\d+)(d|w)$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/** Which annotations apply to a PVC, and what they say. Never throws: a problem is a verdict. */
export function scheduleFor(
  keys: ScheduleKeys,
  pvc: Annotations,
  storageClass: Annotations,
): ScheduleVerdict {
  const own = pvc?.[keys.schedule] !== undefined;
  const annotations = own ? pvc : storageClass;
  if (annotations?.[keys.schedule] === undefined) return { kind: "none" };
  const source: ScheduleSource = own ? "PersistentVolumeClaim" : "StorageClass";
  const parsed = parseSchedule(keys, annotations);
  return typeof parsed === "string"
    ? { kind: "invalid", problem: parsed, source }
    : { kind: "schedule", schedule: parsed, source };
}

/** The schedule the annotations describe, or a sentence saying what is wrong. */
export function parseSchedule(
  keys: ScheduleKeys,
  annotations: Readonly<Record<string, string>>,
): Schedule | string {
  const expression = (annotations[keys.schedule] ?? "").trim();
  const slots = cronSlots(expression);
  if (typeof slots === "string") return `${keys.schedule}: ${slots}`;
  const schedule: Schedule = { expression, latestSlot: slots };
  const count = annotations[keys.retentionCount];
  if (count !== undefined) {
    const n = /^\d+$/.test(count.trim()) ? Number(count.trim()) : Number.NaN;
    if (!(n >= 1 && n <= MAX_RETENTION_COUNT)) {
      return `${keys.retentionCount}: ${JSON.stringify(count)} is not a whole number from 1 to ${MAX_RETENTION_COUNT}`;
    }
    schedule.keepCount = n;
  }
  const age = annotations[keys.retentionAge];
  if (age !== undefined) {
    const ms = retentionAgeMs(age);
    if (ms === undefined || ms <= 0) {
      return `${keys.retentionAge}: ${JSON.stringify(age)} is not a duration (e.g. 36h, 7d, 2w)`;
    }
    schedule.keepForMs = ms;
  }
  if (schedule.keepCount === undefined && schedule.keepForMs === undefined) {
    // Without one, scheduled snapshots would pile up until the pool is full.
    return `set ${keys.retentionCount} or ${keys.retentionAge} (or both) beside ${keys.schedule}`;
  }
  const snapshotClass = annotations[keys.snapshotClass]?.trim();
  if (snapshotClass !== undefined && snapshotClass !== "") {
    if (!DNS_SUBDOMAIN.test(snapshotClass)) {
      return `${keys.snapshotClass}: ${JSON.stringify(snapshotClass)} is not a VolumeSnapshotClass name`;
    }
    schedule.snapshotClass = snapshotClass;
  }
  return schedule;
}

/**
 * A cron expression (5 fields, or 6 with seconds first) or a shorthand (`@hourly`, `@daily`,
 * `@weekly`, `@monthly`, `@yearly`), evaluated in UTC by croner.
 */
function cronSlots(expression: string): ((at: number) => number | undefined) | string {
  if (expression === "") return "is empty";
  let cron: Cron;
  try {
    cron = new Cron(expression, { paused: true, timezone: "UTC", mode: "5-or-6-parts" });
  } catch (err) {
    return `${JSON.stringify(expression)} is not a cron expression (${err instanceof Error ? err.message : String(err)})`;
  }
  if (cron.nextRun(new Date(0)) === null) return `${JSON.stringify(expression)} never matches a date`;
  // previousRuns looks strictly before its reference: one millisecond later includes `at` itself.
  return (at) => cron.previousRuns(1, new Date(at + 1))[0]?.getTime();
}

function retentionAgeMs(text: string): number | undefined {
  const long = LONG_UNITS.exec(text.trim());
  if (long) return Number(long[1]) * (long[2] === "w" ? 7 : 1) * 86_400_000;
  return parseDurationMs(text);
}
