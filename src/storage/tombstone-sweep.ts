import { performance } from "node:perf_hooks";
import type { Logger } from "pino";
import type { CallOptions } from "../rds/index.js";
import type { Storage } from "./storage.js";
import type { Reclaimed, Tombstone } from "./tombstones.js";

/**
 * The controller's sweep of delete marks (`tombstones.ts`): every pass lists the marks (1 round
 * trip, nothing more when there are none) and looks whether anything is there under the marked
 * names (1 round trip per 50 names). Marks of names that stayed empty are dropped once this
 * process has known them for longer than the window. For a name where something is there, under
 * the same per-id lock the CSI operations take, it reads the marks again, removes what a late
 * command re-created, and drops the marks whose window has passed. It needs no Kubernetes and keeps no
 * state that matters: after a restart the marks are still on the RDS, and the window starts again
 * from when this process first saw them, so it can only grow, never shrink, with restarts or clock
 * changes.
 */

/** The per-id operation locks of the controller (`KeyedLocks`). */
export interface SweepLocks {
  isBusy(key: string): boolean;
  withLock<T>(keys: string | readonly string[], fn: () => Promise<T>): Promise<T>;
}

export interface TombstoneSweepOptions {
  storage: Storage;
  locks: SweepLocks;
  /**
   * The CSI lock key of a RouterOS id in this storage's pool (the id handed out, `pools.ts`);
   * default the id itself, as in the default pool.
   */
  lockKeyOf?: (id: string) => string;
  /** How long after a mark is first seen a late command can still arrive; then the mark is dropped. */
  windowMs: number;
  logger: Logger;
  /** Budget of one id's check; default 60 s. */
  budgetMs?: number;
}

export interface SweepReport {
  /** Marks listed at the start of the pass. */
  marks: number;
  /** Objects a late command re-created, removed. */
  removed: string[];
  /** Marked objects left alone (not what a late command of ours makes). */
  kept: string[];
  /** Marks dropped because their window had passed. */
  dropped: number;
  /** Ids skipped because a CSI operation held them; the next pass looks again. */
  busy: string[];
}

/** How often to sweep for a window: a fifth of it, between 1 s and 1 min. */
export function sweepIntervalFor(windowMs: number): number {
  return Math.min(60_000, Math.max(1_000, Math.floor(windowMs / 5)));
}

export class TombstoneSweep {
  /** Mark name → when this process first listed it (monotonic). */
  readonly #firstSeen = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<unknown> | undefined;
  /** Cancels the RouterOS calls of a pass under way when the process stops. */
  readonly #cancel = new AbortController();

  constructor(private readonly options: TombstoneSweepOptions) {}

  /** One pass over every mark. */
  async pass(): Promise<SweepReport> {
    const { storage, locks, windowMs, logger } = this.options;
    const started = performance.now();
    const report: SweepReport = { marks: 0, removed: [], kept: [], dropped: 0, busy: [] };
    const marks = await storage.tombstones.list(this.#call());
    report.marks = marks.length;
    const listed = new Set(marks.map((m) => m.name));
    for (const name of this.#firstSeen.keys()) if (!listed.has(name)) this.#firstSeen.delete(name);
    for (const mark of marks) if (!this.#firstSeen.has(mark.name)) this.#firstSeen.set(mark.name, started);
    const expired = (m: Tombstone) => started - (this.#firstSeen.get(m.name) ?? started) >= windowMs;

    if (marks.length === 0) return report;
    // One look at every marked name first: most stay gone, and need no lock and no more reads.
    const present = await storage.tombstones.present([...new Set(marks.map((m) => m.id))], this.#call());
    // Nothing came back under these names, and nothing can any more: their marks go, all at once.
    // No lock needed: only marks listed above are dropped, and a create clears the same ones.
    const quiet = marks.filter((m) => !present.has(m.id) && expired(m));
    await storage.tombstones.clear(quiet, this.#call());
    report.dropped += quiet.length;

    const lockKeyOf = this.options.lockKeyOf ?? ((id: string) => id);
    for (const id of present) {
      if (this.#cancel.signal.aborted) break;
      // Checked and taken in the same tick, so no CSI call can slip in between.
      if (locks.isBusy(lockKeyOf(id))) {
        report.busy.push(id);
        continue;
      }
      try {
        await locks.withLock(lockKeyOf(id), async () => {
          const call = this.#call();
          // Read again under the lock: a create may have cleared them since the listing.
          const fresh = await storage.tombstones.of(id, call);
          if (fresh.length === 0) return;
          const done: Reclaimed = await storage.tombstones.removeLeftovers(id, fresh, call);
          report.removed.push(...done.removed);
          report.kept.push(...done.kept);
          if (done.removed.length > 0) {
            logger.warn(
              { id, removed: done.removed },
              "removed what a command run late re-created after its delete",
            );
          }
          if (done.kept.length > 0) {
            logger.warn(
              { id, kept: done.kept },
              "a deleted name holds something no late command of ours made; left alone",
            );
          }
          const old = fresh.filter(expired);
          await storage.tombstones.clear(old, call);
          report.dropped += old.length;
        });
      } catch (err) {
        logger.warn(
          { id, err: err instanceof Error ? err.message : String(err) },
          "delete mark not checked; next pass",
        );
      }
    }
    return report;
  }

  /** Runs a pass every `intervalMs` (never two at once) until `stop`. */
  start(intervalMs: number): void {
    const tick = () => {
      if (this.#running !== undefined) return;
      this.#running = this.pass()
        .catch((err: unknown) =>
          this.options.logger.warn(
            { err: err instanceof Error ? err.message : String(err) },
            "delete-mark sweep failed",
          ),
        )
        .finally(() => {
          this.#running = undefined;
        });
    };
    this.#timer = setInterval(tick, intervalMs);
    this.#timer.unref();
  }

  /** Stops the timer, cancels a pass under way and waits for it to end. */
  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#cancel.abort(new Error("the controller is stopping"));
    await this.#running;
  }

  #call(): CallOptions {
    return { deadline: Date.now() + (this.options.budgetMs ?? 60_000), signal: this.#cancel.signal };
  }
}
