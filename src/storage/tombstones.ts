import type { Logger } from "pino";
import {
  type CallOptions,
  change,
  type FileInfo,
  isRdsError,
  type Query,
  type QueryResults,
  query,
  type SubvolumeInfo,
} from "../rds/index.js";
import type { Directories } from "./directories.js";
import { isSnapshotId, isVolumeId } from "./ids.js";
import { buildInventory, readListings } from "./inventory.js";
import type { Layout } from "./layout.js";
import { decodeVolumeComment } from "./metadata.js";
import type { StorageRds } from "./rds-port.js";

/**
 * Marks that deletes leave on the RDS, so that what a late command re-creates afterwards is found
 * and removed, whatever happens to the controller meanwhile.
 *
 * An exec whose reply never came may still run on the router after the driver gave up: a
 * CreateSnapshot or CreateVolume attempt can then re-create its object after the CO retried to
 * success and deleted it. DeleteSnapshot and DeleteVolume therefore first add an empty file
 * `<root>/deleted/<id>.<unix ms>` (in the same exec line as their first read, so no round trip
 * more). The sweep (`tombstone-sweep.ts`) looks at every marked id until the mark has been known
 * for longer than any command can run late, removes what reappeared if it is what a late command of
 * ours makes, and then drops the mark. A create of the same name clears the marks first (removing a
 * late copy it finds), so a legitimate re-create is never swept. Nothing unmarked is ever looked
 * at: a snapshot kept by a Retain policy was never deleted through CSI and has no mark.
 */

/** One mark: which object a delete was asked for, and when (the controller's clock; informative). */
export interface Tombstone {
  /** The `/file` name, as listed. */
  name: string;
  id: string;
  deletedAt: Date;
  /** When the mark reached the RDS, by the router's clock (`last-modified`); null when not printed. */
  landedAt: Date | null;
}

/** What the removal of reappeared objects did, for the log and the tests. */
export interface Reclaimed {
  removed: string[];
  /** Marked objects left alone because they are not what a late command of ours makes. */
  kept: string[];
}

const MARK = /^(pvc-[0-9a-f-]{36}|snap-[0-9a-f-]{36})\.(\d{1,15})$/;

export class Tombstones {
  constructor(
    private readonly rds: StorageRds,
    private readonly layout: Layout,
    private readonly directories: Directories,
    private readonly logger: Logger,
    /** False when the sweep is off: no marks are left, since nothing would ever drop them. */
    readonly enabled: boolean,
  ) {}

  /** The marks of one id, or of every id — one listing, to send with other reads. */
  query(id?: string): Query<FileInfo[]> {
    return query.files({ namePrefix: this.layout.inPool(`${this.layout.tombstonesDir()}/${id ?? ""}`) });
  }

  /** Marks among listed files (of `id` only, when given). */
  parse(files: readonly FileInfo[], id?: string): Tombstone[] {
    const prefix = `${this.layout.inPool(this.layout.tombstonesDir()).replace(/^\/+/, "")}/`;
    const out: Tombstone[] = [];
    for (const file of files) {
      const name = file.name.replace(/^\/+/, "");
      if (!name.startsWith(prefix)) continue;
      const m = MARK.exec(name.slice(prefix.length));
      if (m === null || (id !== undefined && m[1] !== id)) continue;
      if (!isVolumeId(m[1] as string) && !isSnapshotId(m[1] as string)) continue;
      out.push({ name, id: m[1] as string, deletedAt: new Date(Number(m[2])), landedAt: file.lastModified });
    }
    return out;
  }

  /** Every mark on the RDS — 1 round trip. */
  async list(call: CallOptions): Promise<Tombstone[]> {
    if (!this.enabled) return [];
    const [files] = await this.rds.read([this.query()], call);
    return this.parse(files);
  }

  /** The marks of one id — 1 round trip. */
  async of(id: string, call: CallOptions): Promise<Tombstone[]> {
    if (!this.enabled) return [];
    const [files] = await this.rds.read([this.query(id)], call);
    return this.parse(files, id);
  }

