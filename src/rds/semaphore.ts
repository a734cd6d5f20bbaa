import { RdsError } from "./errors.js";

/**
 * A counting semaphore whose waiters give up at a deadline or on abort. It bounds the exec
 * channels open at once; waiting for a permit happens before anything is sent, so giving up here
 * is always safe to retry.
 */
export class Semaphore {
  #available: number;
  readonly #waiters: Array<{ grant: () => void; fail: (err: RdsError) => void }> = [];

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

  acquire(deadline: number, signal?: AbortSignal): Promise<void> {
    if (this.tryAcquire()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const waiter = {
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
      const onAbort = () =>
        leave(
          new RdsError("transient", "cancelled while waiting for a free SSH channel", { retryable: false }),
        );
      const timer = setTimeout(
        () =>
          leave(
            new RdsError(
              "transient",
              `no SSH channel became free within the deadline (${this.capacity} in use)`,
              {
                timedOut: true,
              },
            ),
          ),
        Math.max(0, deadline - Date.now()),
      );
      const cleanup = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiters.push(waiter);
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
}
