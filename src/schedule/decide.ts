import { createHash } from "node:crypto";
import type { Schedule } from "./annotations.js";

/**
 * The two decisions of a schedule, pure: is a snapshot due now, and which scheduled snapshots go.
 *
 * The last run is remembered in the cluster, not in this process: it is the slot recorded on the
 * newest snapshot the schedule made (an annotation, falling back to its creation time). Only the
 * latest slot that has passed is ever taken, so a controller that was down over many slots takes
 * one snapshot when it is back, not one per missed slot. Retention always keeps the newest
 * scheduled snapshot, so that memory is never pruned away.
 */

/** A snapshot the schedule made, as read back from its VolumeSnapshot. */
export interface ScheduledSnapshot {
  name: string;
  /** The slot it was taken for (epoch ms). */
  slot: number;
  /** A Pending PVC names it as its data source: a restore is being provisioned from it. */
  restoring: boolean;
  /** Already being deleted (deletionTimestamp set). */
  deleting: boolean;
  /**
   * Still being taken: not ready and no error yet. csi-snapshotter holds the deletion of a snapshot
   * whose CreateSnapshot has not ended, so it is pruned once it has.
   */
  taking?: boolean;
}

/**
 * The slot to take a snapshot for now, or undefined: the latest slot at or before `now`, if it is
 * after both the newest slot already taken and the moment the PVC was created (a new PVC waits for
 * its first slot rather than taking one for a slot it did not exist at).
 */
export function dueSlot(
  schedule: Pick<Schedule, "latestSlot">,
  taken: readonly Pick<ScheduledSnapshot, "slot">[],
  pvcCreated: number,
  now: number,
): number | undefined {
  const slot = schedule.latestSlot(now);
  if (slot === undefined || slot < pvcCreated) return undefined;
  const last = lastSlot(taken);
  return last !== undefined && slot <= last ? undefined : slot;
}

export function lastSlot(taken: readonly Pick<ScheduledSnapshot, "slot">[]): number | undefined {
  let last: number | undefined;
  for (const s of taken) if (last === undefined || s.slot > last) last = s.slot;
  return last;
}

export interface PruneVerdict {
  remove: string[];
  /** Past retention but the data source of a restore being provisioned: removed on a later pass. */
  held: string[];
}

/**
 * Which scheduled snapshots retention removes: all but the newest `keepCount`, and those whose
 * slot is older than `keepForMs`, except the newest one; never one a restore is being made from,
 * and none already being deleted or still being taken (listed in neither; a later pass prunes it).
 */
export function snapshotsToPrune(
  retention: Pick<Schedule, "keepCount" | "keepForMs">,
  snapshots: readonly ScheduledSnapshot[],
  now: number,
): PruneVerdict {
  const live = snapshots
    .filter((s) => !s.deleting)
    .sort((a, b) => b.slot - a.slot || (a.name < b.name ? -1 : 1));
  const verdict: PruneVerdict = { remove: [], held: [] };
  live.forEach((s, index) => {
    if (index === 0) return;
    const overCount = retention.keepCount !== undefined && index >= retention.keepCount;
    const tooOld = retention.keepForMs !== undefined && now - s.slot > retention.keepForMs;
    if (!overCount && !tooOld) return;
    if (s.taking) return;
    (s.restoring ? verdict.held : verdict.remove).push(s.name);
  });
  return verdict;
}

const MAX_NAME = 253;
const STAMP_LENGTH = 15; // -YYYYMMDDhhmmss

/**
 * The VolumeSnapshot name for a slot: `<pvc>-<UTC yyyymmddhhmmss>`. Deterministic, so two passes
 * (or two controllers in a leader change) that decide the same slot create one object, the second
 * getting AlreadyExists. A PVC name too long to fit is shortened and given a hash of the whole.
 */
export function snapshotNameFor(pvcName: string, slot: number): string {
  const stamp = new Date(slot).toISOString().replace(/[-:T]/g, "").slice(0, 14);
  const room = MAX_NAME - STAMP_LENGTH;
  if (pvcName.length <= room) return `${pvcName}-${stamp}`;
  const hash = createHash("sha256").update(pvcName).digest("hex").slice(0, 8);
  return `${pvcName.slice(0, room - 9).replace(/[-.]+$/, "")}-${hash}-${stamp}`;
}
