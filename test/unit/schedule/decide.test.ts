import { describe, expect, it } from "vitest";
import {
  parseSchedule,
  type Schedule,
  scheduleFor,
  scheduleKeys,
} from "../../../src/schedule/annotations.js";
import {
  dueSlot,
  type ScheduledSnapshot,
  snapshotNameFor,
  snapshotsToPrune,
} from "../../../src/schedule/decide.js";

const keys = scheduleKeys("rds.csi.mikrotik.com");
const at = (iso: string) => Date.parse(iso);
const HOUR = 3_600_000;

function schedule(annotations: Record<string, string>): Schedule {
  const parsed = parseSchedule(keys, annotations);
  if (typeof parsed === "string") throw new Error(parsed);
  return parsed;
}

const hourly = schedule({ [keys.schedule]: "@hourly", [keys.retentionCount]: "3" });

function snap(name: string, slot: number, extra: Partial<ScheduledSnapshot> = {}): ScheduledSnapshot {
  return { name, slot, restoring: false, deleting: false, ...extra };
}

describe("annotations", () => {
  it("reads the PVC's own schedule over its StorageClass's, and the class's otherwise", () => {
    const pvc = { [keys.schedule]: "0 3 * * *", [keys.retentionAge]: "7d", [keys.snapshotClass]: "fast" };
    const cls = { [keys.schedule]: "@daily", [keys.retentionCount]: "5" };
    const own = scheduleFor(keys, pvc, cls);
    expect(own).toMatchObject({
      kind: "schedule",
      source: "PersistentVolumeClaim",
      schedule: { expression: "0 3 * * *", keepForMs: 7 * 24 * HOUR, snapshotClass: "fast" },
    });
    expect(own.kind === "schedule" && own.schedule.keepCount).toBeUndefined();
    expect(scheduleFor(keys, {}, cls)).toMatchObject({ kind: "schedule", source: "StorageClass" });
    expect(scheduleFor(keys, undefined, undefined)).toEqual({ kind: "none" });
    // Another driver instance's keys are not ours.
    expect(scheduleFor(keys, { "other.csi/snapshot-schedule": "@daily" }, undefined)).toEqual({
      kind: "none",
    });
  });

  it("finds the latest slot at or before a time, in UTC, with seconds when six fields are given", () => {
    expect(hourly.latestSlot(at("2026-03-01T10:59:59Z"))).toBe(at("2026-03-01T10:00:00Z"));
    expect(hourly.latestSlot(at("2026-03-01T11:00:00Z"))).toBe(at("2026-03-01T11:00:00Z"));
    const everyTenSeconds = schedule({ [keys.schedule]: "*/10 * * * * *", [keys.retentionCount]: "1" });
    expect(everyTenSeconds.latestSlot(at("2026-03-01T10:00:19Z"))).toBe(at("2026-03-01T10:00:10Z"));
    const weekly = schedule({ [keys.schedule]: "@weekly", [keys.retentionAge]: "2w" });
    expect(weekly.keepForMs).toBe(14 * 24 * HOUR);
  });

  it.each([
    [{ [keys.schedule]: "every hour", [keys.retentionCount]: "3" }, /is not a cron expression/],
    [{ [keys.schedule]: "0 0 31 2 *", [keys.retentionCount]: "3" }, /never matches/],
    [{ [keys.schedule]: "", [keys.retentionCount]: "3" }, /is empty/],
    [{ [keys.schedule]: "@hourly" }, /set .*snapshot-retention-count or .*snapshot-retention-age/],
    [{ [keys.schedule]: "@hourly", [keys.retentionCount]: "0" }, /not a whole number from 1/],
    [{ [keys.schedule]: "@hourly", [keys.retentionCount]: "2.5" }, /not a whole number/],
    [{ [keys.schedule]: "@hourly", [keys.retentionAge]: "a week" }, /not a duration/],
    [
      { [keys.schedule]: "@hourly", [keys.retentionCount]: "1", [keys.snapshotClass]: "Bad_Name" },
      /not a VolumeSnapshotClass name/,
    ],
  ])("refuses %j with a sentence saying why", (annotations, problem) => {
    const verdict = scheduleFor(keys, annotations, undefined);
    expect(verdict.kind).toBe("invalid");
    expect(verdict.kind === "invalid" && verdict.problem).toMatch(problem);
  });
});

