import type { Logger } from "pino";
import type { KubeSource } from "../reconcile/kubernetes.js";
import { type Leadership, type LeaseOptions, startLeaderElection } from "../reconcile/lease.js";
import { type Schedule, type ScheduleKeys, scheduleFor, scheduleKeys } from "./annotations.js";
import { dueSlot, type ScheduledSnapshot, snapshotNameFor, snapshotsToPrune } from "./decide.js";
import {
  type ClaimInfo,
  type ClassInfo,
  createScheduleCluster,
  type ScheduleCluster,
  type ScheduledSnapshotInfo,
} from "./kubernetes.js";

/**
 * Snapshot schedules: every interval, in the leader only, take the VolumeSnapshots that PVC and
 * StorageClass annotations ask for and prune the scheduled ones past their retention. Passes never
 * overlap; a pass that cannot list everything does nothing. What a pass decides depends only on
 * what the cluster holds, so a restart or a leader change loses nothing.
 */

export interface SnapshotSchedulesOptions {
  /** The CSI driver name: the annotation and label domain, and the provisioner of the classes served. */
  driverName: string;
  /** Time between passes; 0 turns schedules off (no timer, no Kubernetes client). */
  intervalMs: number;
  kube?: KubeSource;
  logger: Logger;
  /** Run passes only while holding this Lease. */
  lease?: LeaseOptions;
  /** Bound for one Kubernetes request. Default 30 s. */
  requestTimeoutMs?: number;
  clock?: () => number;
}

export interface SchedulePassReport {
  outcome: "done" | "not-leader" | "failed" | "disabled" | "stopped";
  created: string[];
  pruned: string[];
  /** Past retention, kept while a restore is provisioned from them. */
  held: string[];
  /** `namespace/pvc: problem` for each PVC whose schedule cannot be read. */
  invalid: string[];
  error?: string;
}

export interface SnapshotSchedules {
  runPass(): Promise<SchedulePassReport>;
  isLeader(): boolean;
  stop(): Promise<void>;
}

const EVENT_REASON = "InvalidSnapshotSchedule";

export function startSnapshotSchedules(options: SnapshotSchedulesOptions): SnapshotSchedules {
  const logger = options.logger.child({ component: "snapshot-schedules" });
  if (!(options.intervalMs > 0)) {
    logger.info("snapshot schedules are off (interval 0)");
    return { runPass: async () => report("disabled"), isLeader: () => false, stop: async () => {} };
  }
  const cluster = createScheduleCluster(options.kube, {
    driverName: options.driverName,
    requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
    component: `${options.driverName}/snapshot-schedules`,
  });
  let leadership: Leadership | undefined;
  const elected = options.lease
    ? startLeaderElection(options.kube, options.lease, { logger }).then(
        (l) => {
          leadership = l;
          return l;
        },
        (err: unknown) => {
          logger.error({ err: String(err) }, "snapshot schedules: leader election did not start");
          return undefined;
        },
      )
    : undefined;
  const isLeader = () => (options.lease ? leadership?.isLeader() === true : true);
  const pass = new SchedulePass(cluster, scheduleKeys(options.driverName), options, logger);
  let running: Promise<SchedulePassReport> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const runPass = (): Promise<SchedulePassReport> => {
    if (stopped) return Promise.resolve(report("stopped"));
    if (!isLeader()) return Promise.resolve(report("not-leader"));
    running ??= pass.run().finally(() => {
      running = undefined;
    });
    return running;
  };
  const next = () => {
    if (stopped) return;
    timer = setTimeout(() => void runPass().finally(next), options.intervalMs);
    timer.unref();
  };
  next();
  logger.info({ intervalMs: options.intervalMs }, "snapshot schedules started");
  return {
    runPass,
    isLeader,
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await running;
      await (await elected)?.stop();
    },
  };
}

function report(outcome: SchedulePassReport["outcome"]): SchedulePassReport {
  return { outcome, created: [], pruned: [], held: [], invalid: [] };
}

class SchedulePass {
  /** The problem last reported per PVC uid, so a bad annotation makes one Event, not one per pass. */
  readonly #reported = new Map<string, string>();
  readonly #clock: () => number;

  constructor(
    private readonly cluster: ScheduleCluster,
    private readonly keys: ScheduleKeys,
    private readonly options: SnapshotSchedulesOptions,
    private readonly logger: Logger,
  ) {
    this.#clock = options.clock ?? Date.now;
  }

