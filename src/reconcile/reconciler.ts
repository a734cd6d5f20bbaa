import type { KubeConfig } from "@kubernetes/client-node";
import type { Logger } from "pino";
import {
  type CallOptions,
  type PoolStorage,
  type RdsInventory,
  type Storage,
  StoragePools,
} from "../storage/index.js";
import { listAttachedHosts, resolveKubeConfig } from "./attachments.js";
import { type Candidate, candidateKey, classify } from "./classify.js";
import type { Finding, FindingAction, PassReport, ReconcilerMetrics } from "./findings.js";
import { createKubernetesReader, type KubernetesReader, type LiveObjects } from "./kubernetes.js";
import { type Leadership, type LeaseOptions, startLeaderElection } from "./lease.js";
import { type OperationLocks, removeCandidate } from "./removal.js";
import { type Sighting, SightingTracker } from "./tracker.js";

/**
 * The orphan reconciler: every interval, list what the driver owns on the RDS, list what the
 * cluster still refers to, and report (dry-run) or remove what nothing refers to any more. Passes
 * never overlap; one that cannot list everything does nothing and breaks every count.
 */

export interface ReconcilerOptions {
  /** The controller's storage: the driver's objects on the RDS are read and removed through it. */
  storage: Storage;
  /**
   * Every pool the controller serves (`--rds-pools`), `storage` being the default one; each is
   * judged against the same cluster listing. Without it, `storage` alone.
   */
  pools?: StoragePools;
  /** The cluster's API: a KubeConfig, or a function making one at the first pass. Default: in-cluster / $KUBECONFIG. */
  kube?: KubeConfig | (() => KubeConfig);
  /** The CSI driver name PersistentVolumes and VolumeSnapshotContents carry. */
  driverName: string;
  /** Time between passes; 0 turns the reconciler off. */
  intervalMs: number;
  /** Report only (the default). */
  dryRun?: boolean;
  /** Minimum age before anything is removed. */
  gracePeriodMs: number;
  /** Consecutive passes an object must be seen orphaned before it is removed. */
  passes: number;
  /** The controller's per-object locks, so nothing is removed while a CSI call works on it. */
  locks: OperationLocks;
  logger: Logger;
  metrics?: ReconcilerMetrics;
  /** Bound for one Kubernetes list request (RouterOS commands have the connection's own). Default 30 s. */
  kubernetesTimeoutMs?: number;
  /**
   * Export fencing is on (csi-attacher deployed): also list VolumeAttachments and CSINodes, and
   * report volumes exported to hosts none of them names (`stale-export`).
   */
  exportFencing?: boolean;
  /** Now, in epoch ms, for ages (tests move it forward). */
  clock?: () => number;
  /**
   * Run passes only while holding this Lease, so that of several controllers (replicas, or old and
   * new during a rolling update) one reconciles. Without it every process that starts a
   * reconciler runs passes.
   */
  lease?: LeaseOptions;
}

export interface Reconciler {
  /** Ends the timer, cancels a running pass and waits for it. */
  stop(): Promise<void>;
  /** Runs one pass now (or joins the one running) and reports it. */
  runPass(): Promise<PassReport>;
  /** Whether this process runs the passes now: it holds the Lease, or runs without one. */
  isLeader(): boolean;
}

/** Removing things needs more care than reporting them: below these, a slow provisioner could lose a new volume. */
export const MIN_ACTING_GRACE_PERIOD_MS = 60_000;
export const MIN_ACTING_PASSES = 2;
const DEFAULT_KUBERNETES_TIMEOUT_MS = 30_000;

export function startReconciler(options: ReconcilerOptions): Reconciler {
  const logger = options.logger.child({ component: "reconciler" });
  const dryRun = options.dryRun ?? true;
  if (!(options.intervalMs > 0)) {
    logger.info("orphan reconciler is off (interval 0)");
    options.metrics?.leader?.(false);
    return {
      stop: async () => {},
      runPass: async () => emptyReport("disabled", dryRun),
      isLeader: () => false,
    };
  }
  checkOptions(options, dryRun);
  const leadership = options.lease ? electLeader(options, options.lease, logger) : undefined;
  const isLeader = () => (leadership ? leadership.current?.isLeader() === true : true);
  if (!leadership) options.metrics?.leader?.(true);
  const pass = new ReconcilePass(options, logger, dryRun, isLeader);
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<PassReport> | undefined;
  let stopped = false;

  const runPass = (): Promise<PassReport> => {
    if (stopped) return Promise.resolve(emptyReport("stopped", dryRun));
    running ??= pass.run().finally(() => {
      running = undefined;
    });
    return running;
  };
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => void runPass().finally(schedule), options.intervalMs);
    timer.unref();
  };
  schedule();
  logger.info(
    {
      dryRun,
      intervalMs: options.intervalMs,
      gracePeriodMs: options.gracePeriodMs,
      passes: options.passes,
    },
    dryRun
      ? "orphan reconciler started (dry-run: reports only)"
      : "orphan reconciler started (removes orphans)",
  );
  return {
    runPass,
    isLeader,
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      pass.cancel();
      await running;
      await (await leadership?.started)?.stop();
    },
  };
}

