import type { NameRange, PathComponent } from "../rds/index.js";
import { isSnapshotId, isVolumeId } from "./ids.js";

/**
 * Where things live on the RDS. Everything this driver owns sits under `<root>` in the Btrfs
 * pool mounted at `/<pool>`:
 *
 *   <root>/vols/<volume id>/disk.img                 one subvolume per volume, holding its image
 *   <root>/snaps/<volume id>/<snapshot id>/disk.img  read-only snapshots, grouped by source volume
 *
 * The snapshot's directory names its source volume, so source_volume_id survives the source's
 * deletion and "all snapshots of a volume" is a prefix query.
 */

export const DISK_IMAGE = "disk.img";

const IMAGE_SUFFIX = `/${DISK_IMAGE}`;

/** Where the `/` characters at `from` in a path end. */
function leadingSlashes(path: string, from: number): number {
  let i = from;
  while (path.charCodeAt(i) === 0x2f) i++;
  return i;
}

export interface LayoutOptions {
  /** Mount point of the pool disk (`/<pool>` on the RDS). */
  pool: string;
  /** Btrfs filesystem label for subvolume commands; RouterOS names the pool's filesystem by it. */
  fsLabel: string;
  /** Directory under the pool for this driver's objects, e.g. "rds-csi". */
  root: string;
}

export interface SnapshotLocation {
  snapshotId: string;
  sourceVolumeId: string;
}

export class Layout {
  readonly pool: string;
  readonly fsLabel: string;
  readonly root: string;

  constructor(options: LayoutOptions) {
    this.pool = options.pool.replace(/^\/+|\/+$/g, "");
    this.fsLabel = options.fsLabel;
    this.root = options.root.replace(/^\/+|\/+$/g, "");
  }

  // Subvolume paths, relative to the filesystem root (what RouterOS calls `fullname`).

  volumesDir(): string {
    return `${this.root}/vols`;
  }

  snapshotsDir(): string {
    return `${this.root}/snaps`;
  }

  /**
   * The marks deletes leave (`tombstones.ts`): plain files, never a subvolume; nothing else of the
   * layout is listed under it, so the reconciler never sees them.
   */
  tombstonesDir(): string {
    return `${this.root}/deleted`;
  }

  /**
   * The VolumeSnapshot names of snapshots (`snapshot-names.ts`): empty files whose names carry
   * them; plain files, never a subvolume.
   */
  namesDir(): string {
    return `${this.root}/names`;
  }

  volumeSubvolume(volumeId: string): string {
    return `${this.volumesDir()}/${volumeId}`;
  }

  /** The directory holding every snapshot of one volume. */
  volumeSnapshotsDir(volumeId: string): string {
    return `${this.snapshotsDir()}/${volumeId}`;
  }

  snapshotSubvolume(sourceVolumeId: string, snapshotId: string): string {
    return `${this.volumeSnapshotsDir(sourceVolumeId)}/${snapshotId}`;
  }

  /** Which volume a subvolume fullname is, or undefined when it is not one of ours. */
  parseVolumeSubvolume(fullname: string): string | undefined {
    const prefix = `${this.volumesDir()}/`;
    const path = fullname.replace(/^\/+/, "");
    if (!path.startsWith(prefix)) return undefined;
    const volumeId = path.slice(prefix.length);
    return isVolumeId(volumeId) ? volumeId : undefined;
  }

  /** Which snapshot a subvolume fullname is, or undefined when it is not one of ours. */
  parseSnapshotSubvolume(fullname: string): SnapshotLocation | undefined {
    return this.#snapshotAt(fullname, leadingSlashes(fullname, 0), fullname.length);
  }

  /**
   * The snapshot whose subvolume path is `path` from `start` to `end` (`<snaps dir>/<volume
   * id>/<snapshot id>`), read in place: a page of a listing reads hundreds of paths.
   */
  #snapshotAt(path: string, start: number, end: number): SnapshotLocation | undefined {
    const dir = this.snapshotsDir();
    if (!path.startsWith(dir, start) || path[start + dir.length] !== "/") return undefined;
    const volumeStart = start + dir.length + 1;
    const slash = path.indexOf("/", volumeStart);
    if (slash < 0 || slash >= end) return undefined;
    const deeper = path.indexOf("/", slash + 1);
    if (deeper >= 0 && deeper < end) return undefined;
    const sourceVolumeId = path.slice(volumeStart, slash);
    const snapshotId = path.slice(slash + 1, end);
    if (!isVolumeId(sourceVolumeId) || !isSnapshotId(snapshotId)) return undefined;
    return { sourceVolumeId, snapshotId };
  }

  // Paths as files: `/<pool>/<subvolume path>`; rds/paths.ts converts to each menu's spelling.

  /** A subvolume-relative path as a path under the pool mount. */
  inPool(relative: string): string {
    return `/${this.pool}/${relative}`;
  }

  volumeImage(volumeId: string): string {
    return this.inPool(`${this.volumeSubvolume(volumeId)}/${DISK_IMAGE}`);
  }

  snapshotImage(sourceVolumeId: string, snapshotId: string): string {
    return this.inPool(`${this.snapshotSubvolume(sourceVolumeId, snapshotId)}/${DISK_IMAGE}`);
  }

  /**
   * The images of the snapshots whose ids lie in `ids`, under one source volume or under any, as a
   * pattern of `/file` paths (the pool's name first; `where.pathPattern`).
   */
  snapshotImagesPattern(ids: NameRange, sourceVolumeId?: string): PathComponent[] {
    return [
      ...`${this.pool}/${this.snapshotsDir()}`.split("/").map((literal) => ({ literal })),
      sourceVolumeId === undefined ? { any: true as const } : { literal: sourceVolumeId },
      { hexRange: ids },
      { literal: DISK_IMAGE },
    ];
  }

  /** Whether a printed file path is this volume's image; `/disk` prints a leading slash, `/file` none. */
  isVolumeImage(volumeId: string, path: string): boolean {
    return path.replace(/^\/+/, "") === this.volumeImage(volumeId).replace(/^\/+/, "");
  }

  /**
   * The pool whose layout this volume's image path is in (this one or another pool under the same
   * root), or undefined when it is not a volume image of this driver at all.
   */
  poolOfVolumeImage(volumeId: string, path: string): string | undefined {
    const parts = path.replace(/^\/+/, "").split("/");
    const pool = parts.shift();
    const expected = `${this.volumeSubvolume(volumeId)}/${DISK_IMAGE}`;
    return pool !== undefined && parts.join("/") === expected ? pool : undefined;
  }

  /** Which snapshot image a pool path is (leading slash optional), or undefined. */
  parseSnapshotImage(path: string): SnapshotLocation | undefined {
    const start = leadingSlashes(path, 0);
    const end = path.length - IMAGE_SUFFIX.length;
    const inPool = start + this.pool.length + 1;
    if (!path.startsWith(this.pool, start) || path[inPool - 1] !== "/") return undefined;
    if (end < inPool || !path.endsWith(IMAGE_SUFFIX)) return undefined;
    return this.#snapshotAt(path, leadingSlashes(path, inPool), end);
  }

  /** The image as a host sees it when the pool is mounted at `mountPath` (the emulator's loop transport). */
  hostImagePath(mountPath: string, volumeId: string): string {
    return `${mountPath.replace(/\/+$/, "")}/${this.volumeSubvolume(volumeId)}/${DISK_IMAGE}`;
  }
}
