import {
  type CallOptions,
  ID_SPACE,
  type IdRange,
  idPosition,
  type ListedSnapshot,
  type PoolStorage,
  rangeWidthFor,
  type SnapshotRecord,
  type SnapshotSubvolume,
} from "../../storage/index.js";
import type { Outgoing, Snapshot } from "../types.js";
import type { Controller } from "./context.js";
import { snapshotMessage } from "./messages.js";
import { encodeListToken, type ListToken } from "./tokens.js";

/**
 * ListSnapshots over one pool, a slice of the id space at a time (id-ranges.ts): snapshot ids are
 * uniformly spread hashes, so the snapshots in a range of positions are about the range's share
 * of the table, and RouterOS selects them with a `where name~` it evaluates in its item table.
 *
 * A page of a walk costs 1 round trip: a first page (and a page whose token finds nothing kept)
 * reads, in one line, the slice after its token with the slice's images, the slice after that
 * (for the next page), and on a first page the count of the walk that sizes the slices (carried
 * on in the token). A later page finds its snapshots in what the previous page read (walk-cache.ts)
 * and sends one line naming their images, with the slice the page after it needs. A slice that
 * held fewer than a page costs one more line (rare: slices are sized with a margin).
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
  const { snapshots } = pool.storage;
  const after = token?.afterId;
  const isAfter = (s: SnapshotSubvolume) => after === undefined || s.snapshotId > after;
  const start = after === undefined ? 0 : idPosition(after);
  const kept = after === undefined ? undefined : c.walks.get(key, start);
  let total = token?.total;
  let items: ListedSnapshot[];
  let through: number;
  if (kept !== undefined) {
    items = kept.items.filter(isAfter).map((located) => ({ located }));
    through = kept.through;
  } else {
    // A first page counts the walk; its slices are sized by the last count this controller made.
    const counting = after === undefined;
    const known = (counting ? c.walks.total(key) : total) ?? GUESSED_TOTAL;
    const range = slice(start, rangeWidthFor(max, known));
    const ahead = range.to < END ? slice(range.to + 1, aheadWidth(max, known)) : undefined;
    const read = await snapshots.readSlice(filter, range, call, { count: counting, described: true, ahead });
    if (read.total !== undefined) {
      total = read.total;
      c.walks.setTotal(key, total);
    }
    items = read.listed.filter((l) => isAfter(l.located));
    for (const located of read.ahead) items.push({ located });
    through = (ahead ?? range).to;
  }
  // Read on, slice by slice, until there is a page or the id space ends (usually not at all).
  for (let misses = 0; items.length < max && through < END; misses++) {
    const width = rangeWidthFor(max - items.length, total ?? GUESSED_TOTAL) * 2 ** misses;
    const range = slice(through + 1, width);
    const read = await snapshots.readSlice(filter, range, call, { described: true });
    for (const l of read.listed) if (isAfter(l.located)) items.push(l);
    through = range.to;
  }
  return finishPage(c, pool, key, filter, { items, through, total }, max, call);
}

/**
 * The page: the first `max` of what was read. Snapshots read without their images are described
 * in one line, which also reads the slice the next page will need, unless what is left already
 * holds a page. A snapshot read in an earlier line (or call) whose image is gone by then was
 * deleted since, and is left out.
 */
async function finishPage(
  c: Controller,
  pool: PoolStorage,
  key: string,
  filter: { sourceVolumeId?: string },
  read: { items: readonly ListedSnapshot[]; through: number; total: number | undefined },
  max: number,
  call: CallOptions,
): Promise<{ records: SnapshotRecord[]; nextToken: string }> {
  const { snapshots } = pool.storage;
  const { items, through, total } = read;
  const page = items.slice(0, max);
  const rest = items.slice(max).map((l) => l.located);
  const last = page.at(-1)?.located;
  const more = rest.length > 0 || through < END;
  const nextToken = more && last !== undefined ? encodeListToken(pool.csiId(last.snapshotId), total) : "";
  const unread = page.filter((l) => l.record === undefined).map((l) => l.located);
  let next: IdRange | undefined;
  if (nextToken === "") c.walks.delete(key);
  else if (unread.length > 0 && rest.length < max && through < END) {
    next = slice(through + 1, rangeWidthFor(max - rest.length, total ?? GUESSED_TOTAL));
  }
  const described =
    unread.length === 0
      ? { records: [], next: [] }
      : await snapshots.describeThenList(unread, filter, next, call, { dropMissing: true });
  if (nextToken !== "" && last !== undefined) {
    c.walks.put(key, {
      items: [...rest, ...described.next],
      from: idPosition(last.snapshotId),
      through: next?.to ?? through,
    });
  }
  const byId = new Map(described.records.map((r) => [r.snapshotId, r]));
  const records: SnapshotRecord[] = [];
  for (const l of page) {
    const record = l.record ?? byId.get(l.located.snapshotId);
    if (record !== undefined) records.push(record);
  }
  return { records, nextToken };
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

/** The width of the slice read ahead with a page: what the page's own slice is expected to leave over is subtracted. */
function aheadWidth(max: number, total: number): number {
  const expected = (rangeWidthFor(max, total) * total) / ID_SPACE;
  return rangeWidthFor(Math.max(1, Math.ceil(max - Math.max(0, expected - max))), total);
}

/** `width` positions from `from`, cut at the end of the id space. */
function slice(from: number, width: number): IdRange {
  return { from, to: Math.min(END, from + Math.max(1, width) - 1) };
}
