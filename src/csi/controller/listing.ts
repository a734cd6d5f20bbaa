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
import { aborted, invalidArgument } from "../errors.js";
import type { RequestContext } from "../pipeline.js";
import type { ListSnapshotsRequest, ListSnapshotsResponse, Outgoing } from "../types.js";
import { type Controller, callOf } from "./context.js";
import { snapshotMessage } from "./messages.js";
import { decodeListToken, encodeListToken, type ListToken, pageOf } from "./tokens.js";

/** Without a count or a hint, a first page reads this much of the id space. */
const FIRST_GUESS = ID_SPACE / 16;

/**
 * ListSnapshots: every snapshot of this driver, one volume's, or one by id, in id order. Paging
 * tokens carry the last id returned (tokens.ts), so they need no server memory and survive
 * restarts. A page costs its page, not the table: snapshot ids are uniformly spread hashes, so a
 * page reads only the slice of the id space after its token that should hold a page's worth
 * (id-ranges.ts; sized by how many snapshots the walk counted, which the token carries), and reads
 * on when the slice held fewer. The line that sizes a page's images also reads the next page's slice,
 * kept for a few seconds (walk-cache.ts), so a later page of a walk costs 1 round trip. A filter
 * naming nothing of ours is an empty answer, not an error. With several pools (--rds-pools) a page
 * reads every pool's listing and pages over the merged ids (`acrossPools`): the id-space slices
 * cover one pool's hashes, not ids that start with a pool's name.
 */
export async function listSnapshots(
  c: Controller,
  req: ListSnapshotsRequest,
  ctx: RequestContext,
): Promise<Outgoing<ListSnapshotsResponse>> {
  if (req.max_entries < 0) throw invalidArgument(`max_entries ${req.max_entries} must not be negative`);
  const token = req.starting_token === "" ? undefined : decodeListToken(req.starting_token);
  if (req.starting_token !== "" && token === undefined) {
    throw aborted(
      `starting_token ${JSON.stringify(req.starting_token)} was not issued by this driver; list again without it`,
    );
  }
  const call = callOf(ctx);
  const { snapshot_id: snapshotId, source_volume_id: sourceVolumeId } = req;
  const empty = { entries: [], next_token: "" };
  const snapshot = snapshotId === "" ? undefined : c.pools.resolveSnapshot(snapshotId);
  const volume = sourceVolumeId === "" ? undefined : c.pools.resolveVolume(sourceVolumeId);
  // An id that is none of ours, or of a pool this controller does not serve, lists nothing.
  if (snapshot !== undefined && snapshot.kind !== "ours") return empty;
  if (volume !== undefined && volume.kind !== "ours") return empty;
  const filter = volume === undefined ? {} : { sourceVolumeId: volume.id };
  if (snapshot !== undefined) {
    const { pool } = snapshot;
    if (volume !== undefined && volume.pool !== pool) return empty;
    const found = await pool.storage.snapshots.locate(snapshot.id, call);
    const matches = found !== undefined && (volume === undefined || found.sourceVolumeId === volume.id);
    if (!matches) return empty;
    const page = pageOf([found], (s) => pool.csiId(s.snapshotId), token?.afterId, req.max_entries);
    return answer(pool, await pool.storage.snapshots.describeAll(page.items, call), page.nextToken);
  }
  if (volume === undefined && c.pools.all().length > 1) return acrossPools(c, token, req.max_entries, call);
  // One pool holds every snapshot asked for: the default one, or the source volume's.
  const pool = volume === undefined ? c.pools.default : volume.pool;
  if (req.max_entries === 0) {
    // Everything in one answer: the whole table is what was asked for.
    const all = await pool.storage.snapshots.list(filter, call);
    if (token === undefined) c.walks.setTotal(walkKey(req), all.length);
    const page = pageOf(all, (s) => pool.csiId(s.snapshotId), token?.afterId, 0);
    return answer(pool, await pool.storage.snapshots.describeAll(page.items, call), "");
  }
  return pageOfWalk(c, pool, walkKey(req), filter, token, req.max_entries, call);
}

function answer(
  pool: PoolStorage,
  records: readonly SnapshotRecord[],
  nextToken: string,
): Outgoing<ListSnapshotsResponse> {
  return { entries: records.map((s) => ({ snapshot: snapshotMessage(pool, s) })), next_token: nextToken };
}

/**
 * Every pool's snapshots, merged in the order of the ids handed out: one listing per pool, side by
 * side, and the page's image sizes per pool (1 round trip each, side by side).
 */
