/**
 * The bytes of RouterOS replies held at once, over every exec channel. One reply is capped by
 * `maxOutputBytes`; this caps what all replies in flight hold together, so a very large or
 * hostile RDS answering several channels at once cannot push the controller past its memory
 * limit (each reply byte costs several more once decoded and parsed).
 */
export class ReplyBudget {
  #held = 0;
  #peak = 0;

  constructor(readonly capacity: number) {}

  /** Bytes held by replies not yet settled. */
  get held(): number {
    return this.#held;
  }

  /** The most bytes ever held at once (benchmarks and tests read it). */
  get peak(): number {
    return this.#peak;
  }

  /** Takes `bytes` if they fit; false (nothing taken) when they would pass the capacity. */
  tryTake(bytes: number): boolean {
    if (this.#held + bytes > this.capacity) return false;
    this.#held += bytes;
    if (this.#held > this.#peak) this.#peak = this.#held;
    return true;
  }

  give(bytes: number): void {
    this.#held = Math.max(0, this.#held - bytes);
  }
}
