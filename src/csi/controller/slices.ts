import {
  type CallOptions,
  ID_SPACE,
  type IdRange,
  idPosition,
  type PoolStorage,
  rangeWidthFor,
  type SnapshotRecord,
  type SnapshotSubvolume,
} from "../../storage/index.js";
import type { Outgoing, Snapshot } from "../types.js";
import type { Controller } from "./context.js";
import { snapshotMessage } from "./messages.js";
import { encodeListToken, type ListToken } from "./tokens.js";
import type { KeptSnapshot, WalkHandle } from "./walk-cache.js";

/**
 * ListSnapshots over one pool, a slice of the id space at a time (id-ranges.ts): snapshot ids are
 * uniformly spread hashes, so the snapshots in a range of positions are about the range's share
 * of the table, and RouterOS selects them with a `where name~` it evaluates in its item table.
 *
 * A walk costs about one round trip per `READ_AHEAD` snapshots, not one per page:
 * - a first page reads, in one line, the count of the walk (which sizes the slices, carried on in
 *   the token) and the slice after its token with the slice's images: about one page, and nothing
 *   more (a client that only asks for first pages pays only for those);
 * - the second page reads a slice of about `READ_AHEAD` snapshots with their images, in one line;
 * - a later page finds its snapshots, with their images, in what was read before (walk-cache.ts)
 *   and sends nothing; once fewer than twice `READ_AHEAD` (or four pages) are kept, the next
 *   slice of about `READ_AHEAD` is read, with its images, in the background while the pages
 *   before it are delivered, so the page that needs it usually finds it read;
 * - a page whose token finds nothing kept (a restart, another controller, past the TTL) reads a
 *   slice of about `READ_AHEAD` snapshots itself, in one line; one whose images were read too long
 *   ago names them in one line. A slice that held fewer than a page costs one more line (rare:
 *   slices are sized with a margin).
 *
 * Everything at once (max_entries 0) is read in slices of about `EVERYTHING_SLICE` snapshots, each
 * line naming the previous slice's images, so no reply and no parse holds the whole table.
 */

/** What a first page assumes the walk holds when no count is known yet (a restarted controller). */
const GUESSED_TOTAL = 4096;

/**
 * Snapshots per line when listing everything. Their images are named in the next line (about 110
 * bytes a name), which keeps lines near 25 KB; see `describeAll` in src/storage/snapshots.ts.
 */
const EVERYTHING_SLICE = 200;

/**
 * Snapshots a walk reads per line after its first page (at least two pages): the line stays short
 * (the images are found by a pattern over the slice, not by name) and the reply about 150 KB,
 * while a walk of 10 000 snapshots takes about 20 round trips instead of 100 (RouterOS throttles
 * a burst of requests).
 */
const READ_AHEAD = 500;

/** Background reads of a walk run within this (ms); one that takes longer is not kept. */
const READ_AHEAD_DEADLINE_MS = 10_000;

const END = ID_SPACE - 1;

/** One page of at most `max` snapshots after the token, and the token of the next page. */
export async function pageOfSlices(
  c: Controller,
  pool: PoolStorage,
  key: string,
  filter: { sourceVolumeId?: string },
  token: ListToken | undefined,
  max: number,
  call: CallOptions,
): Promise<{ records: SnapshotRecord[]; nextToken: string }> {
  const generation = c.walks.generation;
  const after = token?.afterId;
  const isAfter = (s: SnapshotSubvolume) => after === undefined || s.snapshotId > after;
  const start = after === undefined ? 0 : idPosition(after);
  const kept = after === undefined ? undefined : await c.walks.get(key, after, start, max);
  let total = token?.total;
  let items: KeptSnapshot[];
  let through: number;
  // The walk continued from what was kept, when the page needs no read of its own.
  let walk: WalkHandle | undefined;
  if (kept !== undefined) {
    items = [...kept.items];
    through = kept.through;
    walk = kept.handle;
  } else {
    // A first page counts the walk; its slices are sized by the last count this controller made.
    const counting = after === undefined;
    const known = (counting ? c.walks.total(key) : total) ?? GUESSED_TOTAL;
    const range = slice(start, rangeWidthFor(counting ? max : Math.max(max, READ_AHEAD), known));
    const read = await readDescribed(c, pool, filter, range, call, counting);
    if (read.total !== undefined) {
      total = read.total;
      c.walks.setTotal(key, total);
    }
    items = read.items.filter((l) => isAfter(l.located));
    through = range.to;
  }
  // Read on, slice by slice, until there is a page or the id space ends (usually not at all).
  for (let misses = 0; items.length < max && through < END; misses++) {
    const wanted = Math.max(max, READ_AHEAD) - items.length;
    const range = slice(through + 1, rangeWidthFor(wanted, total ?? GUESSED_TOTAL) * 2 ** misses);
    const read = await readDescribed(c, pool, filter, range, call);
    for (const l of read.items) if (isAfter(l.located)) items.push(l);
    through = range.to;
    walk = undefined;
  }
  const readOn = after !== undefined;
  return finishPage(c, pool, key, filter, { items, through, total, generation, readOn, walk }, max, call);
}

/** The snapshots of a slice with their images, in one line (with the walk's count on a first page). */
async function readDescribed(
  c: Controller,
  pool: PoolStorage,
  filter: { sourceVolumeId?: string },
  range: IdRange,
  call: CallOptions,
  count = false,
): Promise<{ items: KeptSnapshot[]; total?: number }> {
  const readAt = c.walks.now();
  const read = await pool.storage.snapshots.readSlice(filter, range, call, { count, described: true });
  const items = read.listed.map((l) => ({ ...l, readAt }));
  return read.total === undefined ? { items } : { items, total: read.total };
}