/** Starts taking part in the Lease election; until the client is loaded this process is no leader. */
function electLeader(
  options: ReconcilerOptions,
  lease: LeaseOptions,
  logger: Logger,
): { current: Leadership | undefined; started: Promise<Leadership | undefined> } {
  const holder: { current: Leadership | undefined; started: Promise<Leadership | undefined> } = {
    current: undefined,
    started: Promise.resolve(undefined),
  };
  holder.started = startLeaderElection(options.kube, lease, {
    logger,
    onChange: (leading) => options.metrics?.leader?.(leading),
  }).then(
    (leadership) => {
      holder.current = leadership;
      return leadership;
    },
    (err: unknown) => {
      logger.error(
        { err: err instanceof Error ? err.message : String(err) },
        "lease: cannot start; no passes",
      );
      return undefined;
    },
  );
  return holder;
}

function checkOptions(options: ReconcilerOptions, dryRun: boolean): void {
  const problems: string[] = [];
  if (!Number.isInteger(options.passes) || options.passes < 1)
    problems.push("passes must be a whole number ≥ 1");
  if (!(options.gracePeriodMs >= 0)) problems.push("the grace period must be ≥ 0");
  if (!dryRun && options.gracePeriodMs < MIN_ACTING_GRACE_PERIOD_MS) {
    problems.push(`removing orphans needs a grace period of at least ${MIN_ACTING_GRACE_PERIOD_MS / 1000}s`);
  }
  if (!dryRun && options.passes < MIN_ACTING_PASSES) {
    problems.push(`removing orphans needs at least ${MIN_ACTING_PASSES} passes`);
  }
  if (problems.length > 0) throw new Error(`orphan reconciler: ${problems.join("; ")}`);
}

function emptyReport(outcome: PassReport["outcome"], dryRun: boolean, error?: string): PassReport {
  const now = new Date();
  return {
    outcome,
    dryRun,
    startedAt: now,
    finishedAt: now,
    findings: [],
    unexplained: [],
    ...(error ? { error } : {}),
  };
}

/** A candidate of one pool: as judged there (RouterOS ids) and as shown and locked (the ids handed out). */
interface Judged {
  pool: PoolStorage;
  candidate: Candidate;
  shown: Candidate;
}

/** The cluster's handles as RouterOS ids of one pool: an id of another pool is no object of this one. */
export function liveInPool(live: LiveObjects, pools: StoragePools, pool: PoolStorage): LiveObjects {
  if (pools.all().length === 1) return live;
  const local = (
    handles: ReadonlySet<string>,
    resolve: (id: string) => ReturnType<StoragePools["resolveVolume"]>,
  ) => {
    const out = new Set<string>();
    for (const handle of handles) {
      const r = resolve(handle);
      if (r.kind === "ours" && r.pool === pool) out.add(r.id);
      else if (r.kind === "foreign" && pool.isDefault) out.add(handle);
    }
    return out;
  };
  const attached =
    live.attachedHosts === undefined
      ? undefined
      : new Map(
          [...live.attachedHosts].flatMap(([handle, hosts]) => {
            const r = pools.resolveVolume(handle);
            return r.kind === "ours" && r.pool === pool ? [[r.id, hosts] as const] : [];
          }),
        );
  return {
    ...live,
    volumes: local(live.volumes, (h) => pools.resolveVolume(h)),
    snapshots: local(live.snapshots, (h) => pools.resolveSnapshot(h)),
    ...(attached ? { attachedHosts: attached } : {}),
  };
}

