import type { CallOptions, PoolStorage, SnapshotRecord } from "../../storage/index.js";
import { aborted, invalidArgument } from "../errors.js";
import type { RequestContext } from "../pipeline.js";
import type { ListSnapshotsRequest, ListSnapshotsResponse, Outgoing } from "../types.js";
import { type Controller, callOf } from "./context.js";
import { snapshotMessage } from "./messages.js";
import { everySnapshot, pageOfSlices } from "./slices.js";
import { decodeListToken, type ListToken, pageOf } from "./tokens.js";

/**
 * ListSnapshots: every snapshot of this driver, one volume's, or one by id, in id order. Paging
 * tokens carry the last id returned (tokens.ts), so they need no server memory and survive
 * restarts. A page costs its page, not the table, and 1 round trip: it reads only the slices of
 * the id space it needs (slices.ts; what a walk read ahead is kept briefly, walk-cache.ts), and
 * everything at once (max_entries 0) is read in bounded slices too. A filter naming nothing of
 * ours is an empty answer, not an error. With several pools (--rds-pools) a page reads every
 * pool's listing and pages over the merged ids (`acrossPools`): the id-space slices cover one
 * pool's hashes, not ids that start with a pool's name.
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
  // Walked by RouterOS ids: a pool's own ids share its prefix, so their order is the same.
  const after = token === undefined ? undefined : c.pools.resolveSnapshot(token.afterId);
  const afterId = after?.kind === "ours" && after.pool === pool ? after.id : undefined;
  if (after !== undefined && afterId === undefined) return empty;
  const resumed = token === undefined ? undefined : { ...token, afterId: afterId as string };
  if (req.max_entries === 0) {
    // Everything in one answer, read in bounded slices.
    const snapshots = await everySnapshot(c, pool, walkKey(req), filter, resumed?.afterId, call);
    return { entries: snapshots.map((snapshot) => ({ snapshot })), next_token: "" };
  }
  const page = await pageOfSlices(c, pool, walkKey(req), filter, resumed, req.max_entries, call);
  return answer(pool, page.records, page.nextToken);
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
