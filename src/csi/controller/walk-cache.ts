import type { SnapshotSubvolume } from "../../storage/index.js";

/**
 * What a ListSnapshots walk has read of the id space beyond the page it returned: a page reads a
 * slice of the id space and, in the same exec line, the slice after it (slices.ts). Kept briefly,
 * so that the next page names only its own images, in one line that also reads the slice the page
 * after it needs. It is never the truth:
 * - a first page (no starting_token) always reads RouterOS;
 * - an entry lives `ttlMs` (10 s): a snapshot made by another controller or by hand in a slice read
 *   before appears in walks that read that slice after it (a walk is a view of a moment, as CSI
 *   allows), at the latest 10 s later;
 * - a snapshot deleted since (by anyone) is dropped from the page, because its image is read by
 *   name for the page and is no longer there;
 * - any snapshot this controller creates or deletes clears every entry.
 * Tokens stay stateless: a token that finds no entry (after a restart, on another controller,
 * after the TTL) reads its slice from RouterOS, with the slice's images, in one line too.
 */
export interface KeptSlice {
  /** Every snapshot of the walk in positions `from`..`through` (id-ranges.ts), sorted by id. */
  readonly items: readonly SnapshotSubvolume[];
  readonly from: number;
  readonly through: number;
}

export class WalkCache {
  readonly #entries = new Map<string, KeptSlice & { at: number }>();
  readonly #totals = new Map<string, number>();

  constructor(
    readonly ttlMs = 10_000,
    private readonly clock: () => number = Date.now,
    private readonly maxEntries = 16,
  ) {}

  /** The slice kept for this walk when it covers `position`. */
  get(key: string, position: number): KeptSlice | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (this.clock() - entry.at > this.ttlMs) {
      this.#entries.delete(key);
      return undefined;
    }
    return position >= entry.from && position <= entry.through ? entry : undefined;
  }

  put(key: string, slice: KeptSlice): void {
    this.#entries.delete(key);
    this.#entries.set(key, { ...slice, at: this.clock() });
    // Oldest first out: a Map iterates in insertion order.
    for (const oldest of this.#entries.keys()) {
      if (this.#entries.size <= this.maxEntries) break;
      this.#entries.delete(oldest);
    }
  }

  /**
   * How many snapshots the last first page (or listing of everything) of this walk counted: only a
   * hint that sizes the slices a first page reads in the same line as its count (a wrong hint costs
   * a round trip, or a larger reply, never a result).
   */
  total(key: string): number | undefined {
    return this.#totals.get(key);
  }

  setTotal(key: string, total: number): void {
    this.#totals.delete(key);
    this.#totals.set(key, total);
    for (const oldest of this.#totals.keys()) {
      if (this.#totals.size <= this.maxEntries) break;
      this.#totals.delete(oldest);
    }
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }

  clear(): void {
    this.#entries.clear();
  }
}