describe("dueSlot", () => {
  const created = at("2026-03-01T08:30:00Z");

  it("a new PVC waits for its first slot instead of taking one it did not exist at", () => {
    expect(dueSlot(hourly, [], created, at("2026-03-01T08:45:00Z"))).toBeUndefined();
    expect(dueSlot(hourly, [], created, at("2026-03-01T09:00:01Z"))).toBe(at("2026-03-01T09:00:00Z"));
  });

  it("a slot already taken is not taken again", () => {
    const taken = [snap("a", at("2026-03-01T09:00:00Z"))];
    expect(dueSlot(hourly, taken, created, at("2026-03-01T09:59:59Z"))).toBeUndefined();
    expect(dueSlot(hourly, taken, created, at("2026-03-01T10:00:00Z"))).toBe(at("2026-03-01T10:00:00Z"));
  });

  it("after downtime over many slots, only the latest is due: one catch-up, not one per missed slot", () => {
    const taken = [snap("a", at("2026-03-01T09:00:00Z"))];
    const back = at("2026-03-01T17:20:00Z");
    const slot = dueSlot(hourly, taken, created, back);
    expect(slot).toBe(at("2026-03-01T17:00:00Z"));
    expect(dueSlot(hourly, [...taken, snap("b", slot!)], created, back)).toBeUndefined();
  });
});

describe("snapshotsToPrune", () => {
  const now = at("2026-03-10T00:00:00Z");
  const day = 24 * HOUR;
  const series = [0, 1, 2, 3, 4].map((i) => snap(`s${i}`, now - i * day));

  it("keeps the newest keepCount", () => {
    expect(snapshotsToPrune({ keepCount: 3 }, series, now)).toEqual({ remove: ["s3", "s4"], held: [] });
  });

  it("removes those older than keepForMs but always keeps the newest, which remembers the last run", () => {
    expect(snapshotsToPrune({ keepForMs: 1.5 * day }, series, now).remove).toEqual(["s2", "s3", "s4"]);
    const stale = [snap("old", now - 30 * day), snap("older", now - 31 * day)];
    expect(snapshotsToPrune({ keepForMs: day }, stale, now).remove).toEqual(["older"]);
  });

  it("with both, a snapshot goes when either rule says so", () => {
    expect(snapshotsToPrune({ keepCount: 4, keepForMs: 2.5 * day }, series, now).remove).toEqual([
      "s3",
      "s4",
    ]);
  });

  it("leaves a snapshot still being taken to a later pass", () => {
    const taking = series.map((s) => (s.name === "s3" ? { ...s, taking: true } : s));
    expect(snapshotsToPrune({ keepCount: 2 }, taking, now)).toEqual({ remove: ["s2", "s4"], held: [] });
  });

  it("holds a snapshot a restore is being provisioned from, and skips those already being deleted", () => {
    const withRestore = series.map((s) => (s.name === "s4" ? { ...s, restoring: true } : s));
    withRestore[3] = { ...withRestore[3]!, deleting: true };
    expect(snapshotsToPrune({ keepCount: 2 }, withRestore, now)).toEqual({ remove: ["s2"], held: ["s4"] });
  });
});

describe("snapshotNameFor", () => {
  it("is the PVC name and the slot in UTC, the same for the same slot", () => {
    expect(snapshotNameFor("data", at("2026-03-01T09:05:07Z"))).toBe("data-20260301090507");
  });

  it("fits a long PVC name into 253 characters, kept apart from others by a hash", () => {
    const a = snapshotNameFor(`${"x".repeat(250)}a`, 0);
    const b = snapshotNameFor(`${"x".repeat(250)}b`, 0);
    expect(a.length).toBeLessThanOrEqual(253);
    expect(a).not.toBe(b);
    expect(a).toMatch(/^x+-[0-9a-f]{8}-19700101000000$/);
  });
});
