import { KubeConfig } from "@kubernetes/client-node";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import {
  type SchedulePassReport,
  type SnapshotSchedules,
  scheduleKeys,
  scheduleMarks,
  startSnapshotSchedules,
} from "../../src/schedule/index.js";
import { Kubectl, type KubeObject } from "./harness/kubectl.js";
import { type VolumeSnapshot, waitBound, waitGone, waitReady } from "./harness/objects.js";

// Snapshot schedules against the real API server, the snapshot-controller and csi-snapshotter,
// acting as the chart's controller service account (so the chart's RBAC is what is tested). The
// loop runs in the test process, as the reconciler's suite does it; the chart's controller runs
// its own with a long interval and no Lease (harness/cluster.ts), so it stays idle. Where a test needs
// hours to pass, the loop's clock is moved forward instead of waiting.

const info = inject("cluster");
const kubectl = new Kubectl(info.bin, info.adminKubeconfig);
const NS = "schedules";
const HOUR = 3_600_000;
const keys = scheduleKeys(info.driverName);
const marks = scheduleMarks(info.driverName);
const WAITING_CLASS = "rds-wait-for-consumer";
const running: SnapshotSchedules[] = [];

function loop(
  options: { intervalMs?: number; offsetMs?: number; lease?: { name: string; namespace: string } } = {},
): SnapshotSchedules {
  const kube = new KubeConfig();
  kube.loadFromFile(info.controllerKubeconfig);
  const schedules = startSnapshotSchedules({
    driverName: info.driverName,
    kube,
    // Without an interval of its own the timer never fires during the test: passes are run by hand.
    intervalMs: options.intervalMs ?? 10 * HOUR,
    logger: pino({ level: "silent" }),
    clock: () => Date.now() + (options.offsetMs ?? 0),
    ...(options.lease ? { lease: options.lease } : {}),
  });
  running.push(schedules);
  return schedules;
}

async function stop(schedules: SnapshotSchedules): Promise<void> {
  await schedules.stop();
  running.splice(running.indexOf(schedules), 1);
}

function pvc(
  name: string,
  annotations: Record<string, string>,
  extra: Record<string, unknown> = {},
): KubeObject {
  return {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: { name, namespace: NS, annotations },
    spec: {
      accessModes: ["ReadWriteOnce"],
      storageClassName: "rds-nvme",
      resources: { requests: { storage: "1Gi" } },
      ...extra,
    },
  };
}

function userSnapshot(name: string, claim: string): KubeObject {
  return {
    apiVersion: "snapshot.storage.k8s.io/v1",
    kind: "VolumeSnapshot",
    metadata: { name, namespace: NS },
    spec: { volumeSnapshotClassName: "rds-snapshot", source: { persistentVolumeClaimName: claim } },
  };
}

/** The scheduled VolumeSnapshots of a claim, as the API server lists them. */
async function scheduledOf(claim: string): Promise<VolumeSnapshot[]> {
  const all = await kubectl.list<VolumeSnapshot>("volumesnapshot", NS);
  return all.filter(
    (s) =>
      s.spec.source.persistentVolumeClaimName === claim &&
      (s.metadata.labels as Record<string, string> | undefined)?.[marks.label] === "true",
  );
}

/** Ends a claim's schedule, so the passes of later tests leave its snapshots alone. */
async function unschedule(claim: string): Promise<void> {
  await kubectl.run(["-n", NS, "annotate", "pvc", claim, `${keys.schedule}-`]);
}

/** `<claim>-<UTC yyyymmddhhmmss>` of the hour at or before `ms`: the name a slot's snapshot gets. */
function hourlyName(claim: string, ms: number): string {
  const slot = new Date(Math.floor(ms / HOUR) * HOUR);
  return `${claim}-${slot.toISOString().replace(/[-:T]/g, "").slice(0, 14)}`;
}

/** What a pass did to one claim's snapshots (a pass serves every annotated claim of the cluster). */
function names(report: SchedulePassReport, kind: "created" | "pruned" | "held", claim: string): string[] {
  return report[kind]
    .map((n) => n.replace(`${NS}/`, ""))
    .filter((n) => new RegExp(`^${claim}-\\d{14}$`).test(n))
    .sort();
}

beforeAll(async () => {
  await kubectl.run(["create", "namespace", NS]);
  await kubectl.apply([
    {
      apiVersion: "storage.k8s.io/v1",
      kind: "StorageClass",
      metadata: { name: WAITING_CLASS },
      provisioner: info.driverName,
      volumeBindingMode: "WaitForFirstConsumer",
      reclaimPolicy: "Delete",
    },
  ]);
});

