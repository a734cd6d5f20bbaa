import {
  decodeVolumeComment,
  describeNames,
  describeSnapshotNames,
  type Layout,
  type RdsInventory,
  type SnapshotDirectoryObjects,
  type SnapshotObjects,
  type VolumeObjects,
} from "../storage/index.js";
import { judgeExport } from "./attachments.js";
import type { FindingType } from "./findings.js";
import type { LiveObjects } from "./kubernetes.js";

/**
 * The rules: which objects under the driver's root no cluster object accounts for. Pure — the
 * same inventory and live set always give the same candidates. Anything that fits no rule exactly
 * is left alone and described in `unexplained`.
 */

export interface Candidate {
  type: FindingType;
  /** Volume id, or snapshot id for snapshots. */
  id: string;
  sourceVolumeId?: string;
  /** The CSI operation locks this removal must hold (the same keys the controller takes). */
  lockKeys: string[];
  /** What was seen; a different fingerprint on the next pass or re-read is a different object. */
  fingerprint: string;
  /** From RouterOS (subvolume creation-time, file last-modified); null when it printed none. */
  createdAt: Date | null;
  detail: string;
  /** The PV and claim the volume was made for, from its `/disk` comment ("PV pvc-… (PVC ns/name)"). */
  madeFor?: string;
}

export interface Classification {
  candidates: Candidate[];
  unexplained: string[];
}

export function candidateKey(c: Pick<Candidate, "type" | "id">): string {
  return `${c.type}/${c.id}`;
}

export function classify(layout: Layout, inventory: RdsInventory, live: LiveObjects): Classification {
  const candidates: Candidate[] = [];
  const unexplained: string[] = [];
  for (const objects of inventory.volumes.values()) {
    if (live.volumes.has(objects.volumeId)) continue;
    const verdict = judgeVolume(layout, objects);
    if (typeof verdict === "string") unexplained.push(verdict);
    else if (verdict !== undefined) candidates.push(verdict);
  }
  if (live.snapshotsKnown) {
    for (const snapshot of inventory.snapshots) {
      if (live.snapshots.has(snapshot.snapshotId)) continue;
      const verdict = judgeSnapshot(snapshot);
      if (typeof verdict === "string") unexplained.push(verdict);
      else candidates.push(verdict);
    }
  }
  for (const directory of inventory.snapshotDirectories.values()) {
    const objects = inventory.volumes.get(directory.volumeId);
    if (live.volumes.has(directory.volumeId) || objects?.disk || objects?.subvolume) continue;
    const verdict = judgeSnapshotDirectory(directory);
    if (typeof verdict === "string") unexplained.push(verdict);
    else if (verdict !== undefined) candidates.push(verdict);
  }
  if (live.attachedHosts !== undefined) {
    for (const objects of inventory.volumes.values()) {
      const verdict = judgeExport(objects, live.attachedHosts);
      if (verdict !== undefined) candidates.push(verdict);
    }
  }
  for (const fullname of inventory.strangeSnapshotSubvolumes) {
    unexplained.push(`subvolume ${fullname} is not <volume id>/<snapshot id>`);
  }
  return { candidates, unexplained };
}

/** A candidate, a reason to leave it alone, or undefined when there is nothing there. */
function judgeVolume(layout: Layout, v: VolumeObjects): Candidate | string | undefined {
  const id = v.volumeId;
  const { disk, subvolume } = v;
  if (disk !== null && (disk.filePath === null || !layout.isVolumeImage(id, disk.filePath))) {
    // Another root on the same RDS, or someone else's disk: not ours to judge.
    return `disk ${id} uses ${disk.filePath ?? "no file"}, not ${layout.volumeImage(id)}`;
  }
  if (subvolume?.readOnly) return `volume subvolume ${subvolume.fullname} is read-only`;
  if (v.strangers.length > 0) return `volume ${id} holds ${v.strangers.join(", ")}`;
  const madeFor = describeNames(decodeVolumeComment(disk?.comment ?? undefined)?.names);
  const forWhom = madeFor ? `, made for ${madeFor}` : "";
  const base = { id, lockKeys: [id], fingerprint: volumeFingerprint(v), ...(madeFor ? { madeFor } : {}) };
  if (disk !== null && subvolume !== null) {
    return {
      ...base,
      type: "orphaned-volume",
      createdAt: subvolume.creationTime,
      detail: `volume ${id}: /disk item and subvolume, no PersistentVolume${forWhom}`,
    };
  }
  if (disk !== null) {
    return {
      ...base,
      type: "disk-without-subvolume",
      // RouterOS prints no creation time for a /disk item: age counts from first sight.
      createdAt: null,
      detail: `volume ${id}: /disk item, no subvolume${v.image ? ", image in a plain directory" : ""}${forWhom}`,
    };
  }
  if (subvolume !== null) {
    return {
      ...base,
      type: "subvolume-without-disk",
      createdAt: subvolume.creationTime,
      detail: `volume ${id}: subvolume, no /disk item`,
    };
  }
  if (v.directory !== null || v.image !== null) {
    return {
      ...base,
      type: "file-without-disk",
      createdAt: v.image?.lastModified ?? v.directory?.lastModified ?? null,
      detail: `volume ${id}: ${v.image ? "image" : "empty directory"} in a plain directory, no /disk item`,
    };
  }
  return undefined;
}

function judgeSnapshot(s: SnapshotObjects): Candidate | string {
  const { subvolume, snapshotId, sourceVolumeId } = s;
  // The driver only takes read-only snapshots; a writable one at that path was made by someone else.
  if (!subvolume.readOnly) return `snapshot subvolume ${subvolume.fullname} is writable`;
  return {
    type: "orphaned-snapshot",
    id: snapshotId,
    sourceVolumeId,
    lockKeys: [snapshotId],
    fingerprint: `subvolume=${subvolumeIdentity(subvolume)}`,
    createdAt: subvolume.creationTime,
    detail: `snapshot ${snapshotId} of volume ${sourceVolumeId}: no VolumeSnapshotContent`,
    ...(s.names ? { madeFor: describeSnapshotNames(s.names) } : {}),
  };
}

function judgeSnapshotDirectory(d: SnapshotDirectoryObjects): Candidate | string | undefined {
  if (d.snapshots > 0) return undefined;
  if (d.entries > 0) return `snapshot directory of ${d.volumeId} holds files but no snapshot`;
  return {
    type: "empty-snapshot-directory",
    id: d.volumeId,
    // Creating the volume again would make this directory: the volume's lock covers it.
    lockKeys: [d.volumeId],
    fingerprint: "empty",
    createdAt: d.directory.lastModified,
    detail: `snapshot directory of volume ${d.volumeId}: empty, volume gone`,
  };
}

function volumeFingerprint(v: VolumeObjects): string {
  return [
    `disk=${v.disk?.filePath ?? "-"}`,
    `subvolume=${v.subvolume ? subvolumeIdentity(v.subvolume) : "-"}`,
    `directory=${v.directory ? "yes" : "-"}`,
    `image=${v.image ? "yes" : "-"}`,
  ].join(" ");
}

function subvolumeIdentity(s: { uuid: string | null; id: string | null; creationTime: Date | null }): string {
  return s.uuid ?? `${s.id ?? "?"}@${s.creationTime?.toISOString() ?? "?"}`;
}