  /**
   * Marks `id` as deleted and sends `queries` in the same exec line — 1 round trip, as the reads
   * alone. The first mark ever also makes `<root>/deleted` (2 more). A full pool never blocks the
   * delete (deleting is how space is freed): the missing mark is logged, and only a late
   * command's leftover could then stay. Any other failure fails the delete, to be retried.
   */
  async markThen<const Q extends readonly Query<unknown>[]>(
    id: string,
    queries: Q,
    call: CallOptions,
  ): Promise<QueryResults<Q>> {
    if (!this.enabled) return this.rds.read(queries, call);
    const mark = () =>
      this.rds.apply(
        change.addFile(this.layout.inPool(`${this.layout.tombstonesDir()}/${id}.${Date.now()}`)),
        queries,
        call,
      );
    try {
      try {
        const [, ...results] = await mark();
        return results as QueryResults<Q>;
      } catch (err) {
        if (!isRdsError(err, "not-found") || !(await this.directories.ensureTombstones(call))) throw err;
        const [, ...results] = await mark();
        return results as QueryResults<Q>;
      }
    } catch (err) {
      // Any other failure fails the delete: the CO retries it, and the retry leaves the mark.
      if (!isRdsError(err, "no-space")) throw err;
      this.logger.warn(
        { id, err: err.message },
        "could not leave the delete's mark; a command that RouterOS runs late could leave a copy behind",
      );
      return this.rds.read(queries, call);
    }
  }

  /** Drops marks — 1 round trip per 100; none for none. */
  async clear(marks: readonly Tombstone[], call: CallOptions): Promise<void> {
    for (const part of chunks(marks, 100)) {
      await this.rds.apply(change.removeFiles(part.map((m) => m.name)), [], call);
    }
  }

  /**
   * Which of these ids have anything on the RDS that `removeLeftovers` could be about (for a
   * snapshot id a snapshot subvolume; for a volume id its `/disk` item, subvolume, directory,
   * image or snapshot directory) — 1 round trip per 50 ids, so a sweep over many marks whose
   * objects stayed gone costs a few listings, not a few per mark.
   */
  async present(ids: readonly string[], call: CallOptions): Promise<Set<string>> {
    const { layout, rds } = this;
    const found = new Set<string>();
    for (const part of chunks(ids, 50)) {
      const volumeIds = part.filter((id) => isVolumeId(id));
      const files = volumeIds.flatMap((id) => [
        layout.inPool(layout.volumeSubvolume(id)),
        layout.volumeImage(id),
        layout.inPool(layout.volumeSnapshotsDir(id)),
      ]);
      const named = query.subvolumesNamedAny(part, { fs: layout.fsLabel, proplist: ["name", "fullname"] });
      const [subvolumes, disks, listed] =
        volumeIds.length === 0
          ? [...(await rds.read([named], call)), [], []]
          : await rds.read([named, query.disksWithSlots(volumeIds), query.filesNamed(files)], call);
      for (const subvolume of subvolumes) {
        const snapshot = layout.parseSnapshotSubvolume(subvolume.fullname);
        if (snapshot !== undefined) found.add(snapshot.snapshotId);
        const volumeId = layout.parseVolumeSubvolume(subvolume.fullname);
        if (volumeId !== undefined) found.add(volumeId);
      }
      for (const disk of disks) found.add(disk.slot);
      for (const file of listed) {
        const id = volumeIds.find((v) => file.name.includes(`/${v}`));
        if (id !== undefined) found.add(id);
      }
    }
    return new Set(ids.filter((id) => found.has(id)));
  }

  /**
   * Before a create of a marked name (the caller holds the id's lock): removes what a late command
   * re-created since the delete, then the marks, so the create starts from nothing and the sweep
   * leaves what it makes alone.
   */
  async reclaimForCreate(id: string, marks: readonly Tombstone[], call: CallOptions): Promise<void> {
    const done = await this.removeLeftovers(id, marks, call);
    if (done.kept.length > 0) {
      this.logger.warn(
        { id, kept: done.kept },
        "a deleted name holds something no late command of ours made",
      );
    }
    await this.clear(marks, call);
  }

