/**
 * How much time a change needs left before the caller's deadline to be worth sending. A change
 * sent with too little time ends as `outcome-unknown` when its reply is late — it may still run
 * on the RDS, and the caller must re-read state — while a change not sent is a plain retryable
 * failure. So the connection sends a change only with at least `required()` ms left.
 *
 * Reads need less (`requiredForRead`). The need follows the round trips actually seen: a few times their recent average (an
 * exponentially weighted one, so one slow reply raises it at once by a quarter and it decays as
 * fast ones come back), at least `minMs`, at most `maxMs` (the command timeout: a command with a
 * full command timeout ahead is always sent).
 */

/** How many recent round trips' worth of time a change must have left. */
const ROUND_TRIPS_OF_ROOM = 4;
/** The same for a read: one cut short is only retried, so it needs less room, and no floor. */
const READ_ROUND_TRIPS_OF_ROOM = 2;
/** Weight of the newest round trip in the running average. */
const WEIGHT = 0.25;

export class SendWindow {
  #averageMs: number | null = null;

  constructor(
    readonly minMs: number,
    readonly maxMs: number,
  ) {}

  /** Records the duration of one round trip that completed (from sending to the whole reply). */
  observe(ms: number): void {
    this.#averageMs = this.#averageMs === null ? ms : this.#averageMs + WEIGHT * (ms - this.#averageMs);
  }

  /** The recent average round trip in ms, null before the first. */
  get averageMs(): number | null {
    return this.#averageMs;
  }

  /** The least time (ms) a change must have before its deadline to be sent. */
  required(): number {
    const byLatency = ROUND_TRIPS_OF_ROOM * (this.#averageMs ?? 0);
    return Math.min(this.maxMs, Math.max(this.minMs, Math.ceil(byLatency)));
  }

  /**
   * The least time (ms) a read must have to be worth sending: a read whose reply cannot come in
   * time only adds load and ends as "may or may not have run", which says nothing useful.
   */
  requiredForRead(): number {
    return Math.min(this.maxMs, Math.ceil(READ_ROUND_TRIPS_OF_ROOM * (this.#averageMs ?? 0)));
  }
}
