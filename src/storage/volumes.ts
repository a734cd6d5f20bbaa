import { randomBytes } from "node:crypto";
import type { Logger } from "pino";
import {
  type CallOptions,
  type Change,
  change,
  type DiskInfo,
  FILE_SIZE_GRANULARITY,
  type FileInfo,
  type FollowUp,
  isRdsError,
  type Query,
  query,
  RdsError,
  roundUpFileSize,
  type SubvolumeInfo,
} from "../rds/index.js";
import type { Directories } from "./directories.js";
import { allowedHosts, applyExport, exportOf, type VolumeExport } from "./exports.js";
import { isVolumeId, VOLUME_ID_PREFIX } from "./ids.js";
import type { Layout } from "./layout.js";
import {
  type ContentSource,
  decodeVolumeComment,
  encodeVolumeComment,
  hostTag,
  type KubernetesNames,
} from "./metadata.js";
import type { StorageRds } from "./rds-port.js";
import type { Tombstone, Tombstones } from "./tombstones.js";

/**
 * Volumes on the RDS: a subvolume `<root>/vols/<id>` holding `disk.img`, and a `/disk` item of the
 * same name that exports the image over NVMe/TCP. The `/disk` item is made last and removed
 * first, so its presence is what "the volume exists" means; a subvolume without it is the
 * remains of an unfinished create or delete, which the next create or delete of that id clears.
 */

export interface VolumeRecord {
  volumeId: string;
  /** Exact size of the image, as RouterOS reports it. */
  sizeBytes: bigint;
  source: ContentSource | undefined;
  nqn: string;
  /** The `/disk` comment as RouterOS printed it. */
  comment: string | undefined;
  /** Set while the create attempt that made the volume is unconfirmed (see `confirm`). */
  attempt: string | undefined;
  /** The PV and claim it was made for, when the provisioner said. */
  names: KubernetesNames | undefined;
  /** Which hosts may connect (see exports.ts). */
  export: VolumeExport;
  /** `hostTag`s of the hosts it is published to read-only (metadata.ts). */
  readOnlyHosts: readonly string[];
}

/**
 * What a new volume starts from: nothing, or the image in another subvolume (`sizeBytes`: the
 * image's size when it is known before the copy, as a clone's source disk shows it).
 */
export type VolumeSeed =
  | { kind: "empty" }
  | { kind: "copy"; source: ContentSource; subvolume: string; sizeBytes?: bigint | undefined };

export interface VolumePlan {
  volumeId: string;
  /**
   * The image's size: given, or chosen from the copied image's exact size. A choice that throws
   * refuses the volume; what was made for it is removed first.
   */
  sizeBytes: bigint | ((imageBytes: bigint) => bigint);
  seed: VolumeSeed;
  /** Recorded in the `/disk` comment so an operator can match the disk to its PV. */
  names?: KubernetesNames | undefined;
}

/** CreateVolume's first look (`VolumeStore.lookup`). */
export interface VolumeLookup {
  record: VolumeRecord | undefined;
  /** The marks a delete of this id left. */
  marks: Tombstone[];
  /** Asked with a content source: where it is (undefined: missing), and the pool's free bytes. */
  source?: SourceFound;
  /** Asked with `makeEmpty`: the new empty volume's subvolume made in the same line, or why not. */
  early?: EarlySubvolume;
}

/** A subvolume made in CreateVolume's first line (`VolumeStore.lookup`), or the error it met. */
export type EarlySubvolume = { made: MadeSubvolume } | { error: RdsError };

export interface SourceFound {
  /** The subvolume a restore or clone copies, or undefined when the source does not exist. */
  subvolume: string | undefined;
  /** The source image's size when the lookup shows it (a clone's source disk); else undefined. */
  sizeBytes: bigint | undefined;
  freeBytes: bigint;
}

/**
 * The finest size a volume image can have: the disk's 4 KiB block, unless the RouterOS client sizes
 * files more coarsely (it rounds every file size up to its granularity).
 */
export const IMAGE_SIZE_STEP = FILE_SIZE_GRANULARITY > 4096n ? FILE_SIZE_GRANULARITY : 4096n;

/** One step of undoing a failed create. */
type Undo = (call: CallOptions) => Promise<void>;

