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
 * restarts. A filter naming nothing of ours is an empty answer, not an error.
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
  const snapshots = await matching(c, req, call);
  const page = pageOf(snapshots, (s) => s.snapshotId, after, req.max_entries);
  // Only the returned page's images are read for their sizes.
  const records = await c.storage.snapshots.describeAll(page.items, call);
  return {
    entries: records.map((s) => ({ snapshot: snapshotMessage(s) })),
    next_token: page.nextToken,
  };
}

async function matching(
  c: Controller,
  req: ListSnapshotsRequest,
  call: CallOptions,
): Promise<SnapshotSubvolume[]> {
  const { snapshot_id: snapshotId, source_volume_id: sourceVolumeId } = req;
  if (snapshotId !== "" && !isSnapshotId(snapshotId)) return [];
  if (sourceVolumeId !== "" && !isVolumeId(sourceVolumeId)) return [];
  if (snapshotId !== "") {
    const found = await c.storage.snapshots.locate(snapshotId, call);
    return found !== undefined && (sourceVolumeId === "" || found.sourceVolumeId === sourceVolumeId)
      ? [found]
      : [];
  }
  return c.storage.snapshots.list(sourceVolumeId === "" ? {} : { sourceVolumeId }, call);
}