/**
 * The page: the first `max` of what was read. Snapshots whose images were not read recently are
 * described in one line; one whose image is gone by then was deleted since, and is left out. What
 * is left is kept for the next page, and on a later page, once fewer than twice `READ_AHEAD` (or
 * four pages) are left, the slice after it is read in the background.
 */
async function finishPage(
  c: Controller,
  pool: PoolStorage,
  key: string,
  filter: { sourceVolumeId?: string },
  read: {
    items: readonly KeptSnapshot[];
    through: number;
    total: number | undefined;
    generation: number;
    /** Whether the slice after what is kept may be read in the background (not after a first page). */
    readOn: boolean;
    /** What was kept for the walk, when the page was answered from it alone. */
    walk: WalkHandle | undefined;
  },
  max: number,
  call: CallOptions,
): Promise<{ records: SnapshotRecord[]; nextToken: string }> {
  const { items, through, total, generation, readOn } = read;
  const page = items.slice(0, max);
  const rest = items.slice(max);
  const last = page.at(-1)?.located;
  const more = rest.length > 0 || through < END;
  const nextToken = more && last !== undefined ? encodeListToken(pool.csiId(last.snapshotId), total) : "";
  const unread = page.filter((l) => l.record === undefined).map((l) => l.located);
  const described =
    unread.length === 0 ? [] : await pool.storage.snapshots.describeAll(unread, call, { dropMissing: true });
  if (nextToken === "") c.walks.delete(key);
  else if (last !== undefined) {
    const position = idPosition(last.snapshotId);
    const continued =
      read.walk !== undefined && c.walks.advance(read.walk, last.snapshotId, position) !== undefined;
    const walk = continued
      ? read.walk
      : c.walks.put(key, { items: rest, from: position, through }, generation);
    if (walk !== undefined && readOn) readAhead(c, pool, filter, walk, max, total);
  }
  const byId = new Map(described.map((r) => [r.snapshotId, r]));
  const records: SnapshotRecord[] = [];
  for (const l of page) {
    const record = l.record ?? byId.get(l.located.snapshotId);
    if (record !== undefined) records.push(record);
  }
  return { records, nextToken };
}

/**
 * Starts background reads of the slices after what the walk keeps and is reading, while fewer than
 * two reads' worth are kept: the next read starts soon after the last one arrived, and RouterOS
 * answers one while the driver takes in the other and pages are delivered.
 */
function readAhead(
  c: Controller,
  pool: PoolStorage,
  filter: { sourceVolumeId?: string },
  walk: WalkHandle,
  max: number,
  total: number | undefined,
): void {
  const wanted = Math.max(2 * max, READ_AHEAD);
  for (
    let next = c.walks.nextRead(walk);
    next !== undefined && next.kept < 2 * wanted && next.from <= END;
    next = c.walks.nextRead(walk)
  ) {
    const range = slice(next.from, rangeWidthFor(wanted, total ?? GUESSED_TOTAL));
    c.walks.readAhead(walk, range.to, async () => {
      const deadline = Date.now() + READ_AHEAD_DEADLINE_MS;
      return (await readDescribed(c, pool, filter, range, { deadline })).items;
    });
  }
}

/**
 * Every snapshot of the filter after `afterId`, as CSI messages in id order: a slice of about
 * `EVERYTHING_SLICE` snapshots per line, each line naming the images of the slice read before it.
 * Lines grow with the table (about one per `EVERYTHING_SLICE` snapshots), replies and memory do not.
 */
export async function everySnapshot(
  c: Controller,
  pool: PoolStorage,
  key: string,
  filter: { sourceVolumeId?: string },
  afterId: string | undefined,
  call: CallOptions,
): Promise<Outgoing<Snapshot>[]> {
  const { snapshots } = pool.storage;
  const isAfter = (s: SnapshotSubvolume) => afterId === undefined || s.snapshotId > afterId;
  const start = afterId === undefined ? 0 : idPosition(afterId);
  const first = slice(start, rangeWidthFor(EVERYTHING_SLICE, c.walks.total(key) ?? GUESSED_TOTAL));
  const read = await snapshots.readSlice(filter, first, call, { count: true });
  const total = read.total ?? GUESSED_TOTAL;
  if (afterId === undefined) c.walks.setTotal(key, total);
  const pending = read.listed.map((l) => l.located).filter(isAfter);
  let through = first.to;
  const out: Outgoing<Snapshot>[] = [];
  while (pending.length > 0 || through < END) {
    const take = pending.splice(0, EVERYTHING_SLICE);
    const wanted = EVERYTHING_SLICE - pending.length;
    const next = through < END && wanted > 0 ? slice(through + 1, rangeWidthFor(wanted, total)) : undefined;
    const described = await snapshots.describeThenList(take, filter, next, call, { dropMissing: true });
    for (const record of described.records) out.push(snapshotMessage(pool, record));
    for (const s of described.next) if (isAfter(s)) pending.push(s);
    if (next !== undefined) through = next.to;
  }
  return out;
}

/** `width` positions from `from`, cut at the end of the id space. */
function slice(from: number, width: number): IdRange {
  return { from, to: Math.min(END, from + Math.max(1, width) - 1) };
}
