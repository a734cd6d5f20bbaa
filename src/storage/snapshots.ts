import type { Logger } from "pino";
import { isRdsError } from "../rds/index.js";
import type { Directories } from "./directories.js";
import type { Layout, SnapshotLocation } from "./layout.js";
import type { CallOptions, FileInfo, StorageRds, SubvolumeInfo } from "./rds-port.js";

/**
 * Snapshots on the RDS: read-only Btrfs snapshots `<root>/snaps/<source volume id>/<snapshot id>`
 * of a volume's subvolume. Everything a CSI Snapshot needs is read back from RouterOS: the ids
 * from the path, creation_time from the subvolume's `creation-time`, size_bytes from the size of
 * the `disk.img` inside it. Taking one is a single atomic command, so there is never a half-made
 * snapshot to clean up.
 */

export interface SnapshotRecord extends SnapshotLocation {
  creationTime: Date | null;
  /** Size of the image in the snapshot; null when RouterOS did not report it exactly. */
  sizeBytes: bigint | null;
  readyToUse: boolean;
}

export interface SnapshotStoreOptions {
  layout: Layout;
  directories: Directories;
  logger: Logger;
}

export class SnapshotStore {
  constructor(
    private readonly rds: StorageRds,
    private readonly options: SnapshotStoreOptions,
  ) {}

  /**
   * Every snapshot of one volume, or of all volumes, sorted by id: one listing of subvolumes and
   * one of files, sent together — 2 round trips whatever the number of snapshots.
   */
  async list(filter: { sourceVolumeId?: string }, call: CallOptions): Promise<SnapshotRecord[]> {
    const { layout } = this.options;
    const dir =
      filter.sourceVolumeId === undefined
        ? layout.snapshotsDir()
        : layout.volumeSnapshotsDir(filter.sourceVolumeId);
    const [subvolumes, files] = await Promise.all([
      this.rds.listSubvolumes({ fullnamePrefix: `${dir}/`, fs: layout.fsLabel }, call),
      this.rds.listFiles({ namePrefix: layout.inPool(`${dir}/`) }, call),
    ]);
    return this.#records(subvolumes, files);
  }

  /**
   * Where a snapshot is, from one listing of all snapshot subvolumes (the id alone does not say
   * which volume it came from), plus how many snapshots each volume has — 1 round trip.
   */
  async locate(
    snapshotId: string,
    call: CallOptions,
  ): Promise<{ found: SnapshotSubvolume | undefined; perVolume: Map<string, number> }> {
    const { layout } = this.options;
    const subvolumes = await this.rds.listSubvolumes(
      { fullnamePrefix: `${layout.snapshotsDir()}/`, fs: layout.fsLabel },
      call,
    );
    const perVolume = new Map<string, number>();
    let found: SnapshotSubvolume | undefined;
    for (const subvolume of subvolumes) {
      const location = layout.parseSnapshotSubvolume(subvolume.fullname);
      if (location === undefined) continue;
      perVolume.set(location.sourceVolumeId, (perVolume.get(location.sourceVolumeId) ?? 0) + 1);
      if (location.snapshotId === snapshotId) found = { ...location, subvolume };
    }
    return { found, perVolume };
  }

  /** The full record of a located snapshot: adds the image size — 1 round trip. */
  async describe(located: SnapshotSubvolume, call: CallOptions): Promise<SnapshotRecord> {
    const image = await this.rds.getFile(
      this.options.layout.snapshotImage(located.sourceVolumeId, located.snapshotId),
      call,
    );
    return this.#record(located, located.subvolume, image);
  }

  /** The snapshot with this id, or undefined — 2 round trips. */
  async find(snapshotId: string, call: CallOptions): Promise<SnapshotRecord | undefined> {
    const { found } = await this.locate(snapshotId, call);
    return found === undefined ? undefined : this.describe(found, call);
  }

