/**
 * The lineage of the driver's objects on one RDS: which snapshots were taken of a volume, which
 * volumes were restored from a snapshot or cloned from a volume. This is also the `--json` output
 * of `rds-csi lineage` and the page's `/lineage.json`, so its shape is a contract (docs/lineage.md):
 * fields are only ever added within one `schema` value; a rename or removal takes a new one.
 */

export const LINEAGE_SCHEMA = "rds-csi/lineage/v1";

/** Who a volume belongs to in Kubernetes, from its `/disk` comment or the API server. */
export interface VolumeNames {
  pv?: string;
  pvc?: { namespace: string; name: string };
}

/**
 * Which Kubernetes objects name a snapshot: recorded on the RDS at CreateSnapshot (the
 * csi-snapshotter's --extra-create-metadata), or read from the API server, which wins.
 */
export interface SnapshotNames {
  volumeSnapshotContent?: string;
  volumeSnapshot?: { namespace: string; name: string };
}

/**
 * What deleting an object means. Btrfs snapshots, restores and clones are independent subvolumes
 * that share extents: deleting one never breaks another. `safe` means nothing present was made
 * from it, so deleting it takes away only itself and leaves no object without its recorded source.
 */
export interface Deletion {
  safe: boolean;
  /** Ids of present objects made from this one (snapshots, restores, clones); they stay intact. */
  dependants: string[];
  /** Ids of present objects that may hold the same extents (its source and its dependants). */
  sharesWith: string[];
  /**
   * The most deleting it can free: the image's apparent size, in bytes (decimal string, exact).
   * What is really freed is the extents no other subvolume references, which RouterOS does not show.
   */
  freesAtMostBytes: string | null;
  /** One sentence saying why, for people. */
  reason: string;
}

export interface VolumeNode {
  kind: "volume";
  id: string;
  /** False for a source that is gone: named by a snapshot's path or a volume's comment only. */
  present: boolean;
  /** `/disk` file-size in bytes (decimal string, exact); null when gone or not printed. */
  sizeBytes: string | null;
  /** The volume subvolume's creation-time (ISO 8601); null when unknown. */
  createdAt: string | null;
  /** What it was made from, as its `/disk` comment says; null for an empty volume or unknown. */
  source: { kind: "snapshot" | "volume"; id: string } | null;
  kubernetes: VolumeNames | null;
  /** Null for an object that is gone. */
  deletion: Deletion | null;
}

export interface SnapshotNode {
  kind: "snapshot";
  id: string;
  present: boolean;
  /** The volume it was taken of (its path names it); null for a gone snapshot whose path is unknown. */
  sourceVolumeId: string | null;
  /** Its image's size in bytes (decimal string, exact); null when gone or not printed. */
  sizeBytes: string | null;
  /** The snapshot subvolume's creation-time (ISO 8601). */
  createdAt: string | null;
  /** The subvolume is read-only, as the driver makes every snapshot (CSI ready_to_use). */
  readyToUse: boolean;
  kubernetes: SnapshotNames | null;
  deletion: Deletion | null;
}

export type LineageNode = VolumeNode | SnapshotNode;

/** `snapshot`: volume → snapshot taken of it; `restore`: snapshot → volume; `clone`: volume → volume. */
export type EdgeKind = "snapshot" | "restore" | "clone";

export interface Edge {
  from: string;
  to: string;
  kind: EdgeKind;
}

export interface Lineage {
  schema: typeof LINEAGE_SCHEMA;
  generatedAt: string;
  pool: string;
  root: string;
  /** Whether Kubernetes names were read from the API server, and what went wrong if not. */
  kubernetes: { consulted: boolean; error?: string };
  /** Every node, in tree order (a parent before its children, siblings oldest first). */
  nodes: LineageNode[];
  /** Every parent → child relation; each node has at most one parent. */
  edges: Edge[];
  /** Ids of the nodes with no parent, in order. */
  roots: string[];
}