  async run(): Promise<SchedulePassReport> {
    const result = report("done");
    let classes: ClassInfo[];
    let claims: ClaimInfo[];
    let snapshots: ScheduledSnapshotInfo[];
    try {
      [classes, claims, snapshots] = await Promise.all([
        this.cluster.listClasses(),
        this.cluster.listClaims(),
        this.cluster.listScheduledSnapshots(),
      ]);
    } catch (err) {
      this.logger.warn({ err: String(err) }, "snapshot schedules: could not list the cluster; nothing done");
      return { ...report("failed"), error: String(err) };
    }
    const ours = new Map(
      classes.filter((c) => c.provisioner === this.options.driverName).map((c) => [c.name, c]),
    );
    const restoring = new Set(
      claims
        .filter((c) => c.phase === "Pending" && c.restoresFrom)
        .map((c) => `${c.namespace}/${c.restoresFrom}`),
    );
    const byClaim = groupBy(snapshots, (s) => `${s.namespace}/${s.pvcName}`);
    const seen = new Set<string>();
    for (const claim of claims) {
      const storageClass =
        claim.storageClassName === undefined ? undefined : ours.get(claim.storageClassName);
      if (storageClass === undefined) continue;
      seen.add(claim.uid);
      const verdict = scheduleFor(this.keys, claim.annotations, storageClass.annotations);
      if (verdict.kind === "none") continue;
      if (verdict.kind === "invalid") {
        const problem = `${verdict.source === "StorageClass" ? `StorageClass ${storageClass.name}: ` : ""}${verdict.problem}`;
        result.invalid.push(`${claim.namespace}/${claim.name}: ${problem}`);
        await this.#reportInvalid(claim, problem);
        continue;
      }
      this.#reported.delete(claim.uid);
      const own = (byClaim.get(`${claim.namespace}/${claim.name}`) ?? []).map((s) => ({
        name: s.name,
        slot: s.slot,
        deleting: s.deleting,
        taking: s.taking,
        restoring: restoring.has(`${s.namespace}/${s.name}`),
      }));
      try {
        await this.#serve(claim, verdict.schedule, own, result);
      } catch (err) {
        this.logger.warn(
          { pvc: `${claim.namespace}/${claim.name}`, err: String(err) },
          "snapshot schedule: a request failed; tried again next pass",
        );
      }
    }
    for (const uid of this.#reported.keys()) if (!seen.has(uid)) this.#reported.delete(uid);
    return result;
  }

  /** Takes the due snapshot, if any, then applies retention to the claim's scheduled snapshots. */
  async #serve(claim: ClaimInfo, schedule: Schedule, own: ScheduledSnapshot[], result: SchedulePassReport) {
    const now = this.#clock();
    const pvc = `${claim.namespace}/${claim.name}`;
    // A claim not bound yet has nothing to snapshot; its slot is taken once it is.
    const slot = claim.phase === "Bound" ? dueSlot(schedule, own, claim.created, now) : undefined;
    if (slot !== undefined) {
      const name = snapshotNameFor(claim.name, slot);
      const made = await this.cluster.createSnapshot({
        namespace: claim.namespace,
        name,
        pvcName: claim.name,
        slot,
        ...(schedule.snapshotClass ? { snapshotClass: schedule.snapshotClass } : {}),
      });
      if (made) {
        result.created.push(`${claim.namespace}/${name}`);
        this.logger.info(
          { pvc, snapshot: name, slot: new Date(slot).toISOString(), schedule: schedule.expression },
          "scheduled snapshot created",
        );
      }
      if (!own.some((s) => s.name === name))
        own.push({ name, slot, restoring: false, deleting: false, taking: true });
    }
    const verdict = snapshotsToPrune(schedule, own, now);
    for (const name of verdict.remove) {
      await this.cluster.deleteSnapshot(claim.namespace, name);
      result.pruned.push(`${claim.namespace}/${name}`);
      this.logger.info({ pvc, snapshot: name }, "scheduled snapshot pruned (retention)");
    }
    for (const name of verdict.held) {
      result.held.push(`${claim.namespace}/${name}`);
      this.logger.info(
        { pvc, snapshot: name },
        "scheduled snapshot past retention kept: a restore is being made from it",
      );
    }
  }

  async #reportInvalid(claim: ClaimInfo, problem: string): Promise<void> {
    const pvc = `${claim.namespace}/${claim.name}`;
    if (this.#reported.get(claim.uid) === problem) return;
    this.logger.warn({ pvc, problem }, "snapshot schedule ignored: bad annotation");
    try {
      await this.cluster.warn(claim, EVENT_REASON, `snapshot schedule ignored: ${problem}`);
      this.#reported.set(claim.uid, problem);
    } catch (err) {
      this.logger.warn({ pvc, err: String(err) }, "snapshot schedule: could not record an Event");
    }
  }
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const group = groups.get(k);
    if (group) group.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}