const ROLLBACK_BUDGET_MS = 30_000;

export interface VolumeStoreOptions {
  layout: Layout;
  directories: Directories;
  tombstones: Tombstones;
  nvmePort: number;
  nqnPrefix: string;
  /** See `StorageOptions.fenceNewVolumes`. */
  fenceNewVolumes: boolean;
  logger: Logger;
}

export class VolumeStore {
  constructor(
    private readonly rds: StorageRds,
    private readonly options: VolumeStoreOptions,
  ) {}

  nqnFor(volumeId: string): string {
    return `${this.options.nqnPrefix}:${volumeId}`;
  }

  /** The volume with this id, or undefined — 1 round trip. */
  async find(volumeId: string, call: CallOptions): Promise<VolumeRecord | undefined> {
    const disk = await this.rds.getDisk(volumeId, call);
    return disk === null ? undefined : this.#record(volumeId, disk);
  }

  /**
   * CreateVolume's first look: the volume, and the marks a delete of this id left; with a content
   * source also that source (a snapshot by its name, a volume by its `/disk` item) and the pool's
   * free bytes — all in one exec line, 1 round trip.
   */
  async lookup(
    volumeId: string,
    call: CallOptions,
    source?: ContentSource,
    options: { makeEmpty?: boolean } = {},
  ): Promise<VolumeLookup> {
    const { tombstones, layout } = this.options;
    const own = [query.disk(volumeId), tombstones.query(volumeId)] as const;
    const found = (disk: DiskInfo | null, marked: FileInfo[]) => ({
      record: disk === null ? undefined : this.#record(volumeId, disk),
      marks: tombstones.parse(marked, volumeId),
    });
    if (source === undefined && options.makeEmpty) return this.#lookupMakingEmpty(volumeId, call, own, found);
    if (source === undefined) {
      const [disk, marked] = await this.rds.read(own, call);
      return found(disk, marked);
    }
    const pool = query.poolAt(layout.pool);
    if (source.kind === "snapshot") {
      const named = query.subvolumesNamed(source.snapshotId, { fs: layout.fsLabel });
      const [disk, marked, subvolumes, capacity] = await this.rds.read([...own, named, pool], call);
      const location = subvolumes
        .map((s) => layout.parseSnapshotSubvolume(s.fullname))
        .find((l) => l?.snapshotId === source.snapshotId);
      const subvolume =
        location === undefined
          ? undefined
          : layout.snapshotSubvolume(location.sourceVolumeId, location.snapshotId);
      return {
        ...found(disk, marked),
        source: { subvolume, sizeBytes: undefined, freeBytes: this.#free(capacity) },
      };
    }
    const [disk, marked, sourceDisk, capacity] = await this.rds.read(
      [...own, query.disk(source.volumeId), pool],
      call,
    );
    const copied = sourceDisk === null ? undefined : this.#record(source.volumeId, sourceDisk);
    return {
      ...found(disk, marked),
      source: {
        subvolume: copied === undefined ? undefined : layout.volumeSubvolume(source.volumeId),
        sizeBytes: copied?.sizeBytes,
        freeBytes: this.#free(capacity),
      },
    };
  }

  /**
   * `lookup` of a new empty volume that also makes its subvolume (and snapshot directory) after the
   * reads, in the same line — 1 round trip, which saves CreateVolume one: the reads answer whatever
   * the add does; when they show that nothing is to be made (a retry, a delete's marks, a volume
   * of that name elsewhere), the caller discards what the add made (`discard`), and an add that
   * failed (the remains of an unfinished create, a missing parent) is handled by `create` as its
   * own first attempt's failure.
   */
  async #lookupMakingEmpty(
    volumeId: string,
    call: CallOptions,
    own: readonly [Query<DiskInfo | null>, Query<FileInfo[]>],
    found: (disk: DiskInfo | null, marked: FileInfo[]) => Omit<VolumeLookup, "source" | "early">,
  ): Promise<VolumeLookup> {
    const plan: VolumePlan = { volumeId, sizeBytes: 0n, seed: { kind: "empty" } };
    const folder = this.#folderFollowUp(volumeId);
    const { reads, change: outcome } = await this.rds.readThenApply(
      own,
      this.#subvolumeChange(plan),
      call,
      folder,
    );
    const early: EarlySubvolume =
      "error" in outcome
        ? { error: outcome.error }
        : { made: { subvolume: outcome.result, image: null, folder: folder.settled() } };
    try {
      return { ...found(...reads), early };
    } catch (err) {
      await this.discard(early, volumeId, call);
      throw err;
    }
  }