async function acrossPools(
  c: Controller,
  token: ListToken | undefined,
  max: number,
  call: CallOptions,
): Promise<Outgoing<ListSnapshotsResponse>> {
  const lists = await Promise.all(
    c.pools.all().map(async (pool) => ({ pool, snapshots: await pool.storage.snapshots.list({}, call) })),
  );
  const merged = lists
    .flatMap(({ pool, snapshots }) =>
      snapshots.map((s) => ({ pool, located: s, id: pool.csiId(s.snapshotId) })),
    )
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const page = pageOf(merged, (s) => s.id, token?.afterId, max);
  const described = await Promise.all(
    lists.map(async ({ pool }) => {
      const mine = page.items.filter((l) => l.pool === pool).map((l) => l.located);
      const records = await pool.storage.snapshots.describeAll(mine, call);
      return new Map(records.map((r) => [pool.csiId(r.snapshotId), snapshotMessage(pool, r)]));
    }),
  );
  const entries = page.items.flatMap((l) => {
    const snapshot = described.map((d) => d.get(l.id)).find((m) => m !== undefined);
    return snapshot === undefined ? [] : [{ snapshot }];
  });
  return { entries, next_token: page.nextToken };
}

/** The walk a request continues: all snapshots, or one volume's. */
function walkKey(req: ListSnapshotsRequest): string {
  return req.source_volume_id === "" ? "all" : `volume:${req.source_volume_id}`;
}

/** One page of at most `max` snapshots after the token, reading only the slices of the id space it needs. */
async function pageOfWalk(
  c: Controller,
  pool: PoolStorage,
  key: string,
  filter: { sourceVolumeId?: string },
  token: ListToken | undefined,
  max: number,
  call: CallOptions,
): Promise<Outgoing<ListSnapshotsResponse>> {
  // Walked by RouterOS ids: a pool's own ids share its prefix, so their order is the same.
  const after = token === undefined ? undefined : c.pools.resolveSnapshot(token.afterId);
  const afterId = after?.kind === "ours" && after.pool === pool ? after.id : undefined;
  if (after !== undefined && afterId === undefined) return { entries: [], next_token: "" };
  return walkPool(
    c,
    pool,
    key,
    filter,
    token === undefined ? undefined : { ...token, afterId: afterId as string },
    max,
    call,
  );
}

async function walkPool(
  c: Controller,
  pool: PoolStorage,
  key: string,
  filter: { sourceVolumeId?: string },
  token: ListToken | undefined,
  max: number,
  call: CallOptions,
): Promise<Outgoing<ListSnapshotsResponse>> {
  const { snapshots } = pool.storage;
  const after = token?.afterId;
  const start = after === undefined ? 0 : idPosition(after);
  const kept = after === undefined ? undefined : c.walks.get(key, start);
  let total = token?.total;
  let candidates: SnapshotSubvolume[] = [];
  let through = start - 1;
  let fromKept = false;
  if (kept !== undefined) {
    candidates = kept.items.filter((s) => after === undefined || s.snapshotId > after);
    through = kept.through;
    fromKept = true;
  } else if (after === undefined) {
    // A first page counts the walk in the same line as its first slice, sized by the last count.
    const hint = c.walks.total(key);
    const range = slice(0, hint === undefined ? FIRST_GUESS : rangeWidthFor(max, hint));
    const read = await snapshots.listRange(filter, range, call, { count: true });
    total = read.total;
    if (total !== undefined) c.walks.setTotal(key, total);
    candidates = read.snapshots;
    through = range.to;
  }
  // Read on, slice by slice, until there is a page or the id space ends (usually not at all).
  let misses = 0;
  while (candidates.length < max && through < ID_SPACE - 1) {
    const wanted = max - candidates.length;
    const width = total === undefined ? FIRST_GUESS : rangeWidthFor(wanted, total) * 2 ** misses;
    const range = slice(through + 1, width);
    const read = await snapshots.listRange(filter, range, call);
    for (const s of read.snapshots) if (after === undefined || s.snapshotId > after) candidates.push(s);
    through = range.to;
    misses += 1;
  }
  const page = candidates.slice(0, max);
  const rest = candidates.slice(max);
  const last = page.at(-1);
  const more = rest.length > 0 || through < ID_SPACE - 1;
  const nextToken = more && last !== undefined ? encodeListToken(pool.csiId(last.snapshotId), total) : "";
  if (nextToken === "" || last === undefined) {
    c.walks.delete(key);
    const records = await snapshots.describeAll(page, call, { dropMissing: fromKept });
    return answer(pool, records, "");
  }
  // The next page's slice travels with this page's image sizes, unless what is read already holds it.
  const from = idPosition(last.snapshotId);
  if (rest.length >= max || through >= ID_SPACE - 1) {
    c.walks.put(key, { items: rest, from, through });
    return answer(pool, await snapshots.describeAll(page, call, { dropMissing: fromKept }), nextToken);
  }
  const next = slice(
    through + 1,
    total === undefined ? FIRST_GUESS : rangeWidthFor(max - rest.length, total),
  );
  const described = await snapshots.describeThenList(page, filter, next, call, { dropMissing: fromKept });
  c.walks.put(key, { items: [...rest, ...described.next], from, through: next.to });
  return answer(pool, described.records, nextToken);
}

/** `width` positions from `from`, cut at the end of the id space. */
function slice(from: number, width: number): IdRange {
  return { from, to: Math.min(ID_SPACE - 1, from + Math.max(1, width) - 1) };
}
