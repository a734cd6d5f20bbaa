import { type CallOptions, isSnapshotId, isVolumeId, type SnapshotSubvolume } from "../../storage/index.js";
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
 * answer, not an error.
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
  const { snapshots, cached } = await matching(c, req, after, call);
  const page = pageOf(snapshots, (s) => s.snapshotId, after, req.max_entries);
  if (page.nextToken !== "" && !cached) c.walks.put(walkKey(req), snapshots);
  // Only the returned page's images are read for their sizes; from a kept listing, a snapshot
  // whose image is gone was deleted since, and is left out.
  const records = await c.storage.snapshots.describeAll(page.items, call, { dropMissing: cached });
  return {
    entries: records.map((s) => ({ snapshot: snapshotMessage(s) })),
    next_token: page.nextToken,
  };
}

/** The walk a request continues: all snapshots, or one volume's. */
function walkKey(req: ListSnapshotsRequest): string {
  return req.source_volume_id === "" ? "all" : `volume:${req.source_volume_id}`;
}

async function matching(
  c: Controller,
  req: ListSnapshotsRequest,
  after: string | undefined,
  call: CallOptions,
): Promise<{ snapshots: readonly SnapshotSubvolume[]; cached: boolean }> {
  const { snapshot_id: snapshotId, source_volume_id: sourceVolumeId } = req;
  const none = { snapshots: [], cached: false };
  if (snapshotId !== "" && !isSnapshotId(snapshotId)) return none;
  if (sourceVolumeId !== "" && !isVolumeId(sourceVolumeId)) return none;
  if (snapshotId !== "") {
    const found = await c.storage.snapshots.locate(snapshotId, call);
    return found !== undefined && (sourceVolumeId === "" || found.sourceVolumeId === sourceVolumeId)
      ? { snapshots: [found], cached: false }
      : none;
  }
  const kept = after === undefined ? undefined : c.walks.get(walkKey(req));
  if (kept !== undefined) return { snapshots: kept, cached: true };
  const read = await c.storage.snapshots.list(sourceVolumeId === "" ? {} : { sourceVolumeId }, call);
  return { snapshots: read, cached: false };
}
