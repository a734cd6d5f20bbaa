import type { SnapshotSubvolume } from "../../storage/index.js";

/**
 * The snapshot listing a ListSnapshots walk read at its first page, kept briefly so the pages after
 * it cost their page (the sizes of their own images: 1 round trip) instead of the whole table
 * again. It is never the truth:
 * - a first page (no starting_token) always reads RouterOS and replaces the entry;
 * - an entry lives `ttlMs` (10 s), so a snapshot made by another controller or by hand appears in
 *   walks started after that at the latest (a walk is a view of one moment, as CSI allows);
 * - a snapshot deleted since (by anyone) is dropped from the page, because its image is read by
 *   name for the page and is no longer there;
 * - any snapshot this controller creates or deletes clears every entry.
 * Tokens stay stateless: a token that finds no entry (after a restart, on another controller,
 * after the TTL) reads RouterOS, and pages after the token's id as before.
 */
export class WalkCache {
  readonly #entries = new Map<string, { items: readonly SnapshotSubvolume[]; at: number }>();

  constructor(
    readonly ttlMs = 10_000,
    private readonly clock: () => number = Date.now,
    private readonly maxEntries = 16,
  ) {}

  get(key: string): readonly SnapshotSubvolume[] | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (this.clock() - entry.at > this.ttlMs) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.items;
  }

  put(key: string, items: readonly SnapshotSubvolume[]): void {
    this.#entries.delete(key);
    this.#entries.set(key, { items, at: this.clock() });
    // Oldest first out: a Map iterates in insertion order.
    for (const oldest of this.#entries.keys()) {
      if (this.#entries.size <= this.maxEntries) break;
      this.#entries.delete(oldest);
    }
  }

  clear(): void {
    this.#entries.clear();
  }
}
