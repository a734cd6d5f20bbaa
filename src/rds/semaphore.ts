import { RdsError } from "./errors.js";

export interface AcquireOptions {
  /**
   * Where the waiter queues: lower first, equal ones in arrival order. The connection passes the
   * caller's deadline, so every command of an earlier call goes before the commands of calls that
   * came later (earliest deadline first); without it waiters are served in arrival order.
   */
  order?: number;
  /** The error of a waiter whose deadline passed (default: a `transient` timeout). */
  timeoutError?: () => RdsError;
}

interface Waiter {
  readonly order: number;
  readonly seq: number;
  grant(): void;
  fail(err: RdsError): void;
}

/**
 * A counting semaphore whose waiters give up at a deadline or on abort. It bounds the exec
 * channels open at once; waiting for a permit happens before anything is sent, so giving up here
 * is always safe to retry.
 *
 * Fairness: permits go to waiters by `order`, then by arrival, and `tryAcquire` never overtakes a
 * waiter. With the caller's deadline as `order`, a waiter is overtaken only by commands whose
 * deadline comes before its own: with one per-call timeout for every call (the sidecars') that is
 * the calls' arrival order, and a call's later commands never queue behind calls that came after
 * it. Every waiter is served or gives up by its own deadline.
 */
export class Semaphore {
  #available: number;
  #seq = 0;
  readonly #waiters: Waiter[] = [];

  constructor(readonly capacity: number) {
    this.#available = capacity;
  }

  get inUse(): number {
    return this.capacity - this.#available;
  }

  get waiting(): number {
    return this.#waiters.length;
  }

  tryAcquire(): boolean {
    if (this.#available === 0 || this.#waiters.length > 0) return false;
    this.#available--;
    return true;
  }

  acquire(deadline: number, signal?: AbortSignal, options: AcquireOptions = {}): Promise<void> {
    if (signal?.aborted) return Promise.reject(cancelled());
    if (this.tryAcquire()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        order: options.order ?? deadline,
        seq: this.#seq++,
        grant: () => {
          cleanup();
          resolve();
        },
        fail: (err: RdsError) => {
          cleanup();
          reject(err);
        },
      };
      const leave = (err: RdsError) => {
        const i = this.#waiters.indexOf(waiter);
        if (i >= 0) this.#waiters.splice(i, 1);
        waiter.fail(err);
      };
      const onAbort = () => leave(cancelled());
      const timer = setTimeout(
        () =>
          leave(
            options.timeoutError?.() ??
              new RdsError(
                "transient",
                `no SSH channel became free within the deadline (${this.capacity} in use)`,
                { timedOut: true, notSent: true },
              ),
          ),
        Math.max(0, deadline - Date.now()),
      );
      const cleanup = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#insert(waiter);
    });
  }

  release(): void {
    const next = this.#waiters.shift();
    if (next) next.grant();
    else this.#available = Math.min(this.capacity, this.#available + 1);
  }

  /** Fails every waiter (used by close()). */
  failAll(err: RdsError): void {
    for (const waiter of this.#waiters.splice(0)) waiter.fail(err);
  }

  /** Keeps the queue sorted by (order, seq): binary search for the first waiter that goes after. */
  #insert(waiter: Waiter): void {
    let low = 0;
    let high = this.#waiters.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      const other = this.#waiters[mid] as Waiter;
      if (other.order < waiter.order || (other.order === waiter.order && other.seq < waiter.seq))
        low = mid + 1;
      else high = mid;
    }
    this.#waiters.splice(low, 0, waiter);
  }
}

function cancelled(): RdsError {
  return new RdsError("transient", "cancelled while waiting for a free SSH channel", {
    retryable: false,
    notSent: true,
  });
}
