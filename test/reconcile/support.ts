/**
 * What the reconciler tests share: one emulator reached over real SSH, one fake Kubernetes API
 * server over real HTTP, and a fresh root per test so tests never see each other's objects as
 * their own (they do see them as foreign, which is a test in itself).
 */
import { readdir, stat } from "node:fs/promises";
import path from "node:path";
import { type Logger, pino } from "pino";
import { Registry } from "prom-client";
import { expect } from "vitest";
import { KeyedLocks } from "../../src/csi/locks.js";
import { ControllerMetrics } from "../../src/observability/metrics.js";
import { RdsClient, RdsConnection } from "../../src/rds/index.js";
import {
  type PassReport,
  type Reconciler,
  type ReconcilerOptions,
  startReconciler,
} from "../../src/reconcile/index.js";
import type { KubernetesNames } from "../../src/storage/index.js";
import {
  createStorage,
  type Storage,
  type StorageRds,
  snapshotIdFor,
  volumeIdFor,
} from "../../src/storage/index.js";
import type { SimFixture } from "../helpers/sim.js";
import { type FakeKube, persistentVolume, snapshotContent } from "./fake-kube.js";

export const DRIVER = "rds.csi.mikrotik.com";
export const NQN_PREFIX = "nqn.2000-02.com.mikrotik:rds-csi";
export const HOUR = 3_600_000;
const MiB = 1024n * 1024n;

export interface Env {
  sim: SimFixture;
  kube: FakeKube;
  connection: RdsConnection;
  client: RdsClient;
}

export function connect(sim: SimFixture): { connection: RdsConnection; client: RdsClient } {
  const connection = new RdsConnection({
    host: sim.host,
    port: sim.port,
    username: sim.user,
    privateKey: { path: sim.privateKeyPath },
    hostKey: { fingerprint: sim.hostKeyFingerprint },
    reconnectBackoff: { initialMs: 20, maxMs: 200 },
    keepaliveIntervalMs: 0,
  });
  const client = new RdsClient(connection, { retryBackoff: { initialMs: 20, maxMs: 200 } });
  return { connection, client };
}

/** A clock the test moves: ages are judged by it, RouterOS times stay real. */
export class TestClock {
  offsetMs = 0;
  readonly now = (): number => Date.now() + this.offsetMs;
  advance(ms: number): void {
    this.offsetMs += ms;
  }
}

/** Log lines as objects, to check that every action is logged. */
export function captureLogger(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino(
    { level: "debug" },
    { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) },
  );
  return { logger, lines };
}

/** One test's corner of the RDS and the cluster. */
export class Scene {
  readonly storage: Storage;
  readonly locks = new KeyedLocks();
  readonly clock = new TestClock();
  readonly metrics = new ControllerMetrics(new Registry());
  readonly log = captureLogger();
  readonly #reconcilers: Reconciler[] = [];

  constructor(
    readonly env: Env,
    readonly root: string,
  ) {
    this.storage = this.storageOver(env.client, pino({ level: "silent" }));
  }

  /** This scene's root on the RDS, reached through `rds`. */
  storageOver(rds: StorageRds, logger: Logger): Storage {
    return createStorage(rds, {
      pool: this.env.sim.pool,
      fsLabel: this.env.sim.fsLabel,
      root: this.root,
      nvmePort: 4420,
      nqnPrefix: NQN_PREFIX,
      logger,
    });
  }

  volumeId(name: string): string {
    return volumeIdFor(`${this.root}-${name}`);
  }

  snapshotId(name: string): string {
    return snapshotIdFor(`${this.root}-${name}`);
  }

  async volume(name: string, names?: KubernetesNames): Promise<string> {
    const volumeId = this.volumeId(name);
    await this.storage.volumes.create({ volumeId, sizeBytes: 8n * MiB, seed: { kind: "empty" }, names }, {});
    return volumeId;
  }

  async snapshot(name: string, sourceVolumeId: string): Promise<string> {
    const snapshotId = this.snapshotId(name);
    await this.storage.snapshots.create({ snapshotId, sourceVolumeId }, {});
    return snapshotId;
  }

  /** A PersistentVolume of this driver for the volume. */
  pv(volumeId: string, driver = DRIVER): void {
    this.env.kube.persistentVolumes.push(persistentVolume(`pv-${volumeId}`, driver, volumeId));
  }

