import type {
  CallOptions,
  InventoryScope,
  SnapshotLocation,
  Storage,
  VolumeObjects,
} from "../storage/index.js";
import { hostsToKeep } from "./attachments.js";
import { type Candidate, candidateKey, classify } from "./classify.js";
import type { LiveObjects } from "./kubernetes.js";

/**
 * Removing one candidate: only while holding the same per-object locks the CSI operations take,
 * and only after re-reading the object and finding it exactly as it was judged. The removal itself
 * goes through the storage layer, so a volume is taken apart in the same order and with the same
 * idempotent steps as DeleteVolume.
 */

/** The controller's per-object operation locks (`KeyedLocks`). */
export interface OperationLocks {
  isBusy(key: string): boolean;
  withLock<T>(keys: string | readonly string[], fn: () => Promise<T>): Promise<T>;
}

export interface RemovalContext {
  storage: Storage;
  locks: OperationLocks;
  /** What the cluster listed in this pass. */
  live: LiveObjects;
  call: () => CallOptions;
}

export type RemovalOutcome =
  | { action: "removed" }
  | { action: "busy"; reason: string }
  | { action: "changed"; reason: string }
  | { action: "failed"; reason: string };

export async function removeCandidate(ctx: RemovalContext, candidate: Candidate): Promise<RemovalOutcome> {
  const held = candidate.lockKeys.find((key) => ctx.locks.isBusy(key));
  // Checked and taken in the same tick, so no CSI call can slip in between.
  if (held !== undefined) return { action: "busy", reason: `a CSI operation on ${held} is running` };
  try {
    return await ctx.locks.withLock(candidate.lockKeys, async () => {
      const fresh = await reread(ctx, candidate);
      if (fresh === undefined) return { action: "changed", reason: "no longer found as it was" };
      if (fresh.candidate.fingerprint !== candidate.fingerprint) {
        return { action: "changed", reason: `now ${fresh.candidate.fingerprint}` };
      }
      await remove(ctx, fresh.candidate, fresh.volume);
      // Report what RouterOS did, not what was asked: some refusals (a directory kept) are not errors.
      if ((await reread(ctx, candidate)) !== undefined) {
        return { action: "failed", reason: "still there after removal: RouterOS kept it" };
      }
      return { action: "removed" };
    });
  } catch (err) {
    return { action: "failed", reason: err instanceof Error ? err.message : String(err) };
  }
}

async function reread(
  ctx: RemovalContext,
  candidate: Candidate,
): Promise<{ candidate: Candidate; volume: VolumeObjects | undefined } | undefined> {
  const inventory = await ctx.storage.readInventory(scopeOf(candidate), ctx.call());
  const key = candidateKey(candidate);
  const found = classify(ctx.storage.layout, inventory, ctx.live).candidates.find(
    (c) => candidateKey(c) === key,
  );
  return found === undefined ? undefined : { candidate: found, volume: inventory.volumes.get(found.id) };
}

function scopeOf(candidate: Candidate): InventoryScope {
  switch (candidate.type) {
    case "orphaned-snapshot":
      return { kind: "snapshot", location: snapshotLocation(candidate) };
    case "empty-snapshot-directory":
      return { kind: "snapshot-directory", volumeId: candidate.id };
    default:
      return { kind: "volume", volumeId: candidate.id };
  }
}

async function remove(ctx: RemovalContext, candidate: Candidate, volume: VolumeObjects | undefined) {
  const { storage } = ctx;
  const call = ctx.call();
  switch (candidate.type) {
    case "orphaned-volume":
    case "subvolume-without-disk":
      await storage.volumes.delete(candidate.id, call);
      return;
    case "disk-without-subvolume":
      await storage.volumes.delete(candidate.id, call);
      await removePlainLeftovers(storage, volume, call);
      return;
    case "file-without-disk":
      await removePlainLeftovers(storage, volume, call);
      return;
    case "orphaned-snapshot":
      await storage.snapshots.delete(snapshotLocation(candidate), call);
      return;
    case "empty-snapshot-directory":
      // Checks again that the volume and every snapshot of it are gone before removing.
      await storage.directories.pruneVolumeSnapshots(candidate.id, call);
      return;
    case "stale-export": {
      // Revokes only the hosts no VolumeAttachment names; the rest stay allowed.
      const record = await storage.volumes.find(candidate.id, call);
      if (record === undefined || volume === undefined || ctx.live.attachedHosts === undefined) return;
      await storage.volumes.setAllowedHosts(record, hostsToKeep(volume, ctx.live.attachedHosts), call);
      return;
    }
  }
}

function snapshotLocation(candidate: Candidate): SnapshotLocation {
  if (candidate.sourceVolumeId === undefined)
    throw new Error(`snapshot ${candidate.id} has no source volume`);
  return { snapshotId: candidate.id, sourceVolumeId: candidate.sourceVolumeId };
}

/**
 * The image and directory of a volume that never had (or no longer has) a subvolume: what
 * `/disk remove` leaves on RouterOS, which keeps a disk's file. Classification made sure nothing
 * else is in the directory, so removing it removes nothing of anyone else's.
 */
async function removePlainLeftovers(
  storage: Storage,
  volume: VolumeObjects | undefined,
  call: CallOptions,
): Promise<void> {
  if (volume === undefined || volume.subvolume !== null) return;
  await storage.volumes.removeLeftoverFiles(
    volume.volumeId,
    { image: volume.image !== null, directory: volume.directory !== null },
    call,
  );
}
