import type { Logger } from "pino";
import {
  type CallOptions,
  change,
  type FileInfo,
  IMAGE_SIZE_PROPLIST,
  isRdsError,
  type Query,
  type QueryResults,
  query,
  RdsError,
  SUBVOLUME_PROPLIST,
  type SubvolumeInfo,
} from "../rds/index.js";
import type { Directories } from "./directories.js";
import { ID_SPACE, type IdRange, idPosition, nameRangeOf } from "./id-ranges.js";
import type { Layout, SnapshotLocation } from "./layout.js";
import type { StorageRds } from "./rds-port.js";
import { namesFileName, type SnapshotNames } from "./snapshot-names.js";
import type { Tombstone, Tombstones } from "./tombstones.js";

/** Past this many images a page's sizes come from a pattern over their slice, not by name. */
const MAX_NAMED_FILES = 200;

const compareIds = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

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
  tombstones: Tombstones;
  logger: Logger;
}

export class SnapshotStore {
  constructor(
    private readonly rds: StorageRds,
    private readonly options: SnapshotStoreOptions,
  ) {}

  /**
   * The snapshots of one volume, or of all volumes, sorted by id, without their image sizes: one
   * listing of subvolumes asking only for the properties the driver reads — 1 round trip.
   * `describeAll` completes the page that is returned.
   */
  async list(filter: { sourceVolumeId?: string }, call: CallOptions): Promise<SnapshotSubvolume[]> {
    const { layout } = this.options;
    const dir =
      filter.sourceVolumeId === undefined
        ? layout.snapshotsDir()
        : layout.volumeSnapshotsDir(filter.sourceVolumeId);
    const [subvolumes] = await this.rds.read(
      [query.subvolumes({ fullnamePrefix: `${dir}/`, fs: layout.fsLabel, proplist: SUBVOLUME_PROPLIST })],
      call,
    );
    return this.#located(subvolumes).sort((a, b) => compareIds(a.snapshotId, b.snapshotId));
  }