  /**
   * Removes a subvolume `lookup` made that is not to be used, by its uuid (a late remove cannot
   * take one made again under the name) — 1 round trip, none when it made nothing. Its snapshot
   * directory stays, as after any failed create.
   */
  async discard(early: EarlySubvolume | undefined, volumeId: string, call: CallOptions): Promise<void> {
    if (early === undefined || !("made" in early)) return;
    const { layout } = this.options;
    const uuid = early.made.subvolume.uuid;
    if (uuid === null) return;
    await this.rds.removeSubvolume(layout.volumeSubvolume(volumeId), { ...call, fs: layout.fsLabel, uuid });
  }

  #free(capacity: { free: bigint } | null): bigint {
    if (capacity === null)
      throw new RdsError("not-found", `no disk is mounted at ${this.options.layout.pool}`, {
        retryable: false,
      });
    return capacity.free;
  }

  /**
   * Creates the subvolume, the per-volume snapshot directory and the `/disk` item, and grows a
   * copied image when more was asked for — 2 round trips (the subvolume with its read-back, the
   * copied image's size and the directory in one line; the `/disk` item with its read-back), 1
   * with the subvolume made by the look-up (`early`: what it made, or the error it met), 1 more to
   * grow. On a definite failure what this call made is removed
   * again before the error is thrown; after an unknown outcome nothing is touched, and the
   * caller's retry re-reads the state. The undo is fenced, because RouterOS may run it after the
   * driver gave up on it: the `/disk` item only while it still carries this attempt's token, the
   * subvolume only by its uuid. The per-volume snapshot directory stays (empty, swept later): a
   * late remove of it could meet snapshots taken since, on a RouterOS that removes recursively.
   */
  async create(plan: VolumePlan, call: CallOptions, early?: EarlySubvolume): Promise<VolumeRecord> {
    const { layout, directories } = this.options;
    const id = plan.volumeId;
    const { seed } = plan;
    // A size refused on what is known already (a clone's source size) is refused before anything is made.
    if (seed.kind === "copy" && seed.sizeBytes !== undefined) sizeOf(plan, seed.sizeBytes);
    const attempt = randomBytes(8).toString("hex");
    const undo: Undo[] = [];
    try {
      const made = await this.#makeSubvolume(plan, call, early);
      if (made.subvolume.uuid !== null) {
        const uuid = made.subvolume.uuid;
        undo.unshift((c) =>
          this.rds.removeSubvolume(layout.volumeSubvolume(id), { ...c, fs: layout.fsLabel, uuid }),
        );
      }
      const imageBytes = seed.kind === "copy" ? await this.#copiedSize(plan, made.image, call) : undefined;
      const sizeBytes = sizeOf(plan, imageBytes);
      // The directory travelled with the subvolume; made apart only when that did not settle it.
      if (!made.folder) await directories.ensureVolumeSnapshots(id, call);
      const comment = encodeVolumeComment({
        source: seedSource(plan.seed),
        attempt,
        ...(plan.names ? { names: plan.names } : {}),
      });
      // Registered before the add: a definite error after RouterOS made the item must not leave it.
      undo.unshift((c) => this.rds.removeDisk(id, { ...c, comment }));
      let disk = await this.#addDisk(plan, sizeBytes, imageBytes, comment, call);
      if (seed.kind === "copy" && (disk.fileSize ?? 0n) < sizeBytes) {
        disk = await this.rds.setDiskFileSize(id, sizeBytes, call);
      }
      return this.#record(id, disk);
    } catch (err) {
      throw await this.#rollBack(id, err, undo);
    }
  }

  /**
   * Makes a volume found by a retried CreateVolume safe to hand out: while its `/disk` comment
   * carries the token of the attempt that made it, an undo of that attempt that RouterOS has not
   * run yet could still remove it. Replacing the comment (only if unchanged) takes it out of that
   * undo's reach — 1 round trip, and none for a volume already confirmed. A volume that went away
   * meanwhile is reported as a state to read again.
   */
  async confirm(record: VolumeRecord, call: CallOptions): Promise<VolumeRecord> {
    if (record.attempt === undefined || record.comment === undefined) return record;
    const confirmed = encodeVolumeComment({
      source: record.source,
      ...(record.names ? { names: record.names } : {}),
      readOnlyHosts: record.readOnlyHosts,
    });
    try {
      return this.#record(
        record.volumeId,
        await this.rds.setDiskComment(record.volumeId, record.comment, confirmed, call),
      );
    } catch (err) {
      if (!isRdsError(err, "not-found")) throw err;
      throw new RdsError(
        "transient",
        `volume ${record.volumeId} was removed while being confirmed (the undo of an earlier attempt); retry`,
        { retryable: false },
      );
    }
  }

  /**
   * Grows the image to `bytes` (never shrinks) and returns what RouterOS then reports — 1 round
   * trip. What `file-size=` does to an exported disk is unknown: should RouterOS refuse it, or
   * leave the size as it was, the volume is reported in use (`VolumeInUseError`) rather than
   * grown — 1 more round trip, only then.
   */
  async grow(volumeId: string, bytes: bigint, call: CallOptions): Promise<VolumeRecord> {
    try {
      return this.#record(volumeId, await this.rds.setDiskFileSize(volumeId, bytes, call));
    } catch (err) {
      if (!isRdsError(err) || (err.kind !== "protocol" && err.kind !== "invalid-input")) throw err;
      const disk = await this.rds.getDisk(volumeId, call);
      if (disk === null || !disk.nvmeExport || (disk.fileSize ?? 0n) >= roundUpFileSize(bytes)) throw err;
      throw new VolumeInUseError(
        `RouterOS did not grow the exported disk of volume ${volumeId} (${err.message}); it can grow once the volume is unpublished`,
      );
    }
  }

  /**
   * Removes the `/disk` item, then the subvolume (RouterOS keeps the file after `/disk remove`; it
   * goes with the subvolume), then the per-volume snapshot directory if no snapshot is left in it.
   * Snapshots are separate subvolumes and stay usable. Every step is idempotent, so a retry after
   * any failure finishes the job. `refuse` may throw to keep a volume that is still exported.
   */
  async delete(volumeId: string, call: CallOptions, refuse?: (current: VolumeExport) => void): Promise<void> {
    const { layout, directories, tombstones } = this.options;
    // Marked as deleted in the same line as the first read (see tombstones.ts). A delete that
    // `refuse` stops leaves its mark too; the sweep keeps what was made before a mark and drops it.
    const [disk] = await tombstones.markThen(volumeId, [query.disk(volumeId)], call);
    if (disk !== null) {
      this.#checkOwned(volumeId, disk);
      refuse?.(exportOf(disk));
      await this.rds.removeDisk(volumeId, call);
    }
    // The remove and the reads that say whether the snapshot directory can go: 1 round trip.
    const [, ...remains] = await this.rds.apply(
      change.removeSubvolume(layout.volumeSubvolume(volumeId), { fs: layout.fsLabel }),
      directories.remainsQueries(volumeId),
      call,
    );
    // Without a `/disk` item this call is a retry (or the volume was never finished): only the
    // directory is left to tidy, and a RouterOS that will not remove it must not block the delete.
    await directories.pruneIfOrphaned(volumeId, remains, call, disk === null);
  }

  /**
   * Lets exactly `hosts` connect to the volume (none: fenced), from the state in `volume`, which
   * the caller read under the volume's lock. `readOnlyHosts` (host NQNs, a subset of `hosts`;
   * default: those of `hosts` already recorded read-only) is written to the comment in the same
   * `/disk set`. Returns the volume as RouterOS shows it afterwards.
   */
  async setAllowedHosts(
    volume: VolumeRecord,
    hosts: readonly string[],
    call: CallOptions,
    readOnlyHosts?: readonly string[],
  ): Promise<VolumeRecord> {
    const tags = readOnlyHosts
      ? readOnlyHosts.map(hostTag)
      : hosts.map(hostTag).filter((t) => volume.readOnlyHosts.includes(t));
    const comment = encodeVolumeComment({
      source: volume.source,
      ...(volume.attempt !== undefined ? { attempt: volume.attempt } : {}),
      ...(volume.names ? { names: volume.names } : {}),
      readOnlyHosts: tags,
    });
    // A comment this driver did not write is left as it is (it then records no read-only host).
    const ours = volume.comment === undefined || decodeVolumeComment(volume.comment) !== undefined;
    const disk = await applyExport(
      this.rds,
      volume.volumeId,
      volume.export,
      hosts,
      call,
      !ours || comment === volume.comment ? undefined : comment,
    );
    return disk === undefined ? volume : this.#record(volume.volumeId, disk);
  }

  /**
   * The volumes whose export names `hostNqn` (what counts against a node's attach limit): one
   * listing of the driver's `/disk` items.
   */
  async publishedTo(hostNqn: string, call: CallOptions): Promise<string[]> {
    const disks = await this.rds.listDisks({ slotPrefix: VOLUME_ID_PREFIX }, call);
    return disks
      .filter((d) => isVolumeId(d.slot) && allowedHosts(exportOf(d)).includes(hostNqn))
      .map((d) => d.slot);
  }

  /**
   * Removes what `/disk remove` leaves of a volume that has no subvolume (RouterOS keeps a disk's
   * file): its image, then the plain directory that held it. The caller has made sure nothing else
   * is in that directory.
   */
  async removeLeftoverFiles(
    volumeId: string,
    found: { image: boolean; directory: boolean },
    call: CallOptions,
  ): Promise<void> {
    const { layout } = this.options;
    if (found.image) await this.rds.removeFile(layout.volumeImage(volumeId), call);
    if (found.directory) await this.rds.removeFile(layout.inPool(layout.volumeSubvolume(volumeId)), call);
  }

  /**
   * The volume's subvolume (empty, or a writable snapshot of the seed) with its read-back, the
   * copied image, and the volume's snapshot directory, in one exec line — 1 round trip. The
   * directory is made after the subvolume (as `sweepVolumeSnapshots` needs) and only once it is
   * made, where RouterOS stops a line at an error; where it runs on, a directory made after a
   * failed add is what a failed create leaves anyway. `folder` is false when the directory's
   * outcome is not settled (the caller then makes it apart).
   */
  async #makeSubvolume(plan: VolumePlan, call: CallOptions, early?: EarlySubvolume): Promise<MadeSubvolume> {
    const { layout, directories } = this.options;
    const target = layout.volumeSubvolume(plan.volumeId);
    const { seed } = plan;
    const folder = this.#folderFollowUp(plan.volumeId);
    const images: readonly Query<FileInfo | null>[] =
      seed.kind === "copy" ? [query.file(layout.volumeImage(plan.volumeId))] : [];
    const make = this.#subvolumeChange(plan);
    const attempt = async (): Promise<MadeSubvolume> => {
      const [subvolume, image] = await this.rds.apply(make, images, call, folder);
      return { subvolume, image: image ?? null, folder: folder.settled() };
    };
    try {
      if (early === undefined) return await attempt();
      if ("made" in early) return early.made;
      throw early.error;
    } catch (err) {
      await this.#refuseIfSeedGone(seed, err, call);
      if (isRdsError(err, "already-exists")) {
        await this.#removeRemains(plan.volumeId, target, call);
      } else if (
        // A missing parent; in unknown words too (making the base directories tells whether any was missing).
        !(isRdsError(err, "not-found") || isRdsError(err, "protocol")) ||
        !(await directories.ensureBase(call))
      ) {
        throw err;
      }
      try {
        return await attempt();
      } catch (again) {
        await this.#refuseIfSeedGone(seed, again, call);
        throw again;
      }
    }
  }

  /** The add of the volume's subvolume: empty, or a writable snapshot of the seed. */
  #subvolumeChange(plan: VolumePlan): Change<SubvolumeInfo> {
    const { layout } = this.options;
    const fs = layout.fsLabel;
    const target = layout.volumeSubvolume(plan.volumeId);
    const { seed } = plan;
    return seed.kind === "empty"
      ? change.createSubvolume({ fs, fullname: target })
      : change.snapshotSubvolume({ fs, source: seed.subvolume, target, readOnly: false });
  }

  /**
   * The volume's snapshot directory, sent after its subvolume in the same line; `settled()` says
   * whether it is there now (made, or there already).
   */
  #folderFollowUp(volumeId: string): FollowUp & { settled(): boolean } {
    const { layout } = this.options;
    let folder = false;
    return {
      change: change.addDirectory(layout.inPool(layout.volumeSnapshotsDir(volumeId))),
      outcome: (result) => {
        folder = result === "done" || (result !== "not-run" && result.kind === "already-exists");
      },
      settled: () => folder,
    };
  }

  /**
   * A restore or clone whose source was deleted while this call ran (RouterOS answers a missing
   * `parent=` with an invalid-value error) is NOT_FOUND, as for a source missing from the start —
   * 1 round trip, only on this path.
   */
  async #refuseIfSeedGone(seed: VolumeSeed, err: unknown, call: CallOptions): Promise<void> {
    if (seed.kind !== "copy") return;
    if (!isRdsError(err, "not-found") && !isRdsError(err, "invalid-input")) return;
    const fs = this.options.layout.fsLabel;
    if ((await this.rds.getSubvolume(seed.subvolume, { ...call, fs })) !== null) return;
    const what =
      seed.source.kind === "snapshot"
        ? `snapshot ${seed.source.snapshotId}`
        : `volume ${seed.source.volumeId}`;
    throw new RdsError("not-found", `${what} does not exist (deleted while this volume was made from it)`, {
      retryable: false,
    });
  }

  /**
   * A subvolume without a `/disk` item (the caller looked, under the lock) is what an unfinished
   * create or delete leaves: it was never handed out, since a volume is handed out only with its
   * `/disk` item, and fenced undos cannot remove an item that was. It is removed by its uuid, so
   * this remove, should RouterOS run it late, cannot take the subvolume this call makes next.
   */
  async #removeRemains(volumeId: string, target: string, call: CallOptions): Promise<void> {
    const fs = this.options.layout.fsLabel;
    const remains = await this.rds.getSubvolume(target, { ...call, fs });
    if (remains === null) return;
    this.options.logger.warn(
      { volumeId, uuid: remains.uuid },
      "removing the subvolume of an unfinished volume",
    );
    await this.rds.removeSubvolume(target, { ...call, fs, ...(remains.uuid ? { uuid: remains.uuid } : {}) });
  }

  /**
   * The exact size of a copied image: as read with the subvolume, else as the lookup showed the
   * source, else read now (1 round trip, only then).
   */
  async #copiedSize(plan: VolumePlan, image: FileInfo | null, call: CallOptions): Promise<bigint> {
    if (image?.size !== null && image?.size !== undefined) return image.size;
    if (plan.seed.kind === "copy" && plan.seed.sizeBytes !== undefined) return plan.seed.sizeBytes;
    const again = await this.rds.getFile(this.options.layout.volumeImage(plan.volumeId), call);
    if (again?.size === null || again?.size === undefined)
      throw new Error(`the image copied into volume ${plan.volumeId} reports no size`);
    return again.size;
  }

  async #addDisk(
    plan: VolumePlan,
    sizeBytes: bigint,
    imageBytes: bigint | undefined,
    comment: string,
    call: CallOptions,
  ): Promise<DiskInfo> {
    const { layout, nvmePort } = this.options;
    const image = layout.volumeImage(plan.volumeId);
    const add = (fileSize: bigint | undefined) =>
      this.rds.addFileDisk(
        {
          slot: plan.volumeId,
          filePath: image,
          fileSize,
          // Exported to nobody until ControllerPublishVolume allows a node.
          nvme: { port: nvmePort, nqn: this.nqnFor(plan.volumeId), exported: !this.options.fenceNewVolumes },
          comment,
        },
        call,
      );
    if (plan.seed.kind === "empty" || imageBytes === undefined) return add(sizeBytes);
    // A copied image is attached as it is (documented for an image file; RouterOS takes the file's
    // own size). Should RouterOS insist on `file-size=`, the image's exact size is given.
    try {
      return await add(undefined);
    } catch (err) {
      if (!isRdsError(err, "invalid-input") || !/file-size/.test(err.routerText ?? "")) throw err;
      return add(imageBytes);
    }
  }

  /**
   * Undoes a failed create and returns the error to throw. An undo step whose outcome is unknown
   * is never passed over in silence: the caller gets an outcome-unknown error (UNAVAILABLE, so the
   * CO retries), and the retry reads what is there — the fences keep a late undo from touching
   * anything the retry hands out.
   */
  async #rollBack(volumeId: string, cause: unknown, undo: readonly Undo[]): Promise<unknown> {
    if (isRdsError(cause, "outcome-unknown")) return cause;
    // Its own budget and no cancellation: the cleanup should finish even when the caller gave up.
    const call: CallOptions = { deadline: Date.now() + ROLLBACK_BUDGET_MS };
    for (const step of undo) {
      try {
        await step(call);
      } catch (err) {
        this.options.logger.warn({ volumeId, err }, "could not undo part of a failed volume create");
        if (!isRdsError(err, "outcome-unknown")) return cause; // the next create or delete clears it
        const why = cause instanceof Error ? cause.message : String(cause);
        return new RdsError(
          "outcome-unknown",
          `creating volume ${volumeId} failed (${why}) and undoing it did not finish (${err.message}); retry`,
          { retryable: false },
        );
      }
    }
    return cause;
  }

  /** A `/disk` item named like our volume but pointing elsewhere is not ours to change. */
  #checkOwned(volumeId: string, disk: DiskInfo): void {
    const { layout } = this.options;
    const other = disk.filePath === null ? undefined : layout.poolOfVolumeImage(volumeId, disk.filePath);
    if (other !== undefined && other !== layout.pool) {
      // The same name made in another pool of this driver: a conflict, not a stranger's disk.
      throw new RdsError("already-exists", `volume ${volumeId} is in pool ${other}, not ${layout.pool}`, {
        retryable: false,
      });
    }
    if (disk.filePath === null || !layout.isVolumeImage(volumeId, disk.filePath)) {
      const expected = layout.volumeImage(volumeId);
      throw new Error(
        `disk ${volumeId} uses ${disk.filePath ?? "no file"}, not ${expected}; it was not made by this driver and is left alone`,
      );
    }
  }

  #record(volumeId: string, disk: DiskInfo): VolumeRecord {
    this.#checkOwned(volumeId, disk);
    const sizeBytes = disk.fileSize ?? disk.size;
    if (sizeBytes === null) throw new Error(`disk ${volumeId} reports no size`);
    const meta = decodeVolumeComment(disk.comment ?? undefined);
    if (meta === undefined) {
      this.options.logger.warn(
        { volumeId, comment: disk.comment },
        "volume comment is not ours; assuming no content source",
      );
    }
    return {
      volumeId,
      sizeBytes,
      source: meta?.source,
      nqn: disk.nqn ?? this.nqnFor(volumeId),
      comment: disk.comment ?? undefined,
      attempt: meta?.attempt,
      names: meta?.names,
      export: exportOf(disk),
      readOnlyHosts: meta?.readOnlyHosts ?? [],
    };
  }
}

/** A change RouterOS makes only to a disk that is not exported (ControllerExpandVolume: FAILED_PRECONDITION). */
export class VolumeInUseError extends Error {
  override readonly name = "VolumeInUseError";
}

/** What `#makeSubvolume` made: the subvolume, the copied image, whether the directory is there. */
export interface MadeSubvolume {
  subvolume: SubvolumeInfo;
  image: FileInfo | null;
  folder: boolean;
}

function sizeOf(plan: VolumePlan, imageBytes: bigint | undefined): bigint {
  if (typeof plan.sizeBytes === "bigint") return plan.sizeBytes;
  if (imageBytes === undefined)
    throw new Error(`volume ${plan.volumeId}: no image size to choose a size from`);
  return plan.sizeBytes(imageBytes);
}

function seedSource(seed: VolumeSeed): ContentSource | undefined {
  return seed.kind === "copy" ? seed.source : undefined;
}
