import {
  type CallOptions,
  ID_SPACE,
  type IdRange,
  idPosition,
  isSnapshotId,
  isVolumeId,
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
 * naming nothing of ours is an empty answer, not an error.
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
  if (snapshotId !== "" && !isSnapshotId(snapshotId)) return empty;
  if (sourceVolumeId !== "" && !isVolumeId(sourceVolumeId)) return empty;
  const filter = sourceVolumeId === "" ? {} : { sourceVolumeId };
  if (snapshotId !== "") {
    const found = await c.storage.snapshots.locate(snapshotId, call);
    const matches = found !== undefined && (sourceVolumeId === "" || found.sourceVolumeId === sourceVolumeId);
    if (!matches) return empty;
    const page = pageOf([found], (s) => s.snapshotId, token?.afterId, req.max_entries);
    return answer(await c.storage.snapshots.describeAll(page.items, call), page.nextToken);
  }
  if (req.max_entries === 0) {
    // Everything in one answer: the whole table is what was asked for.
    const all = await c.storage.snapshots.list(filter, call);
    if (token === undefined) c.walks.setTotal(walkKey(req), all.length);
    const page = pageOf(all, (s) => s.snapshotId, token?.afterId, 0);
    return answer(await c.storage.snapshots.describeAll(page.items, call), "");
  }
  return pageOfWalk(c, walkKey(req), filter, token, req.max_entries, call);
}

function answer(records: readonly SnapshotRecord[], nextToken: string): Outgoing<ListSnapshotsResponse> {
  return { entries: records.map((s) => ({ snapshot: snapshotMessage(s) })), next_token: nextToken };
}

/** The walk a request continues: all snapshots, or one volume's. */
function walkKey(req: ListSnapshotsRequest): string {
  return req.source_volume_id === "" ? "all" : `volume:${req.source_volume_id}`;
}

/** One page of at most `max` snapshots after the token, reading only the slices of the id space it needs. */
async function pageOfWalk(
  c: Controller,
  key: string,
  filter: { sourceVolumeId?: string },
  token: ListToken | undefined,
  max: number,
  call: CallOptions,
): Promise<Outgoing<ListSnapshotsResponse>> {
  const { snapshots } = c.storage;
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
  const nextToken = more && last !== undefined ? encodeListToken(last.snapshotId, total) : "";
  if (nextToken === "" || last === undefined) {
    c.walks.delete(key);
    const records = await snapshots.describeAll(page, call, { dropMissing: fromKept });
    return answer(records, "");
  }
  // The next page's slice travels with this page's image sizes, unless what is read already holds it.
  const from = idPosition(last.snapshotId);
  if (rest.length >= max || through >= ID_SPACE - 1) {
    c.walks.put(key, { items: rest, from, through });
    return answer(await snapshots.describeAll(page, call, { dropMissing: fromKept }), nextToken);
  }
  const next = slice(
    through + 1,
    total === undefined ? FIRST_GUESS : rangeWidthFor(max - rest.length, total),
  );
  const described = await snapshots.describeThenList(page, filter, next, call, { dropMissing: fromKept });
  c.walks.put(key, { items: [...rest, ...described.next], from, through: next.to });
  return answer(described.records, nextToken);
}

/** `width` positions from `from`, cut at the end of the id space. */
function slice(from: number, width: number): IdRange {
  return { from, to: Math.min(ID_SPACE - 1, from + Math.max(1, width) - 1) };
}