/** A candidate with the ids a user and the CSI locks know it by. */
function shownAs(pool: PoolStorage, c: Candidate): Candidate {
  if (pool.isDefault) return c;
  return {
    ...c,
    id: pool.csiId(c.id),
    ...(c.sourceVolumeId ? { sourceVolumeId: pool.csiId(c.sourceVolumeId) } : {}),
    lockKeys: c.lockKeys.map((k) => pool.csiId(k)),
    detail: `${c.detail} (pool ${pool.name})`,
  };
}

class ReconcilePass {
  readonly #tracker = new SightingTracker();
  readonly #cancel = new AbortController();
  readonly #clock: () => number;
  readonly #kubernetesTimeoutMs: number;
  #kubernetes: KubernetesReader | undefined;
  #config: KubeConfig | undefined;

  constructor(
    private readonly options: ReconcilerOptions,
    private readonly logger: Logger,
    private readonly dryRun: boolean,
    private readonly isLeader: () => boolean,
  ) {
    this.#clock = options.clock ?? Date.now;
    this.#kubernetesTimeoutMs = options.kubernetesTimeoutMs ?? DEFAULT_KUBERNETES_TIMEOUT_MS;
  }

  cancel(): void {
    this.#cancel.abort();
  }

  /** One pass; never throws — a failure is a report that says so. */
  async run(): Promise<PassReport> {
    const startedAt = new Date();
    try {
      return await this.#run(startedAt);
    } catch (err) {
      return this.#failed(startedAt, err);
    }
  }

  async #run(startedAt: Date): Promise<PassReport> {
    const pools = this.options.pools ?? new StoragePools(this.options.storage);
    if (!this.isLeader()) {
      // Counts made while leading earlier are stale once another controller has been in charge.
      this.#tracker.clear();
      this.logger.debug("reconcile pass skipped: another controller holds the lease");
      return { ...emptyReport("not-leader", this.dryRun), startedAt };
    }
    let live: LiveObjects;
    let inventories: RdsInventory[];
    try {
      // The RDS first: whatever it shows then has had the longest time to appear in the cluster.
      inventories = [];
      for (const pool of pools.all()) {
        inventories.push(await pool.storage.readInventory({ kind: "all" }, this.#call()));
      }
      live = await this.#reader().listLive(this.#cancel.signal);
      if (this.options.exportFencing) live = { ...live, ...(await this.#attachedHosts()) };
    } catch (err) {
      // Nothing has been judged yet, so nothing was changed: "could not list" is never "absent".
      return this.#failed(startedAt, err);
    }
    const judged: Judged[] = [];
    const unexplained: string[] = [];
    pools.all().forEach((pool, i) => {
      const found = classify(
        pool.storage.layout,
        inventories[i] as RdsInventory,
        liveInPool(live, pools, pool),
      );
      for (const candidate of found.candidates)
        judged.push({ pool, candidate, shown: shownAs(pool, candidate) });
      unexplained.push(...found.unexplained.map((u) => (pool.isDefault ? u : `pool ${pool.name}: ${u}`)));
    });
    const sightings = this.#tracker.observe(
      judged.map((j) => j.shown),
      this.#clock(),
    );
    const findings: Finding[] = [];
    for (const j of judged) {
      const sighting = sightings.get(candidateKey(j.shown))!;
      findings.push(await this.#decide(j, sighting, liveInPool(live, pools, j.pool)));
    }
    for (const finding of findings) this.options.metrics?.findings(finding.type, finding.action);
    for (const note of unexplained) this.logger.debug({ note }, "left alone: not recognised as the driver's");
    this.#summarise(findings, unexplained);
    return {
      outcome: "completed",
      dryRun: this.dryRun,
      startedAt,
      finishedAt: new Date(),
      findings,
      unexplained,
    };
  }

  async #decide(judged: Judged, sighting: Sighting, live: LiveObjects): Promise<Finding> {
    const candidate = judged.shown;
    const ageMs = this.#clock() - (candidate.createdAt?.getTime() ?? sighting.firstSeen);
    const finding = (action: FindingAction, reason?: string): Finding => ({
      type: candidate.type,
      id: candidate.id,
      ...(candidate.sourceVolumeId ? { sourceVolumeId: candidate.sourceVolumeId } : {}),
      action,
      ageMs,
      passes: sighting.passes,
      detail: candidate.detail,
      ...(candidate.madeFor ? { madeFor: candidate.madeFor } : {}),
      ...(reason ? { reason } : {}),
    });
    const log = {
      type: candidate.type,
      id: candidate.id,
      ageMs,
      passes: sighting.passes,
      ...(candidate.madeFor ? { madeFor: candidate.madeFor } : {}),
    };
    if (sighting.passes < this.options.passes || ageMs < this.options.gracePeriodMs) {
      this.logger.debug(log, `seen: ${candidate.detail}`);
      return finding("pending");
    }
    const refusal = refusalFor(candidate, live, this.options.driverName);
    if (refusal !== undefined) {
      this.logger.warn({ ...log, reason: refusal }, `not removing: ${candidate.detail}`);
      return finding("refused", refusal);
    }
    if (this.dryRun) {
      this.logger.info(log, `dry-run, would remove: ${candidate.detail}`);
      return finding("would-remove");
    }
    if (!this.isLeader()) return finding("pending", "lost the reconciler lease during the pass");
    // Removed in its pool by RouterOS ids, under the locks of the ids handed out.
    const outcome = await removeCandidate(
      {
        storage: judged.pool.storage,
        locks: this.options.locks,
        live,
        call: () => this.#call(),
      },
      { ...judged.candidate, lockKeys: candidate.lockKeys },
    );
    if (outcome.action === "removed") {
      this.#tracker.forget(candidate);
      this.logger.info(log, `removed: ${candidate.detail}`);
      return finding("removed");
    }
    if (outcome.action === "changed") this.#tracker.forget(candidate);
    const level = outcome.action === "failed" ? "warn" : "info";
    this.logger[level](
      { ...log, reason: outcome.reason },
      `${outcome.action}, not removed: ${candidate.detail}`,
    );
    return finding(outcome.action, outcome.reason);
  }

  #failed(startedAt: Date, err: unknown): PassReport {
    this.#tracker.clear();
    const error = err instanceof Error ? err.message : String(err);
    if (this.#cancel.signal.aborted) {
      this.logger.info("reconcile pass cancelled by stop");
      return { ...emptyReport("stopped", this.dryRun, error), startedAt };
    }
    this.logger.warn({ err: error }, "reconcile pass failed; every count starts again");
    return { ...emptyReport("failed", this.dryRun, error), startedAt };
  }

  #summarise(findings: readonly Finding[], unexplained: readonly string[]): void {
    const counts: Record<string, number> = {};
    for (const f of findings) counts[`${f.type}:${f.action}`] = (counts[`${f.type}:${f.action}`] ?? 0) + 1;
    this.logger.info(
      { dryRun: this.dryRun, findings: counts, unexplained: unexplained.length },
      "reconcile pass done",
    );
  }