afterAll(async () => {
  for (const schedules of [...running]) await schedules.stop();
  await kubectl.delete("namespace", NS, undefined, 180_000);
  await kubectl.delete("storageclass", WAITING_CLASS);
}, 300_000);

describe("snapshot schedules", () => {
  it("passes run only in the holder of the Lease, and the other controller takes over when it stops", async () => {
    const lease = { name: "schedules-suite", namespace: "kube-system" };
    const a = loop({ lease });
    const b = loop({ lease });
    const leader = await kubectl.waitFor("a leader", async () =>
      a.isLeader() ? a : b.isLeader() ? b : undefined,
    );
    const other = leader === a ? b : a;
    expect((await other.runPass()).outcome).toBe("not-leader");
    expect((await leader.runPass()).outcome).toBe("done");
    // Stopping releases the Lease: the other takes it without waiting for it to expire.
    await stop(leader);
    await kubectl.waitFor("the other to lead", async () => (other.isLeader() ? true : undefined));
    expect((await other.runPass()).outcome).toBe("done");
    await stop(other);
  });

  it("takes labelled snapshots on a seconds schedule, prunes them to the retention count, leaves a user's alone", async () => {
    await kubectl.apply([
      pvc("ticking", {
        [keys.schedule]: "*/2 * * * * *",
        [keys.retentionCount]: "2",
        [keys.snapshotClass]: "rds-snapshot",
      }),
    ]);
    await waitBound(kubectl, NS, "ticking");
    await kubectl.apply([userSnapshot("mine", "ticking")]);
    await waitReady(kubectl, NS, "mine");

    const schedules = loop({ intervalMs: 500 });
    const seen = new Set<string>();
    await kubectl.waitFor(
      "four scheduled snapshots taken",
      async () => {
        for (const s of await scheduledOf("ticking")) seen.add(s.metadata.name);
        return seen.size >= 4 ? true : undefined;
      },
      180_000,
    );
    // No more slots for a year: the passes go on pruning, also what was still being taken.
    await kubectl.apply([
      pvc("ticking", {
        [keys.schedule]: "0 0 1 1 *",
        [keys.retentionCount]: "2",
        [keys.snapshotClass]: "rds-snapshot",
      }),
    ]);
    const left = await kubectl.waitFor(
      "the retention count left",
      async () => {
        const now = await scheduledOf("ticking");
        return now.length === 2 ? now : undefined;
      },
      300_000,
    );
    await stop(schedules);
    for (const s of left) {
      expect(s.metadata.name).toMatch(/^ticking-\d{14}$/);
      const annotations = s.metadata.annotations as Record<string, string>;
      expect(Date.parse(annotations[marks.slotAnnotation]!)).toBeGreaterThan(0);
      expect(s.spec.volumeSnapshotClassName).toBe("rds-snapshot");
    }
    // The newest survive: every pruned one is older than those left.
    const kept = left.map((s) => s.metadata.name).sort();
    const pruned = [...seen].filter((n) => !kept.includes(n)).sort();
    expect(pruned.length).toBeGreaterThanOrEqual(2);
    expect(pruned.at(-1)! < kept[0]!).toBe(true);
    // They are real snapshots on the RDS, and the user's is still there.
    await waitReady(kubectl, NS, kept[1]!);
    const mine = await waitReady(kubectl, NS, "mine");
    expect((mine.vs.metadata.labels as Record<string, string> | undefined)?.[marks.label]).toBeUndefined();
    await unschedule("ticking");
  }, 600_000);

  it("after a restart with missed runs, takes one catch-up snapshot, not one per missed slot", async () => {
    await kubectl.apply([pvc("hourly", { [keys.schedule]: "@hourly", [keys.retentionCount]: "10" })]);
    await waitBound(kubectl, NS, "hourly");
    const first = loop({ offsetMs: 2 * HOUR });
    const start = Date.now();
    const one = await first.runPass();
    expect(one.outcome).toBe("done");
    expect(names(one, "created", "hourly")).toEqual([hourlyName("hourly", start + 2 * HOUR)]);
    expect(names(await first.runPass(), "created", "hourly")).toEqual([]);
    await stop(first);

    // Down for seven hours: the new process finds the last run on the newest scheduled snapshot.
    const second = loop({ offsetMs: 9 * HOUR });
    const back = Date.now();
    const caughtUp = await second.runPass();
    expect(names(caughtUp, "created", "hourly")).toEqual([hourlyName("hourly", back + 9 * HOUR)]);
    expect(names(await second.runPass(), "created", "hourly")).toEqual([]);
    await stop(second);
    expect((await scheduledOf("hourly")).map((s) => s.metadata.name).sort()).toEqual(
      [hourlyName("hourly", start + 2 * HOUR), hourlyName("hourly", back + 9 * HOUR)].sort(),
    );
    await unschedule("hourly");
  });

  it("keeps a snapshot past retention while a claim is being restored from it", async () => {
    await kubectl.apply([pvc("restored-from", { [keys.schedule]: "@hourly", [keys.retentionCount]: "1" })]);
    await waitBound(kubectl, NS, "restored-from");
    const early = loop({ offsetMs: 2 * HOUR });
    const [old] = names(await early.runPass(), "created", "restored-from");
    await stop(early);
    expect(old).toBeDefined();
    await waitReady(kubectl, NS, old!);
    // A claim of a WaitForFirstConsumer class stays Pending (no pod uses it) with the snapshot as source.
    await kubectl.apply([
      pvc(
        "restore",
        {},
        {
          storageClassName: WAITING_CLASS,
          dataSource: { apiGroup: "snapshot.storage.k8s.io", kind: "VolumeSnapshot", name: old },
        },
      ),
    ]);
    const later = loop({ offsetMs: 4 * HOUR });
    const held = await later.runPass();
    expect(names(held, "created", "restored-from")).toHaveLength(1);
    expect(names(held, "held", "restored-from")).toEqual([old]);
    expect(names(held, "pruned", "restored-from")).toEqual([]);
    expect(await kubectl.get("volumesnapshot", old!, NS)).toBeDefined();

    await kubectl.delete("pvc", "restore", NS);
    const freed = await later.runPass();
    expect(names(freed, "pruned", "restored-from")).toEqual([old]);
    await stop(later);
    await waitGone(kubectl, "volumesnapshot", old!, NS);
    await unschedule("restored-from");
  });

  it("reports a bad annotation as one Warning Event on the claim, and goes on with the others", async () => {
    await kubectl.apply([pvc("broken", { [keys.schedule]: "every hour", [keys.retentionCount]: "3" })]);
    const schedules = loop();
    const report = await schedules.runPass();
    expect(report.outcome).toBe("done");
    expect(report.invalid.filter((i) => i.startsWith(`${NS}/broken:`))).toHaveLength(1);
    const warned = async () =>
      (await kubectl.eventsFor("PersistentVolumeClaim", "broken")).filter(
        (e) => e.reason === "InvalidSnapshotSchedule",
      );
    const events = await kubectl.waitFor("the event", async () => {
      const found = await warned();
      return found.length > 0 ? found : undefined;
    });
    expect(events[0]).toMatchObject({ type: "Warning" });
    expect(events[0]!.message).toContain(`${keys.schedule}: "every hour" is not a cron expression`);
    await schedules.runPass();
    expect(await warned()).toHaveLength(1);
    await stop(schedules);
  });
});

