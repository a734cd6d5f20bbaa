import type { CallOptions, DiskInfo, FileInfo, SubvolumeInfo } from "../rds/index.js";
import { isVolumeId, VOLUME_ID_PREFIX } from "./ids.js";
import { DISK_IMAGE, type Layout, type SnapshotLocation } from "./layout.js";
import type { StorageRds } from "./rds-port.js";
import { parseNamesFileName, type SnapshotNames } from "./snapshot-names.js";

/**
 * What the RDS holds under the driver's root, grouped by volume id, whether or not it is whole: the
 * view the orphan reconciler judges. Read with listings only; the same grouping is used for a full
 * pass and for the narrow re-read of one object before it is removed, so both judge by exactly the
 * same rules.
 */

/** Everything that may belong to one volume id. */
export interface VolumeObjects {
  volumeId: string;
  /** The `/disk` item with this slot, whatever file it uses. */
  disk: DiskInfo | null;
  /** `<root>/vols/<id>`. */
  subvolume: SubvolumeInfo | null;
  /** `/file` entry `<pool>/<root>/vols/<id>` (a subvolume shows as a directory too). */
  directory: FileInfo | null;
  /** `<pool>/<root>/vols/<id>/disk.img`. */
  image: FileInfo | null;
  /** Anything else under the directory, by name: never made by this driver. */
  strangers: string[];
}

export interface SnapshotObjects extends SnapshotLocation {
  subvolume: SubvolumeInfo;
  /** The VolumeSnapshot it was taken for, when recorded (`snapshot-names.ts`; a full read only). */
  names?: SnapshotNames;
}

/** `<root>/snaps/<volume id>` and what is in it. */
export interface SnapshotDirectoryObjects {
  volumeId: string;
  directory: FileInfo;
  /** `/file` entries under it (snapshot directories, their images, anything else). */
  entries: number;
  /** Snapshot subvolumes under it. */
  snapshots: number;
  /** The directory itself is a subvolume: not something this driver makes. */
  isSubvolume: boolean;
}

export interface RdsInventory {
  volumes: Map<string, VolumeObjects>;
  snapshots: SnapshotObjects[];
  snapshotDirectories: Map<string, SnapshotDirectoryObjects>;
  /** Subvolumes under the snapshot tree that are not `<volume id>/<snapshot id>`. */
  strangeSnapshotSubvolumes: string[];
}

/** Raw listings, as RouterOS printed them. */
export interface Listings {
  disks: readonly DiskInfo[];
  volumeSubvolumes: readonly SubvolumeInfo[];
  snapshotSubvolumes: readonly SubvolumeInfo[];
  volumeFiles: readonly FileInfo[];
  snapshotFiles: readonly FileInfo[];
  /** `<root>/names/…`: the snapshots' VolumeSnapshot names (a full read only). */
  namesFiles?: readonly FileInfo[];
}

/** Which part of the root to read: all of it, or what one removal depends on. */
export type InventoryScope =
  | { kind: "all" }
  | { kind: "volume"; volumeId: string }
  | { kind: "snapshot"; location: SnapshotLocation }
  | { kind: "snapshot-directory"; volumeId: string };