  /**
   * Exports are judged only when every attachment could be listed; a failure skips that judgement
   * for this pass (never "no attachment"), and the orphan rules go on without it.
   */
  async #attachedHosts(): Promise<Pick<LiveObjects, "attachedHosts">> {
    try {
      const attachedHosts = await listAttachedHosts(
        await this.#kubeConfig(),
        this.options.driverName,
        this.#kubernetesTimeoutMs,
        this.#cancel.signal,
      );
      return { attachedHosts };
    } catch (err) {
      if (this.#cancel.signal.aborted) throw err;
      this.logger.warn(
        { err: String(err) },
        "could not list VolumeAttachments; exports not judged this pass",
      );
      return {};
    }
  }

  async #kubeConfig(): Promise<KubeConfig> {
    this.#config ??= await resolveKubeConfig(this.options.kube);
    return this.#config;
  }

  #reader(): KubernetesReader {
    if (this.#kubernetes === undefined) {
      this.#kubernetes = createKubernetesReader(this.options.kube, {
        driverName: this.options.driverName,
        requestTimeoutMs: this.#kubernetesTimeoutMs,
      });
    }
    return this.#kubernetes;
  }

  /** RouterOS calls: each command is bounded by the connection's command timeout; stop() cancels. */
  #call(): CallOptions {
    return { signal: this.#cancel.signal };
  }
}

/**
 * A cluster that lists none of this driver's PersistentVolumes (or VolumeSnapshotContents) makes
 * every object look orphaned — far more often a wrong --driver-name or a wrong cluster than a real
 * state. Nothing is removed then; a person cleans up after checking.
 */
function refusalFor(candidate: Candidate, live: LiveObjects, driverName: string): string | undefined {
  if (candidate.type === "empty-snapshot-directory") return undefined;
  if (candidate.type === "orphaned-snapshot") {
    return live.driverSnapshots === 0
      ? `no VolumeSnapshotContent in the cluster names driver ${driverName}`
      : undefined;
  }
  return live.driverVolumes === 0
    ? `no PersistentVolume in the cluster names driver ${driverName}`
    : undefined;
}