  /**
   * Takes a read-only snapshot of the volume's subvolume (crash-consistent while the volume is in
   * use) — 2 round trips, then 1 to read the image size; 2 more when the volume's snapshot
   * directory had to be made first.
   */
  async create(location: SnapshotLocation, call: CallOptions): Promise<SnapshotRecord> {
    const { layout } = this.options;
    const target = layout.snapshotSubvolume(location.sourceVolumeId, location.snapshotId);
    try {
      const subvolume = await this.#snapshot(location, target, call);
      return await this.describe({ ...location, subvolume }, call);
    } catch (err) {
      // A snapshot this call cannot report is removed again: a CO that got an error may never ask
      // for it, and it would hold space unseen. After an unknown outcome the retry finds it instead.
      if (!isRdsError(err, "outcome-unknown")) await this.#remove(target);
      throw err;
    }
  }

  async #snapshot(location: SnapshotLocation, target: string, call: CallOptions): Promise<SubvolumeInfo> {
    const { layout, directories } = this.options;
    const request = {
      fs: layout.fsLabel,
      source: layout.volumeSubvolume(location.sourceVolumeId),
      target,
      readOnly: true,
    };
    try {
      return await this.rds.snapshotSubvolume(request, call);
    } catch (err) {
      // A volume made before its snapshot directory existed, or whose directory was removed.
      if (
        !isRdsError(err, "not-found") ||
        !(await directories.ensureVolumeSnapshots(location.sourceVolumeId, call))
      ) {
        throw err;
      }
      return this.rds.snapshotSubvolume(request, call);
    }
  }

  async #remove(target: string): Promise<void> {
    const { layout, logger } = this.options;
    try {
      // Its own budget and no cancellation: the cleanup should finish even when the caller gave up.
      await this.rds.removeSubvolume(target, { fs: layout.fsLabel, deadline: Date.now() + 30_000 });
    } catch (err) {
      logger.warn({ target, err }, "could not remove a snapshot that failed half-way; a retry will find it");
    }
  }

  /**
   * Removes the snapshot's subvolume. Volumes restored from it are independent subvolumes and do
   * not notice. When it was the last snapshot of a volume that no longer exists, the volume's
   * snapshot directory goes too.
   */
  async delete(located: SnapshotLocation, call: CallOptions): Promise<void> {
    const { layout, directories } = this.options;
    await this.rds.removeSubvolume(layout.snapshotSubvolume(located.sourceVolumeId, located.snapshotId), {
      ...call,
      fs: layout.fsLabel,
    });
    await directories.pruneVolumeSnapshots(located.sourceVolumeId, call);
  }

  #records(subvolumes: readonly SubvolumeInfo[], files: readonly FileInfo[]): SnapshotRecord[] {
    const { layout } = this.options;
    const images = new Map<string, FileInfo>();
    for (const file of files) {
      const location = layout.parseSnapshotImage(file.name);
      if (location !== undefined) images.set(location.snapshotId, file);
    }
    const records: SnapshotRecord[] = [];
    for (const subvolume of subvolumes) {
      const location = layout.parseSnapshotSubvolume(subvolume.fullname);
      if (location === undefined) continue;
      records.push(this.#record(location, subvolume, images.get(location.snapshotId) ?? null));
    }
    return records.sort((a, b) => (a.snapshotId < b.snapshotId ? -1 : a.snapshotId > b.snapshotId ? 1 : 0));
  }

  #record(location: SnapshotLocation, subvolume: SubvolumeInfo, image: FileInfo | null): SnapshotRecord {
    if (image === null) {
      this.options.logger.warn({ snapshotId: location.snapshotId }, "snapshot holds no disk image");
    }
    return {
      snapshotId: location.snapshotId,
      sourceVolumeId: location.sourceVolumeId,
      creationTime: subvolume.creationTime ?? image?.lastModified ?? null,
      sizeBytes: image?.size ?? null,
      readyToUse: subvolume.readOnly && image !== null,
    };
  }
}

export interface SnapshotSubvolume extends SnapshotLocation {
  subvolume: SubvolumeInfo;
}
