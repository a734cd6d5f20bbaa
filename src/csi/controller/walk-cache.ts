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
  /** The walk's snapshots after the token, in positions up to `through` (id-ranges.ts), sorted by id. */
  readonly items: readonly KeptSnapshot[];
  readonly through: number;
  /** Where the walk continues from, for `advance` and `readAhead`. */
  readonly handle: WalkHandle;
}

/** The walk a page continued; opaque outside this module. */
export interface WalkHandle {
  readonly key: string;
}

interface Entry extends WalkHandle {
  /** Every snapshot of the walk after the last one returned, up to `through`, sorted by id. */
  items: readonly KeptSnapshot[];
  /** Position of the last snapshot returned. */
  from: number;
  through: number;
  at: number;
  /** Reads under way, oldest first; each settles once what it found is added (or not). */
  reads: Promise<void>[];
  /** The end of the last read asked for (`through` when none is under way). */
  readThrough: number;
  /** A read failed: the reads after it are not added (they would leave a gap). */
  broken: boolean;
}

/** Reads of one walk under way at once: the next starts while RouterOS answers the one before. */
const READS_IN_FLIGHT = 2;

/** The index of the first item after `afterId` (items are sorted; usually 0 or close to it). */
const firstAfter = (items: readonly KeptSnapshot[], afterId: string) => {
  let i = 0;
  while (i < items.length && (items[i] as KeptSnapshot).located.snapshotId <= afterId) i++;
  return i;
};

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
   * What is kept for this walk after `afterId` (at `position`), waiting for reads under way while
   * fewer than `wanted` are kept; records past `describedTtlMs` are left out (the page reads those
   * images again). Undefined when nothing kept covers the position.
   */
  async get(key: string, afterId: string, position: number, wanted: number): Promise<KeptSlice | undefined> {
    const entry = this.#live(key);
    if (entry === undefined || position < entry.from || position > entry.readThrough) return undefined;
    while (entry.reads.length > 0 && entry.items.length - firstAfter(entry.items, afterId) < wanted) {
      await entry.reads[0];
      if (this.#entries.get(key) !== entry) return undefined;
    }
    if (position > entry.through) return undefined;
    const now = this.clock();
    const items = entry.items
      .slice(firstAfter(entry.items, afterId))
      .map((item) =>
        item.record !== undefined && now - item.readAt > this.describedTtlMs
          ? { located: item.located, readAt: item.readAt }
          : item,
      );
    return { items, through: entry.through, handle: entry };
  }

  /**
   * Keeps a walk's slice read by a page itself (replacing what was kept, and dropping what reads
   * under way for it find), unless a `clear` came after `generation` was read.
   */
  put(
    key: string,
    slice: { items: readonly KeptSnapshot[]; from: number; through: number },
    generation: number,
  ): WalkHandle | undefined {
    if (generation !== this.#generation) return undefined;
    const entry: Entry = {
      key,
      items: slice.items,
      from: slice.from,
      through: slice.through,
      at: this.clock(),
      reads: [],
      readThrough: slice.through,
      broken: false,
    };
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    // Oldest first out: a Map iterates in insertion order.
    for (const oldest of this.#entries.keys()) {
      if (this.#entries.size <= this.maxEntries) break;
      this.#entries.delete(oldest);
    }
    return entry;
  }

  /**
   * A page answered from what was kept returned up to `lastId` (at `position`): what follows stays
   * kept, with the reads under way for it. Says how many are kept after it, or undefined when the
   * walk's entry is gone (cleared, or replaced by another page's read).
   */
  advance(handle: WalkHandle, lastId: string, position: number): number | undefined {
    const entry = handle as Entry;
    if (this.#entries.get(entry.key) !== entry) return undefined;
    entry.items = entry.items.slice(firstAfter(entry.items, lastId));
    entry.from = position;
    entry.at = this.clock();
    return entry.items.length;
  }

  /**
   * Where the next read of this walk starts (after what is kept and what is being read), or
   * undefined when no read may start now (the walk's entry is gone, a read failed, or
   * `READS_IN_FLIGHT` are under way).
   */
  nextRead(handle: WalkHandle): { from: number; kept: number } | undefined {
    const entry = handle as Entry;
    if (this.#entries.get(entry.key) !== entry || entry.broken) return undefined;
    if (entry.reads.length >= READS_IN_FLIGHT) return undefined;
    return { from: entry.readThrough + 1, kept: entry.items.length };
  }

  /**
   * Reads, in the background, the slice from `nextRead(handle).from` to `through`, and adds what it
   * finds to the walk once the reads before it are added, if the walk's entry is still the same
   * and nothing was cleared. A read that fails is not kept, nor are the reads after it: the page
   * that would have used them reads for itself.
   */
  readAhead(handle: WalkHandle, through: number, read: () => Promise<readonly KeptSnapshot[]>): void {
    const entry = handle as Entry;
    if (this.nextRead(handle) === undefined) return;
    const generation = this.#generation;
    entry.readThrough = through;
    const found = read();
    const before = entry.reads.at(-1);
    const done = (async () => {
      let items: readonly KeptSnapshot[] | undefined;
      try {
        items = await found;
      } catch {
        items = undefined;
      }
      if (before !== undefined) await before;
      entry.reads.shift();
      if (this.#entries.get(entry.key) !== entry || generation !== this.#generation || entry.broken) return;
      if (items === undefined) {
        entry.broken = true;
        return;
      }
      entry.items = [...entry.items, ...items];
      entry.through = through;
    })();
    entry.reads.push(done);
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
