import { aborted } from "./errors.js";

/**
 * Per-object operation guard. CSI sidecars retry aggressively; a second call for an object whose
 * operation is still running must answer ABORTED at once instead of queueing behind it.
 */
export class KeyedLocks {
  private readonly busy = new Set<string>();

  isBusy(key: string): boolean {
    return this.busy.has(key);
  }

  get size(): number {
    return this.busy.size;
  }

  /** Runs `fn` holding every key; throws ABORTED without waiting if any key is held. */
  async withLock<T>(keys: string | readonly string[], fn: () => Promise<T>): Promise<T> {
    const wanted = [...new Set(typeof keys === "string" ? [keys] : keys)];
    const held = wanted.find((k) => this.busy.has(k));
    if (held !== undefined) {
      throw aborted(`an operation on ${held} is already in progress; retry later`);
    }
    for (const k of wanted) this.busy.add(k);
    try {
      return await fn();
    } finally {
      for (const k of wanted) this.busy.delete(k);
    }
  }
}