describe("quotas through csi-snapshotter", () => {
  it("a VolumeSnapshotClass's maxSnapshotsPerVolume refuses the next snapshot, saying which limit", async () => {
    await kubectl.apply([
      {
        apiVersion: "snapshot.storage.k8s.io/v1",
        kind: "VolumeSnapshotClass",
        metadata: { name: "rds-snapshot-capped" },
        driver: info.driverName,
        deletionPolicy: "Delete",
        parameters: { maxSnapshotsPerVolume: "1" },
      },
      pvc("capped", {}),
    ]);
    await waitBound(kubectl, NS, "capped");
    const capped = (name: string): KubeObject => ({
      ...userSnapshot(name, "capped"),
      spec: {
        volumeSnapshotClassName: "rds-snapshot-capped",
        source: { persistentVolumeClaimName: "capped" },
      },
    });
    await kubectl.apply([capped("capped-1")]);
    await waitReady(kubectl, NS, "capped-1");
    await kubectl.apply([capped("capped-2")]);
    const error = await kubectl.waitFor(
      "the error on volumesnapshot/capped-2",
      async () =>
        (await kubectl.get<VolumeSnapshot>("volumesnapshot", "capped-2", NS))?.status?.error?.message,
      120_000,
    );
    expect(error).toMatch(/ResourceExhausted.*already has 1 snapshots.*maxSnapshotsPerVolume=1/);
    // csi-snapshotter retries a ResourceExhausted snapshot (not a final error for it) and holds
    // its deletion until a retry ends: room is made, the retry goes through, then it is deleted.
    await kubectl.delete("volumesnapshot", "capped-1", NS);
    await kubectl.waitFor(
      "volumesnapshot/capped-2 taken on a retry",
      async () =>
        (await kubectl.get<VolumeSnapshot>("volumesnapshot", "capped-2", NS))?.status?.readyToUse === true
          ? true
          : undefined,
      400_000,
    );
    await kubectl.delete("volumesnapshot", "capped-2", NS);
    await kubectl.delete("volumesnapshotclass", "rds-snapshot-capped");
  }, 600_000);
});