/** Reads the listings of a scope, one after the other so CSI calls keep their SSH channels. */
export async function readListings(
  rds: StorageRds,
  layout: Layout,
  scope: InventoryScope,
  call: CallOptions,
): Promise<Listings> {
  const fs = layout.fsLabel;
  const subvolumes = async (prefix: string) => rds.listSubvolumes({ fullnamePrefix: prefix, fs }, call);
  const files = async (prefix: string) => rds.listFiles({ namePrefix: layout.inPool(prefix) }, call);
  const subvolume = async (fullname: string) => present(await rds.getSubvolume(fullname, { ...call, fs }));
  const disk = async (volumeId: string) => present(await rds.getDisk(volumeId, call));
  const none: Listings = {
    disks: [],
    volumeSubvolumes: [],
    snapshotSubvolumes: [],
    volumeFiles: [],
    snapshotFiles: [],
  };
  switch (scope.kind) {
    case "all":
      return {
        disks: await rds.listDisks({ slotPrefix: VOLUME_ID_PREFIX }, call),
        volumeSubvolumes: await subvolumes(`${layout.volumesDir()}/`),
        snapshotSubvolumes: await subvolumes(`${layout.snapshotsDir()}/`),
        volumeFiles: await files(`${layout.volumesDir()}/`),
        snapshotFiles: await files(`${layout.snapshotsDir()}/`),
        namesFiles: await files(`${layout.namesDir()}/`),
      };
    case "volume":
      return {
        ...none,
        disks: await disk(scope.volumeId),
        volumeSubvolumes: await subvolume(layout.volumeSubvolume(scope.volumeId)),
        volumeFiles: await files(layout.volumeSubvolume(scope.volumeId)),
      };
    case "snapshot": {
      const { sourceVolumeId, snapshotId } = scope.location;
      return {
        ...none,
        snapshotSubvolumes: await subvolume(layout.snapshotSubvolume(sourceVolumeId, snapshotId)),
      };
    }
    case "snapshot-directory":
      return {
        ...none,
        disks: await disk(scope.volumeId),
        volumeSubvolumes: await subvolume(layout.volumeSubvolume(scope.volumeId)),
        snapshotSubvolumes: await subvolumes(layout.volumeSnapshotsDir(scope.volumeId)),
        snapshotFiles: await files(layout.volumeSnapshotsDir(scope.volumeId)),
      };
  }
}

/** The names each snapshot's files record; of several (a retried create), the last one written. */
function namesOf(files: readonly FileInfo[]): Map<string, SnapshotNames> {
  const out = new Map<string, { names: SnapshotNames; at: string }>();
  for (const file of files) {
    const base = file.name.slice(file.name.lastIndexOf("/") + 1);
    const parsed = parseNamesFileName(base);
    if (parsed === undefined) continue;
    const at = base.slice(base.lastIndexOf(".") + 1).padStart(16, "0");
    const seen = out.get(parsed.snapshotId);
    if (seen === undefined || seen.at < at) out.set(parsed.snapshotId, { names: parsed.names, at });
  }
  return new Map([...out].map(([id, v]) => [id, v.names]));
}

function present<T>(item: T | null): T[] {
  return item === null ? [] : [item];
}

/** Groups listings by volume id; anything whose name is not one of ours is dropped here. */
export function buildInventory(layout: Layout, listings: Listings): RdsInventory {
  const snapshots = snapshotsOf(layout, listings.snapshotSubvolumes);
  const names = namesOf(listings.namesFiles ?? []);
  return {
    volumes: volumesOf(layout, listings),
    snapshots: snapshots.snapshots.map((s) => {
      const recorded = names.get(s.snapshotId);
      return recorded === undefined ? s : { ...s, names: recorded };
    }),
    snapshotDirectories: snapshotDirectoriesOf(layout, listings.snapshotFiles, snapshots),
    strangeSnapshotSubvolumes: snapshots.strangers,
  };
}

/** `/disk` items, volume subvolumes and the files under `<root>/vols`, by volume id. */
function volumesOf(layout: Layout, listings: Listings): Map<string, VolumeObjects> {
  const volumes = new Map<string, VolumeObjects>();
  const volume = (volumeId: string): VolumeObjects => {
    let entry = volumes.get(volumeId);
    if (entry === undefined) {
      entry = { volumeId, disk: null, subvolume: null, directory: null, image: null, strangers: [] };
      volumes.set(volumeId, entry);
    }
    return entry;
  };

  for (const disk of listings.disks) {
    if (isVolumeId(disk.slot)) volume(disk.slot).disk = disk;
  }
  const volumesDir = `${layout.volumesDir()}/`;
  for (const subvolume of listings.volumeSubvolumes) {
    const [volumeId, ...rest] = relativeParts(subvolume.fullname, volumesDir);
    if (volumeId === undefined || !isVolumeId(volumeId)) continue;
    // A subvolume nested inside a volume's is nothing this driver makes.
    if (rest.length === 0) volume(volumeId).subvolume = subvolume;
    else volume(volumeId).strangers.push(subvolume.fullname);
  }
  const volumeFilesDir = layout.inPool(volumesDir);
  for (const file of listings.volumeFiles) {
    const [volumeId, ...rest] = relativeParts(file.name, volumeFilesDir);
    if (volumeId === undefined || !isVolumeId(volumeId)) continue;
    const entry = volume(volumeId);
    if (rest.length === 0) entry.directory = file;
    else if (rest.length === 1 && rest[0] === DISK_IMAGE) entry.image = file;
    else if (!entry.strangers.includes(file.name)) entry.strangers.push(file.name);
  }
  return volumes;
}

