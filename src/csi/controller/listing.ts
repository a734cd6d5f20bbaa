import type { CallOptions, PoolStorage, SnapshotRecord, SnapshotSubvolume } from "../../storage/index.js";
import { aborted, invalidArgument } from "../errors.js";
import type { RequestContext } from "../pipeline.js";
import type { ListSnapshotsRequest, ListSnapshotsResponse, Outgoing } from "../types.js";
import { type Controller, callOf } from "./context.js";
import { snapshotMessage } from "./messages.js";
import { decodeListToken, pageOf } from "./tokens.js";

/**
 * ListSnapshots: every snapshot of this driver, one volume's, or one by id, in id order. Paging
 * tokens carry the last id returned (tokens.ts), so they need no server memory and survive
 * restarts. The pages after the first of a walk use the listing the first page read, for a few
 * seconds (walk-cache.ts), so a page costs its page. A filter naming nothing of ours is an empty
 * answer, not an error. With several pools, a walk covers every pool (one listing each, side by
 * side), ordered by the ids handed out.
 */
export async function listSnapshots(
  c: Controller,
  req: ListSnapshotsRequest,
  ctx: RequestContext,
): Promise<Outgoing<ListSnapshotsResponse>> {
  if (req.max_entries < 0) throw invalidArgument(`max_entries ${req.max_entries} must not be negative`);
  const after = req.starting_token === "" ? undefined : decodeListToken(req.starting_token);
  if (req.starting_token !== "" && after === undefined) {
    throw aborted(
      `starting_token ${JSON.stringify(req.starting_token)} was not issued by this driver; list again without it`,
    );
  }
  const call = callOf(ctx);
  const { lists, cached } = await matching(c, req, after, call);
  const page = pageOf(merged(lists), (s) => s.id, after, req.max_entries);
  if (page.nextToken !== "" && !cached) {
    for (const { pool, snapshots } of lists) c.walks.put(walkKey(req, pool), snapshots);
  }
  // Only the returned page's images are read for their sizes; from a kept listing, a snapshot
  // whose image is gone was deleted since, and is left out.
  const records = await describePage(page.items, call, cached);
  return {
    entries: records.map(({ pool, record }) => ({ snapshot: snapshotMessage(pool, record) })),
    next_token: page.nextToken,
  };
}

/** One pool's snapshots as listed, sorted by RouterOS id. */
interface PoolListing {
  pool: PoolStorage;
  snapshots: readonly SnapshotSubvolume[];
}

/** A listed snapshot with its pool and the id handed out for it. */
interface Listed {
  pool: PoolStorage;
  located: SnapshotSubvolume;
  id: string;
}

/** Every pool's listing in the order of the ids handed out (a single pool's is already in it). */
function merged(lists: readonly PoolListing[]): Listed[] {
  const all = lists.flatMap(({ pool, snapshots }) =>
    snapshots.map((located) => ({ pool, located, id: pool.csiId(located.snapshotId) })),
  );
  return lists.length > 1 ? all.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)) : all;
}

/** The page's records, in page order: each pool's images read side by side (1 round trip each). */
async function describePage(
  page: readonly Listed[],
  call: CallOptions,
  dropMissing: boolean,
): Promise<{ pool: PoolStorage; record: SnapshotRecord }[]> {
  const pools = [...new Set(page.map((l) => l.pool))];
  const described = await Promise.all(
    pools.map(async (pool) => {
      const located = page.filter((l) => l.pool === pool).map((l) => l.located);
      const records = await pool.storage.snapshots.describeAll(located, call, { dropMissing });
      return new Map(records.map((r) => [pool.csiId(r.snapshotId), { pool, record: r }]));
    }),
  );
  return page.flatMap((l) => {
    const found = described[pools.indexOf(l.pool)]?.get(l.id);
    return found === undefined ? [] : [found];
  });
}

/** The walk a request continues in one pool: all snapshots, or one volume's. */
function walkKey(req: ListSnapshotsRequest, pool: PoolStorage): string {
  const walk = req.source_volume_id === "" ? "all" : `volume:${req.source_volume_id}`;
  return pool.isDefault ? walk : `${walk}@${pool.name}`;
}

async function matching(
  c: Controller,
  req: ListSnapshotsRequest,
  after: string | undefined,
  call: CallOptions,
): Promise<{ lists: PoolListing[]; cached: boolean }> {
  const { snapshot_id: snapshotId, source_volume_id: sourceVolumeId } = req;
  const none = { lists: [], cached: false };
  const snapshot = snapshotId === "" ? undefined : c.pools.resolveSnapshot(snapshotId);
  const volume = sourceVolumeId === "" ? undefined : c.pools.resolveVolume(sourceVolumeId);
  // A pool this controller does not serve holds nothing it could list.
  if (snapshot !== undefined && snapshot.kind !== "ours") return none;
  if (volume !== undefined && volume.kind !== "ours") return none;
  if (snapshot !== undefined) {
    if (volume !== undefined && volume.pool !== snapshot.pool) return none;
    const found = await snapshot.pool.storage.snapshots.locate(snapshot.id, call);
    return found !== undefined && (volume === undefined || found.sourceVolumeId === volume.id)
      ? { lists: [{ pool: snapshot.pool, snapshots: [found] }], cached: false }
      : none;
  }
  const pools = volume === undefined ? c.pools.all() : [volume.pool];
  const kept = pools.map((pool) => (after === undefined ? undefined : c.walks.get(walkKey(req, pool))));
  if (kept.every((k) => k !== undefined)) {
    return { lists: pools.map((pool, i) => ({ pool, snapshots: kept[i] ?? [] })), cached: true };
  }
  const filter = volume === undefined ? {} : { sourceVolumeId: volume.id };
  const lists = await Promise.all(
    pools.map(async (pool) => ({ pool, snapshots: await pool.storage.snapshots.list(filter, call) })),
  );
  return { lists, cached: false };
}
