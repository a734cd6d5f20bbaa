import type { Logger } from "pino";
import { type CallOptions, change, type DiskInfo, FILE_SIZE_GRANULARITY, isRdsError } from "../rds/index.js";
import type { Directories } from "./directories.js";
import type { Layout } from "./layout.js";
import { type ContentSource, decodeVolumeComment, encodeVolumeComment } from "./metadata.js";
import type { StorageRds } from "./rds-port.js";

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
}

/** What a new volume starts from: nothing, or the image in another subvolume. */
export type VolumeSeed =
  | { kind: "empty" }
  | { kind: "copy"; source: ContentSource; subvolume: string; sizeBytes: bigint };

export interface VolumePlan {
  volumeId: string;
  sizeBytes: bigint;
  seed: VolumeSeed;
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
  nvmePort: number;
  nqnPrefix: string;
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
   * Creates the subvolume, the per-volume snapshot directory and the `/disk` item, and grows a
   * copied image when more was asked for. On a definite failure everything this call made is
   * removed again before the error is thrown; after an unknown outcome nothing is touched, and the
   * caller's retry re-reads the state.
   */
  async create(plan: VolumePlan, call: CallOptions): Promise<VolumeRecord> {
    const { layout, directories } = this.options;
    const id = plan.volumeId;
    // Removing a subvolume that is not there is a no-op, so this undo is safe from the start.
    const undo: Undo[] = [
      (c) => this.rds.removeSubvolume(layout.volumeSubvolume(id), { ...c, fs: layout.fsLabel }),
    ];
    try {
      await this.#makeSubvolume(plan, call);
      if (await directories.ensureVolumeSnapshots(id, call)) {
        undo.unshift((c) => this.rds.removeFile(layout.inPool(layout.volumeSnapshotsDir(id)), c));
      }
      let disk = await this.#addDisk(plan, call);
      undo.unshift((c) => this.rds.removeDisk(id, c));
      if (plan.seed.kind === "copy" && (disk.fileSize ?? 0n) < plan.sizeBytes) {
        disk = await this.rds.setDiskFileSize(id, plan.sizeBytes, call);
      }
      return this.#record(id, disk);
    } catch (err) {
      await this.#rollBack(id, err, undo);
      throw err;
    }
  }

  /** Grows the image to `bytes` (never shrinks) and returns what RouterOS then reports — 2 round trips. */
  async grow(volumeId: string, bytes: bigint, call: CallOptions): Promise<VolumeRecord> {
    return this.#record(volumeId, await this.rds.setDiskFileSize(volumeId, bytes, call));
  }

  /**
   * Removes the `/disk` item, then the subvolume (RouterOS keeps the file after `/disk remove`; it
   * goes with the subvolume), then the per-volume snapshot directory if no snapshot is left in it.
   * Snapshots are separate subvolumes and stay usable. Every step is idempotent, so a retry after
   * any failure finishes the job.
   */
  async delete(volumeId: string, call: CallOptions): Promise<void> {
    const { layout, directories } = this.options;
    const disk = await this.rds.getDisk(volumeId, call);
    if (disk !== null) {
      this.#checkOwned(volumeId, disk);
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

  async #makeSubvolume(plan: VolumePlan, call: CallOptions): Promise<void> {
    const { layout, directories } = this.options;
    const fs = layout.fsLabel;
    const target = layout.volumeSubvolume(plan.volumeId);
    const { seed } = plan;
    const attempt = async () => {
      if (seed.kind === "empty") await this.rds.createSubvolume({ fs, fullname: target }, call);
      else await this.rds.snapshotSubvolume({ fs, source: seed.subvolume, target, readOnly: false }, call);
    };
    try {
      await attempt();
    } catch (err) {
      if (isRdsError(err, "already-exists")) {
        // No `/disk` item uses it (the caller looked): the remains of an unfinished create or delete.
        this.options.logger.warn(
          { volumeId: plan.volumeId },
          "removing the subvolume of an unfinished volume",
        );
        await this.rds.removeSubvolume(target, { ...call, fs });
      } else if (!isRdsError(err, "not-found") || !(await directories.ensureBase(call))) {
        throw err;
      }
      await attempt();
    }
  }

  async #addDisk(plan: VolumePlan, call: CallOptions): Promise<DiskInfo> {
    const { layout, nvmePort } = this.options;
    return this.rds.addFileDisk(
      {
        slot: plan.volumeId,
        filePath: layout.volumeImage(plan.volumeId),
        // A copied image is attached as it is; RouterOS then takes the file's own size.
        fileSize: plan.seed.kind === "empty" ? plan.sizeBytes : undefined,
        nvme: { port: nvmePort, nqn: this.nqnFor(plan.volumeId) },
        comment: encodeVolumeComment({ source: plan.seed.kind === "copy" ? plan.seed.source : undefined }),
      },
      call,
    );
  }

  async #rollBack(volumeId: string, cause: unknown, undo: readonly Undo[]): Promise<void> {
    if (isRdsError(cause, "outcome-unknown")) return;
    // Its own budget and no cancellation: the cleanup should finish even when the caller gave up.
    const call: CallOptions = { deadline: Date.now() + ROLLBACK_BUDGET_MS };
    for (const step of undo) {
      try {
        await step(call);
      } catch (err) {
        // The next create or delete of this id clears what is left.
        this.options.logger.warn({ volumeId, err }, "could not undo part of a failed volume create");
        return;
      }
    }
  }

  /** A `/disk` item named like our volume but pointing elsewhere is not ours to change. */
  #checkOwned(volumeId: string, disk: DiskInfo): void {
    const { layout } = this.options;
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
    return { volumeId, sizeBytes, source: meta?.source, nqn: disk.nqn ?? this.nqnFor(volumeId) };
  }
}