  /** A VolumeSnapshotContent of this driver for a snapshot taken of `sourceVolumeId`. */
  vsc(snapshotId: string, sourceVolumeId: string): void {
    this.env.kube.snapshotContents.push(
      snapshotContent(`snapcontent-${snapshotId}`, DRIVER, {
        snapshotHandle: snapshotId,
        sourceVolumeHandle: sourceVolumeId,
      }),
    );
  }

  /** Runs a RouterOS line on the emulator directly (setup of states the driver would not make). */
  async exec(line: string): Promise<void> {
    const result = await this.env.sim.control.exec(line);
    expect(result.error, line).toBeNull();
  }

  /** Paths as RouterOS spells them. */
  volumeDir(volumeId: string): string {
    return `${this.env.sim.pool}/${this.root}/vols/${volumeId}`;
  }

  /** A reconciler of this scene's root; `rds` replaces the client it reaches the RDS through. */
  reconciler(options: Partial<ReconcilerOptions> & { rds?: StorageRds } = {}): Reconciler {
    const { rds = this.env.client, ...rest } = options;
    const reconciler = startReconciler({
      storage: this.storageOver(rds, this.log.logger),
      kube: () => this.env.kube.kubeConfig(),
      driverName: DRIVER,
      // Passes are run by the tests; the timer would fire only after the test is over.
      intervalMs: HOUR,
      gracePeriodMs: 60_000,
      passes: 2,
      locks: this.locks,
      logger: this.log.logger,
      metrics: { findings: (type, action) => this.metrics.reconcilerFindings.inc({ type, action }) },
      clock: this.clock.now,
      ...rest,
    });
    this.#reconcilers.push(reconciler);
    return reconciler;
  }

  async stop(): Promise<void> {
    await Promise.all(this.#reconcilers.map((r) => r.stop()));
  }

  /** Everything under the root but the delete marks: `/disk` items (RouterOS), subvolumes (RouterOS), files (the pool itself). */
  async state(): Promise<{ disks: string[]; subvolumes: string[]; files: string[] }> {
    const { client, sim } = this.env;
    const disks = (await client.listDisks({ slotPrefix: "pvc-" }))
      .filter((d) => d.filePath?.includes(`/${this.root}/`))
      .map((d) => `${d.slot} ${d.filePath}`);
    // Without the layout's top folders, which the driver makes as subvolumes (src/storage/directories.ts).
    const folders = new Set(["vols", "snaps", "deleted"].map((f) => `${this.root}/${f}`));
    const subvolumes = (await client.listSubvolumes({ fullnamePrefix: `${this.root}/`, fs: sim.fsLabel }))
      .filter((s) => !folders.has(s.fullname))
      .map((s) => `${s.fullname}${s.readOnly ? " ro" : ""}`);
    // Without the delete marks (`deleted/`): bookkeeping the controller's sweep drops, checked in
    // test/controller/late-deletes.test.ts.
    const files = (await walk(path.join(sim.poolMountPath, this.root), "")).filter(
      (f) => !f.startsWith("deleted/"),
    );
    return { disks: disks.sort(), subvolumes: subvolumes.sort(), files: files.sort() };
  }
}

async function walk(dir: string, relative: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const name of names) {
    const rel = relative === "" ? name : `${relative}/${name}`;
    const info = await stat(path.join(dir, name));
    if (info.isDirectory()) out.push(`${rel}/`, ...(await walk(path.join(dir, name), rel)));
    else out.push(rel);
  }
  return out;
}

/** The findings of a pass as `type action id`, sorted, for whole-list comparisons. */
export function summary(report: PassReport): string[] {
  expect(report.outcome, report.error).toBe("completed");
  return report.findings.map((f) => `${f.type} ${f.action} ${f.id}`).sort();
}

/** The client with a hook after each call, to change the RDS between a listing and a removal. */
export function withHook(
  client: RdsClient,
  after: (method: string, args: unknown[]) => Promise<void>,
): StorageRds {
  return new Proxy(client, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== "function") return value;
      return async (...args: unknown[]) => {
        const result = await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        await after(String(property), args);
        return result;
      };
    },
  });
}