  /**
   * Removes what a late command of ours could have re-created under a deleted id, and nothing
   * else (the caller holds the id's lock and has seen its mark):
   * - a snapshot: a read-only snapshot subvolume of the layout (it cannot hold newer data);
   * - a volume: its `/disk` item only while the comment still carries a create attempt's token
   *   (a late `/disk add` of an attempt no retry confirmed; a volume handed out by a create after
   *   the delete would have cleared the mark first), fenced on that comment; its subvolume by uuid
   *   once no disk uses it; the plain directory and image a `/disk add` leaves when RouterOS made
   *   the parent directories itself; and the volume's snapshot directory once nothing is in it.
   * Every remove is fenced, so that should RouterOS run it late, it cannot take what a later
   * create makes again under the name. A snapshot or volume subvolume made before the earliest of
   * `marks` reached the RDS (router clock, both) is not a late command's after that delete: it is
   * left alone (a delete's mark that itself ran late, after a create of the name).
   */
  async removeLeftovers(id: string, marks: readonly Tombstone[], call: CallOptions): Promise<Reclaimed> {
    const since = earliest(marks);
    return isSnapshotId(id)
      ? this.#snapshotLeftovers(id, since, call)
      : this.#volumeLeftovers(id, since, call);
  }

  async #snapshotLeftovers(snapshotId: string, since: Date | null, call: CallOptions): Promise<Reclaimed> {
    const { layout, rds } = this;
    const fs = layout.fsLabel;
    const done: Reclaimed = { removed: [], kept: [] };
    const [named] = await rds.read([query.subvolumesNamed(snapshotId, { fs })], call);
    for (const subvolume of named) {
      const location = layout.parseSnapshotSubvolume(subvolume.fullname);
      if (location === undefined || location.snapshotId !== snapshotId) continue;
      if (!subvolume.readOnly || subvolume.uuid === null || madeBefore(subvolume, since)) {
        done.kept.push(subvolume.fullname);
        continue;
      }
      await rds.removeSubvolume(subvolume.fullname, { ...call, fs, uuid: subvolume.uuid });
      done.removed.push(subvolume.fullname);
      await this.directories.pruneVolumeSnapshots(location.sourceVolumeId, call, true);
    }
    return done;
  }

  async #volumeLeftovers(volumeId: string, since: Date | null, call: CallOptions): Promise<Reclaimed> {
    const { layout, rds } = this;
    const fs = layout.fsLabel;
    const done: Reclaimed = { removed: [], kept: [] };
    const listings = await readListings(rds, layout, { kind: "volume", volumeId }, call);
    const found = buildInventory(layout, listings).volumes.get(volumeId);
    if (found?.subvolume && madeBefore(found.subvolume, since)) {
      done.kept.push(found.subvolume.fullname);
      return done;
    }
    if (found !== undefined) {
      let diskLeft = false;
      const { disk, subvolume } = found;
      if (disk !== null) {
        const ours = disk.filePath !== null && layout.isVolumeImage(volumeId, disk.filePath);
        const attempt = decodeVolumeComment(disk.comment ?? undefined)?.attempt;
        if (ours && attempt !== undefined && disk.comment !== null) {
          await rds.removeDisk(volumeId, { ...call, comment: disk.comment });
          done.removed.push(`/disk ${volumeId}`);
        } else {
          diskLeft = true;
          done.kept.push(`/disk ${volumeId}`);
        }
      }
      if (!diskLeft && subvolume !== null) {
        if (subvolume.uuid === null) {
          done.kept.push(subvolume.fullname);
        } else {
          await rds.removeSubvolume(subvolume.fullname, { ...call, fs, uuid: subvolume.uuid });
          done.removed.push(subvolume.fullname);
        }
      }
      if (!diskLeft && subvolume === null && found.strangers.length === 0) {
        // What `/disk add` leaves when RouterOS made the missing directories itself.
        if (found.image !== null) {
          await rds.removeFile(layout.volumeImage(volumeId), call);
          done.removed.push(found.image.name);
        }
        if (found.directory !== null) {
          await rds.removeFile(layout.inPool(layout.volumeSubvolume(volumeId)), call);
          done.removed.push(found.directory.name);
        }
      }
    }
    // A late create also makes the volume's snapshot directory; it goes once nothing is in it.
    await this.directories.pruneVolumeSnapshots(volumeId, call, true);
    return done;
  }
}

/** When the earliest of these marks reached the RDS; null when none says. */
function earliest(marks: readonly Tombstone[]): Date | null {
  let first: Date | null = null;
  for (const m of marks)
    if (m.landedAt !== null && (first === null || m.landedAt < first)) first = m.landedAt;
  return first;
}

/** Made in an earlier second than `since` (both printed to the second by the router's clock). */
function madeBefore(subvolume: SubvolumeInfo, since: Date | null): boolean {
  return since !== null && subvolume.creationTime !== null && subvolume.creationTime < since;
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