/** What the subvolumes under `<root>/snaps` say: the snapshots, and what each volume's directory holds. */
interface SnapshotTree {
  snapshots: SnapshotObjects[];
  /** Subvolumes that are not `<volume id>/<snapshot id>`. */
  strangers: string[];
  /** Subvolumes under each volume's directory, snapshots or not. */
  inDirectory: Map<string, number>;
  /** Volume ids whose directory is itself a subvolume. */
  directoryIsSubvolume: Set<string>;
}

function snapshotsOf(layout: Layout, subvolumes: readonly SubvolumeInfo[]): SnapshotTree {
  const tree: SnapshotTree = {
    snapshots: [],
    strangers: [],
    inDirectory: new Map(),
    directoryIsSubvolume: new Set(),
  };
  const count = (volumeId: string) =>
    tree.inDirectory.set(volumeId, (tree.inDirectory.get(volumeId) ?? 0) + 1);
  const snapshotsDir = `${layout.snapshotsDir()}/`;
  for (const subvolume of subvolumes) {
    const location = layout.parseSnapshotSubvolume(subvolume.fullname);
    if (location !== undefined) {
      tree.snapshots.push({ ...location, subvolume });
      count(location.sourceVolumeId);
      continue;
    }
    const parts = relativeParts(subvolume.fullname, snapshotsDir);
    const [volumeId] = parts;
    // A volume's snapshot folder made as a subvolume (directories.ts) is a folder, not a stranger.
    if (volumeId !== undefined && isVolumeId(volumeId) && parts.length === 1) {
      tree.directoryIsSubvolume.add(volumeId);
      continue;
    }
    tree.strangers.push(subvolume.fullname);
    if (volumeId === undefined || !isVolumeId(volumeId)) continue;
    count(volumeId);
  }
  return tree;
}

/** `<root>/snaps/<volume id>` directories, with what is in each. */
function snapshotDirectoriesOf(
  layout: Layout,
  files: readonly FileInfo[],
  tree: SnapshotTree,
): Map<string, SnapshotDirectoryObjects> {
  const snapshotDirectories = new Map<string, SnapshotDirectoryObjects>();
  const entriesInDirectory = new Map<string, number>();
  const snapshotFilesDir = layout.inPool(`${layout.snapshotsDir()}/`);
  for (const file of files) {
    const [volumeId, ...rest] = relativeParts(file.name, snapshotFilesDir);
    if (volumeId === undefined || !isVolumeId(volumeId)) continue;
    if (rest.length > 0) {
      entriesInDirectory.set(volumeId, (entriesInDirectory.get(volumeId) ?? 0) + 1);
      continue;
    }
    snapshotDirectories.set(volumeId, {
      volumeId,
      directory: file,
      entries: 0,
      snapshots: 0,
      isSubvolume: false,
    });
  }
  for (const [volumeId, entry] of snapshotDirectories) {
    entry.entries = entriesInDirectory.get(volumeId) ?? 0;
    entry.snapshots = tree.inDirectory.get(volumeId) ?? 0;
    entry.isSubvolume = tree.directoryIsSubvolume.has(volumeId);
  }
  return snapshotDirectories;
}

/** The path components of `name` below `prefix` (both compared without a leading slash). */
function relativeParts(name: string, prefix: string): string[] {
  const path = name.replace(/^\/+/, "");
  const base = prefix.replace(/^\/+/, "");
  if (!path.startsWith(base)) return [];
  return path
    .slice(base.length)
    .split("/")
    .filter((part) => part !== "");
}
