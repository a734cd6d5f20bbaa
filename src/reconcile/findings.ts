/** What the reconciler can find on the RDS, and what it did about each finding. */

export const FINDING_TYPES = [
  /** `/disk` item and subvolume of a volume no PersistentVolume names. */
  "orphaned-volume",
  /** Snapshot subvolume no VolumeSnapshotContent names. */
  "orphaned-snapshot",
  /** `/disk` item whose volume subvolume is gone (its image may sit in a plain directory). */
  "disk-without-subvolume",
  /** Volume subvolume without a `/disk` item: an unfinished create or delete. */
  "subvolume-without-disk",
  /** A volume's image or directory left in a plain directory after `/disk remove`. */
  "file-without-disk",
  /** Per-volume snapshot directory whose volume and snapshots are all gone. */
  "empty-snapshot-directory",
  /** Volume exported to a host NQN no VolumeAttachment names (export fencing; removal revokes it). */
  "stale-export",
] as const;
export type FindingType = (typeof FINDING_TYPES)[number];

export const FINDING_ACTIONS = [
  /** Not yet old enough, or not yet seen on enough consecutive passes. */
  "pending",
  /** Dry-run: would have been removed. */
  "would-remove",
  "removed",
  /** Held back by a safety rule (e.g. the cluster lists none of this driver's objects). */
  "refused",
  /** A CSI operation holds the object's lock; tried again next pass. */
  "busy",
  /** The object changed between the listing and the removal; its count starts over. */
  "changed",
  "failed",
] as const;
export type FindingAction = (typeof FINDING_ACTIONS)[number];

export interface Finding {
  type: FindingType;
  /** The volume id, or the snapshot id for snapshots. */
  id: string;
  /** For snapshots: the volume they were taken of. */
  sourceVolumeId?: string;
  action: FindingAction;
  /** Age by RouterOS's creation time, else since first seen by this process. */
  ageMs: number;
  /** Consecutive passes it has been seen like this, this one included. */
  passes: number;
  /** What was seen, in words. */
  detail: string;
  /** Why it was refused, or how it failed. */
  reason?: string;
  /** The PV and claim a volume was made for, as its `/disk` comment recorded them. */
  madeFor?: string;
}

/** `not-leader`: another controller holds the reconciler's Lease, so this one did nothing. */
export type PassOutcome = "completed" | "failed" | "disabled" | "stopped" | "not-leader";

export interface PassReport {
  outcome: PassOutcome;
  dryRun: boolean;
  startedAt: Date;
  finishedAt: Date;
  /** Why the pass did nothing (outcome failed). */
  error?: string;
  findings: Finding[];
  /** Objects under the driver's root that match no rule and are therefore left alone, in words. */
  unexplained: string[];
}

/** Counts findings, e.g. into `rds_csi_reconciler_findings_total{type,action}`. */
export interface ReconcilerMetrics {
  findings(type: FindingType, action: FindingAction): void;
  /** Whether this process runs the passes now (holds the Lease, or needs none). */
  leader?(leading: boolean): void;
}