  /**
   * How many snapshots the driver's root holds, counted by RouterOS (`:len [find …]`) — 1 round
   * trip whose reply is one number, whatever the count. It counts every subvolume under
   * `<root>/snaps/`, which holds only snapshots the driver took.
   */
  async count(call: CallOptions): Promise<number> {
    const [total] = await this.rds.read([this.#countQuery({})], call);
    return total;
  }

  /**
   * One exec line reading a slice of the id space (id-ranges.ts) — 1 round trip, whatever the size
   * of the table: the snapshots of one volume, or of all volumes, whose ids lie in `range`, sorted
   * by id. With `described`, each comes with its full record: the line also lists the images of
   * the slice, found by a pattern over their paths (`Layout.snapshotImagesPattern`), so it names
   * nothing it has not read yet. With `count`, RouterOS also counts every snapshot the filter
   * matches (printing nothing but the number), for sizing the slices after it.
   */
  async readSlice(
    filter: { sourceVolumeId?: string },
    range: IdRange,
    call: CallOptions,
    options: { count?: boolean; described?: boolean } = {},
  ): Promise<{ listed: ListedSnapshot[]; total?: number }> {
    const { count = false, described = false } = options;
    const queries: Query<unknown>[] = [];
    if (count) queries.push(this.#countQuery(filter));
    queries.push(this.#rangeQuery(filter, range));
    if (described) queries.push(this.#rangeImagesQuery(filter, range));
    const results: unknown[] = await this.rds.read(queries, call);
    const total = count ? (results.shift() as number) : undefined;
    const located = this.#sorted(results.shift() as SubvolumeInfo[]);
    const images = described ? (results.shift() as FileInfo[]) : undefined;
    const records = images === undefined ? undefined : this.#described(located, images, {});
    const listed = located.map((l, i): ListedSnapshot => {
      const record = records?.[i];
      return record === undefined ? { located: l } : { located: l, record };
    });
    return total === undefined ? { listed } : { listed, total };
  }

  /**
   * `describeAll` of listed snapshots and, in the same exec line, the snapshots of the slice `range`
   * (what the next part of a listing will need) — 1 round trip for both. Without `range`, only the
   * images; without snapshots to describe, only the slice.
   */
  async describeThenList(
    located: readonly SnapshotSubvolume[],
    filter: { sourceVolumeId?: string },
    range: IdRange | undefined,
    call: CallOptions,
    options: { dropMissing?: boolean } = {},
  ): Promise<{ records: SnapshotRecord[]; next: SnapshotSubvolume[] }> {
    if (range === undefined) return { records: await this.describeAll(located, call, options), next: [] };
    if (located.length === 0) {
      const { listed } = await this.readSlice(filter, range, call);
      return { records: [], next: listed.map((l) => l.located) };
    }
    const [files, subvolumes] = await this.rds.read(
      [this.#imagesQuery(located), this.#rangeQuery(filter, range)],
      call,
    );
    return { records: this.#described(located, files, options), next: this.#sorted(subvolumes) };
  }

  #snapshotsDir(filter: { sourceVolumeId?: string }): string {
    const { layout } = this.options;
    return filter.sourceVolumeId === undefined
      ? layout.snapshotsDir()
      : layout.volumeSnapshotsDir(filter.sourceVolumeId);
  }

  #rangeQuery(filter: { sourceVolumeId?: string }, range: IdRange): Query<SubvolumeInfo[]> {
    const whole = range.from <= 0 && range.to >= ID_SPACE - 1;
    return query.subvolumes({
      fullnamePrefix: `${this.#snapshotsDir(filter)}/`,
      fs: this.options.layout.fsLabel,
      proplist: SUBVOLUME_PROPLIST,
      ...(whole ? {} : { nameRange: nameRangeOf(range) }),
    });
  }

  /** The images of the snapshots in `range`, by a pattern over their paths (no names needed). */
  #rangeImagesQuery(filter: { sourceVolumeId?: string }, range: IdRange): Query<FileInfo[]> {
    const { layout } = this.options;
    return query.filesMatching(layout.snapshotImagesPattern(nameRangeOf(range), filter.sourceVolumeId));
  }

  #countQuery(filter: { sourceVolumeId?: string }): Query<number> {
    return query.subvolumeCount({
      fullnamePrefix: `${this.#snapshotsDir(filter)}/`,
      fs: this.options.layout.fsLabel,
    });
  }

  #sorted(subvolumes: readonly SubvolumeInfo[]): SnapshotSubvolume[] {
    return this.#located(subvolumes).sort((a, b) => compareIds(a.snapshotId, b.snapshotId));
  }

  /**
   * Full records of listed snapshots: the sizes of their images only, named in one `/file`
   * query (a long page by the pattern of the slice it spans instead, to keep the line short) — 1
   * round trip.
   * `dropMissing` leaves out snapshots whose image is not there (deleted since they were listed).
   */
  async describeAll(
    located: readonly SnapshotSubvolume[],
    call: CallOptions,
    options: { dropMissing?: boolean } = {},
  ): Promise<SnapshotRecord[]> {
    if (located.length === 0) return [];
    const [files] = await this.rds.read([this.#imagesQuery(located)], call);
    return this.#described(located, files, options);
  }

  /**
   * The images of listed snapshots: by name, or past `MAX_NAMED_FILES` (a long line) by the pattern
   * of the slice of the id space they span (under their volume when they share one), which reads
   * about those snapshots' images rather than every image.
   */
  #imagesQuery(located: readonly SnapshotSubvolume[]): Query<FileInfo[]> {
    const { layout } = this.options;
    // An image's last-modified only stands in for a subvolume that showed no creation-time.
    const dated = located.every((l) => l.subvolume.creationTime !== null);
    const proplist = dated ? { proplist: IMAGE_SIZE_PROPLIST } : {};
    if (located.length <= MAX_NAMED_FILES) {
      const paths = located.map((l) => layout.snapshotImage(l.sourceVolumeId, l.snapshotId));
      return query.filesNamed(paths, proplist);
    }
    let from = ID_SPACE - 1;
    let to = 0;
    for (const l of located) {
      const position = idPosition(l.snapshotId);
      if (position < from) from = position;
      if (position > to) to = position;
    }
    const range = { from, to };
    const volume = located[0]?.sourceVolumeId;
    const shared = located.every((l) => l.sourceVolumeId === volume) ? volume : undefined;
    return query.filesMatching(layout.snapshotImagesPattern(nameRangeOf(range), shared), proplist);
  }

  #described(
    located: readonly SnapshotSubvolume[],
    files: readonly FileInfo[],
    options: { dropMissing?: boolean },
  ): SnapshotRecord[] {
    const { layout } = this.options;
    const byId = new Map<string, FileInfo>();
    for (const file of files) {
      const location = layout.parseSnapshotImage(file.name);
      if (location !== undefined) byId.set(location.snapshotId, file);
    }
    const present = options.dropMissing ? located.filter((l) => byId.has(l.snapshotId)) : located;
    return present.map((l) => this.#record(l, l.subvolume, byId.get(l.snapshotId) ?? null));
  }

  /**
   * Where a snapshot is: the subvolume with its id as name, wherever it sits (the id alone does
   * not say which volume it came from) — 1 round trip.
   */
  async locate(snapshotId: string, call: CallOptions): Promise<SnapshotSubvolume | undefined> {
    const [named] = await this.rds.read([this.#named(snapshotId)], call);
    return this.#find(named, snapshotId);
  }

  /**
   * DeleteSnapshot's first step: marks the id as deleted (see `tombstones.ts`) and locates the
   * snapshot, in one exec line — 1 round trip.
   */
  async markAndLocate(snapshotId: string, call: CallOptions): Promise<SnapshotSubvolume | undefined> {
    const [named, names] = await this.options.tombstones.markThen(
      snapshotId,
      [this.#named(snapshotId), this.namesQuery(snapshotId)],
      call,
    );
    const found = this.#find(named, snapshotId);
    // No snapshot, yet files naming it: a create that never took it, or a delete cut short after
    // the remove. They go now (1 more round trip, only then); with a snapshot, `delete` removes them.
    if (found === undefined && names.length > 0) {
      await this.rds.apply(change.removeFiles(names.map((f) => f.name)), [], call);
    }
    return found;
  }

  /**
   * Everything CreateSnapshot decides on, in one exec line — 1 round trip: the snapshot wherever
   * it is, its image if it is already under `sourceVolumeId` (a retry), the source volume's
   * `/disk` item, how many snapshots that volume has (`countSnapshots`; without it, `taken` is 0
   * and the volume's snapshots are not listed, so the line costs the same however many it has),
   * and the marks a delete of this id left.
   */
  async prepare(
    location: SnapshotLocation,
    call: CallOptions,
    options: {
      countSnapshots?: boolean;
      names?: SnapshotNames | undefined;
      /**
       * Look the snapshot up in every Btrfs filesystem, not only this pool's (several pools are
       * served): the same name taken of a volume in another pool is then a conflict, not a second
       * snapshot. The path under the root is the same in every pool.
       */
      anyPool?: boolean;
    } = {},
  ): Promise<{
    found: SnapshotSubvolume | undefined;
    existing?: SnapshotRecord;
    sourceExists: boolean;
    taken: number;
    marks: Tombstone[];
  }> {
    const { layout, tombstones } = this.options;
    const { snapshotId, sourceVolumeId } = location;
    const fs = layout.fsLabel;
    const count = options.countSnapshots ?? true;
    const namedQuery = options.anyPool ? query.subvolumesNamed(snapshotId) : this.#named(snapshotId);
    const imageQuery = query.file(layout.snapshotImage(sourceVolumeId, snapshotId));
    const diskQuery = query.disk(sourceVolumeId);
    const marksQuery = tombstones.query(snapshotId);
    const siblingsQuery = query.subvolumes({
      fullnamePrefix: `${layout.volumeSnapshotsDir(sourceVolumeId)}/`,
      fs,
      proplist: ["name"],
    });
    const read = <const Q extends readonly Query<unknown>[]>(queries: Q) =>
      this.#recordingNames(snapshotId, options.names, queries, call);
    const [named, image, disk, siblings, marked] = count
      ? await read([namedQuery, imageQuery, diskQuery, siblingsQuery, marksQuery])
      : await read([namedQuery, imageQuery, diskQuery, marksQuery]).then(
          ([n, i, d, m]) => [n, i, d, [], m] as const,
        );
    const found = this.#find(named, snapshotId);
    const taken = this.#located(siblings).length;
    const existing =
      found !== undefined && found.sourceVolumeId === sourceVolumeId
        ? this.#record(found, found.subvolume, image)
        : undefined;
    const marks = tombstones.parse(marked, snapshotId);
    return { found, ...(existing ? { existing } : {}), sourceExists: disk !== null, taken, marks };
  }

  /**
   * Sends `queries`, after writing the file that records the snapshot's VolumeSnapshot names when
   * there are any, in the same exec line (`snapshot-names.ts`) — 1 round trip, as the reads alone.
   * Written before the snapshot is taken, so a snapshot never exists without it; a file left by a
   * create that then failed names a snapshot that is not there, which nothing reads as one. The
   * first file ever also makes `<root>/names` (2 more); a full pool skips it (logged).
   */
  async #recordingNames<const Q extends readonly Query<unknown>[]>(
    snapshotId: string,
    names: SnapshotNames | undefined,
    queries: Q,
    call: CallOptions,
  ): Promise<QueryResults<Q>> {
    const { layout, directories, logger } = this.options;
    const file = names === undefined ? undefined : namesFileName(snapshotId, names, Date.now());
    if (file === undefined) return this.rds.read(queries, call);
    const write = async () => {
      const [, ...results] = await this.rds.apply(
        change.addFile(layout.inPool(`${layout.namesDir()}/${file}`)),
        queries,
        call,
      );
      return results as QueryResults<Q>;
    };
    try {
      try {
        return await write();
      } catch (err) {
        if (!isRdsError(err, "not-found") || !(await directories.ensureNames(call))) throw err;
        return await write();
      }
    } catch (err) {
      if (!isRdsError(err, "no-space")) throw err;
      logger.warn(
        { snapshotId, err: err.message },
        "pool full: the VolumeSnapshot's name is not recorded on the RDS",
      );
      return this.rds.read(queries, call);
    }
  }

  /** The files recording a snapshot's VolumeSnapshot names (all snapshots' without an id). */
  namesQuery(snapshotId?: string): Query<FileInfo[]> {
    const { layout } = this.options;
    return query.files({
      namePrefix: layout.inPool(`${layout.namesDir()}/${snapshotId === undefined ? "" : `${snapshotId}_`}`),
    });
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
    const found = await this.locate(snapshotId, call);
    return found === undefined ? undefined : this.describe(found, call);
  }

  /**
   * Takes a read-only snapshot of the volume's subvolume (crash-consistent while the volume is in
   * use), reads it back and reads its image size, in one exec line — 1 round trip; 2 more when
   * the volume's snapshot directory had to be made first.
   */
  async create(location: SnapshotLocation, call: CallOptions): Promise<SnapshotRecord> {
    const { layout } = this.options;
    const target = layout.snapshotSubvolume(location.sourceVolumeId, location.snapshotId);
    try {
      const [subvolume, image] = await this.#snapshot(location, target, call);
      return this.#record(location, subvolume, image);
    } catch (err) {
      // A snapshot this call cannot report is removed again: a CO that got an error may never ask
      // for it, and it would hold space unseen. After an unknown outcome the retry finds it instead;
      // a snapshot never sent (no channel in time) is not there, and a remove would only queue.
      if (!isRdsError(err, "outcome-unknown") && !(isRdsError(err) && err.notSent))
        await this.#remove(target);
      throw err;
    }
  }

  async #snapshot(
    location: SnapshotLocation,
    target: string,
    call: CallOptions,
  ): Promise<[SubvolumeInfo, FileInfo | null]> {
    const { layout, directories } = this.options;
    const take = () =>
      this.rds.apply(
        change.snapshotSubvolume({
          fs: layout.fsLabel,
          source: layout.volumeSubvolume(location.sourceVolumeId),
          target,
          readOnly: true,
        }),
        [query.file(layout.snapshotImage(location.sourceVolumeId, location.snapshotId))],
        call,
      );
    try {
      return await take();
    } catch (err) {
      await this.#refuseIfSourceGone(location.sourceVolumeId, err, call);
      if (await this.#nested(location.sourceVolumeId, err, call)) return take();
      // A volume made before its snapshot directory existed, or whose directory was removed. A
      // failure in unknown words is read the same way: making the directory tells whether it was missing.
      if (
        !(isRdsError(err, "not-found") || isRdsError(err, "protocol")) ||
        !(await directories.ensureVolumeSnapshots(location.sourceVolumeId, call))
      ) {
        throw err;
      }
      try {
        return await take();
      } catch (again) {
        await this.#refuseIfSourceGone(location.sourceVolumeId, again, call);
        // The folder was missing (e.g. an earlier attempt lost after removing the plain folder to
        // make it a subvolume): just made as a plain directory, it may be refused like the first.
        if (await this.#nested(location.sourceVolumeId, again, call)) return take();
        throw again;
      }
    }
  }

  /**
   * A RouterOS that takes no subvolume under a plain directory refuses the snapshot's `name=`: the
   * volume's (empty) snapshot folder becomes a subvolume. True when it did (the caller tries again).
   */
  async #nested(volumeId: string, err: unknown, call: CallOptions): Promise<boolean> {
    return (
      isRdsError(err, "invalid-input") &&
      /\bname\b/.test(err.routerText ?? "") &&
      (await this.options.directories.nestable(volumeId, call))
    );
  }

  /**
   * A snapshot refused because its source volume was deleted meanwhile (DeleteVolume racing this
   * call; RouterOS answers a missing `parent=` with an invalid-value error) is NOT_FOUND, and leaves
   * no snapshot directory for the deleted volume behind — 1 round trip, only on this path.
   */
  async #refuseIfSourceGone(volumeId: string, err: unknown, call: CallOptions): Promise<void> {
    if (!isRdsError(err, "not-found") && !isRdsError(err, "invalid-input")) return;
    const { directories } = this.options;
    const remains = await this.rds.read(directories.remainsQueries(volumeId), call);
    if (remains[1] !== null) return;
    await directories.pruneIfOrphaned(volumeId, remains, call);
    throw new RdsError(
      "not-found",
      `volume ${volumeId} does not exist (deleted while the snapshot was taken)`,
      {
        retryable: false,
      },
    );
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
    const target = layout.snapshotSubvolume(located.sourceVolumeId, located.snapshotId);
    // The remove and whether the source volume still exists: 1 round trip, whatever the number of
    // snapshots. While the volume exists its directory stays, so the snapshots left in it are only
    // read when it is gone (rare: the last snapshots of a deleted volume) — 1 more, and 1 to prune.
    // With it, the files recording its VolumeSnapshot names (snapshot-names.ts).
    const [, volume, names] = await this.rds.apply(
      change.removeSubvolume(target, { fs: layout.fsLabel }),
      [directories.volumeQuery(located.sourceVolumeId), this.namesQuery(located.snapshotId)],
      call,
    );
    if (volume === null) await directories.pruneVolumeSnapshots(located.sourceVolumeId, call);
    // 1 more round trip, only for a snapshot whose names were recorded.
    if (names.length > 0) await this.rds.apply(change.removeFiles(names.map((f) => f.name)), [], call);
  }

  #named(snapshotId: string): Query<SubvolumeInfo[]> {
    return query.subvolumesNamed(snapshotId, { fs: this.options.layout.fsLabel });
  }

  /** Our snapshot with this id among `subvolumes` (anything else of that name is not ours). */
  #find(subvolumes: readonly SubvolumeInfo[], snapshotId: string): SnapshotSubvolume | undefined {
    return this.#located(subvolumes).find((s) => s.snapshotId === snapshotId);
  }

  #located(subvolumes: readonly SubvolumeInfo[]): SnapshotSubvolume[] {
    const { layout } = this.options;
    const out: SnapshotSubvolume[] = [];
    for (const subvolume of subvolumes) {
      const location = layout.parseSnapshotSubvolume(subvolume.fullname);
      if (location !== undefined) out.push({ ...location, subvolume });
    }
    return out;
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

/** A snapshot read in a slice: where it is, and its full record when its image was read with it. */
export interface ListedSnapshot {
  readonly located: SnapshotSubvolume;
  readonly record?: SnapshotRecord;
}
