import type { ListedSnapshot } from "../../storage/index.js";

/**
 * What a ListSnapshots walk has read of the id space beyond the page it returned, kept briefly so
 * that the pages after it cost no round trip of their own: a read takes a slice of several pages,
 * with the images of its snapshots, in one line (slices.ts), and while a page is delivered the
 * next such slice is read in the background (`readAhead`). It is never the truth:
 * - a first page (no starting_token) always reads RouterOS;
 * - an entry lives `ttlMs` (10 s): a snapshot made by another controller or by hand in a slice read
 *   before appears in walks that read that slice after it (a walk is a view of a moment, as CSI
 *   allows), at the latest 10 s later;
 * - what a read learnt of a snapshot's image (its size) is used for `describedTtlMs` (2 s): a
 *   snapshot deleted since by another controller or by hand is listed for at most that long; past
 *   it, a page reads its images again by name and leaves out those no longer there;
 * - any snapshot this controller creates or deletes clears every entry, and a read begun before
 *   that is not kept (`generation`).
 * Tokens stay stateless: a token that finds no entry (after a restart, on another controller,
 * after the TTL) reads its slice from RouterOS, with the slice's images, in one line too.
 */
export interface KeptSnapshot extends ListedSnapshot {
  /** When the read that found it began (the cache's clock). */
  readonly readAt: number;
}

export interface KeptSlice {
  /** Every snapshot of the walk in positions `from`..`through` (id-ranges.ts), sorted by id. */
  readonly items: readonly KeptSnapshot[];
  readonly from: number;
  readonly through: number;
}

/** What a read-ahead found: every snapshot in the positions after the entry, up to `through`. */
export interface ReadAhead {
  readonly items: readonly KeptSnapshot[];
  readonly through: number;
}

interface Entry {
  items: readonly KeptSnapshot[];
  readonly from: number;
  through: number;
  readonly at: number;
  reading?: Promise<void>;
}

export class WalkCache {
  readonly #entries = new Map<string, Entry>();
  readonly #totals = new Map<string, number>();
  #generation = 0;

  constructor(
    readonly ttlMs = 10_000,
    private readonly clock: () => number = Date.now,
    private readonly maxEntries = 16,
    readonly describedTtlMs = 2_000,
  ) {}

  now(): number {
    return this.clock();
  }

  /** Changes at every `clear`: what a read begun under an older generation found is not kept. */
  get generation(): number {
    return this.#generation;
  }

  /**
   * The slice kept for this walk when it covers `position`, once a read-ahead under way has
   * finished; records past `describedTtlMs` are left out (the page reads those images again).
   */
  async get(key: string, position: number): Promise<KeptSlice | undefined> {
    const entry = this.#live(key);
    if (entry?.reading !== undefined) await entry.reading;
    if (entry === undefined || this.#live(key) !== entry) return undefined;
    if (position < entry.from || position > entry.through) return undefined;
    const now = this.clock();
    const items = entry.items.map((item) =>
      item.record !== undefined && now - item.readAt > this.describedTtlMs
        ? { located: item.located, readAt: item.readAt }
        : item,
    );
    return { items, from: entry.from, through: entry.through };
  }

  /** Keeps a walk's slice, unless a `clear` came after `generation` was read; says whether it did. */
  put(key: string, slice: KeptSlice, generation: number): boolean {
    if (generation !== this.#generation) return false;
    this.#entries.delete(key);
    this.#entries.set(key, {
      items: slice.items,
      from: slice.from,
      through: slice.through,
      at: this.clock(),
    });
    // Oldest first out: a Map iterates in insertion order.
    for (const oldest of this.#entries.keys()) {
      if (this.#entries.size <= this.maxEntries) break;
      this.#entries.delete(oldest);
    }
    return true;
  }

  /**
   * Reads on after the walk's kept slice in the background (one read at a time per walk) and adds
   * what it finds to the slice, if the slice is still the walk's then and nothing was cleared. A
   * read that fails is not kept: the page that would have used it reads for itself.
   */
  readAhead(key: string, read: () => Promise<ReadAhead>): void {
    const entry = this.#entries.get(key);
    if (entry === undefined || entry.reading !== undefined) return;
    const generation = this.#generation;
    const reading = read().then(
      (found) => {
        if (this.#entries.get(key) !== entry || generation !== this.#generation) return;
        entry.items = [...entry.items, ...found.items];
        entry.through = found.through;
      },
      () => undefined,
    );
    entry.reading = reading.finally(() => {
      entry.reading = undefined;
    });
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
    this.#generation++;
  }

  #live(key: string): Entry | undefined {
    const entry = this.#entries.get(key);
    if (entry !== undefined && this.clock() - entry.at > this.ttlMs) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry;
  }
}
