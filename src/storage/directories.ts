import type { Logger } from "pino";
import { type CallOptions, isRdsError, query } from "../rds/index.js";
import { isVolumeId } from "./ids.js";
import type { Layout } from "./layout.js";
import type { StorageRds } from "./rds-port.js";

/**
 * The folders of the layout: `<root>`, `<root>/vols`, `<root>/snaps`, `<root>/deleted` and one
 * `<root>/snaps/<volume id>` per volume. RouterOS does not create parents on its own, so they are
 * made on demand: the first create that finds a parent missing makes it and tries once more.
 *
 * The top folders (`<root>`, `vols`, `snaps`, `deleted`) are made as Btrfs subvolumes: a subvolume
 * nested in a subvolume is documented (`name=Snapshots/Documents-…`), while whether RouterOS takes
 * a `name=` with `/` under plain directories is not known. A volume's snapshot folder is a plain
 * directory, since a subvolume named like the volume would make `parent=<volume id>` ambiguous on
 * a RouterOS that finds `parent=` by last name; where RouterOS refuses a snapshot under a plain
 * directory, the (empty) folder is made again as a subvolume (`nestable`). Folders an earlier
 * version made as plain directories keep working where RouterOS takes such names; both kinds are
 * removed alike.
 */
export class Directories {
  constructor(
    private readonly rds: StorageRds,
    private readonly layout: Layout,
    private readonly logger: Logger,
  ) {}

  /**
   * Makes the base directories, with the one for the deletes' marks, so that a delete need not make
   * it; true when any was missing.
   */
  async ensureBase(call: CallOptions): Promise<boolean> {
    const { layout } = this;
    let made = false;
    for (const dir of [layout.root, layout.volumesDir(), layout.snapshotsDir(), layout.tombstonesDir()]) {
      if (await this.#make(layout.inPool(dir), call, "subvolume")) made = true;
    }
    return made;
  }

  /** Makes `<root>` and `<root>/deleted` (the deletes' marks); true when either was missing. */
  async ensureTombstones(call: CallOptions): Promise<boolean> {
    const { layout } = this;
    let made = false;
    for (const dir of [layout.root, layout.tombstonesDir()]) {
      if (await this.#make(layout.inPool(dir), call, "subvolume")) made = true;
    }
    return made;
  }

  /** Makes `<root>` and `<root>/names` (snapshots' VolumeSnapshot names); true when either was missing. */
  async ensureNames(call: CallOptions): Promise<boolean> {
    let made = false;
    // Made as the marks' directory is.
    for (const dir of [this.layout.root, this.layout.namesDir()]) {
      if (await this.#make(this.layout.inPool(dir), call, "subvolume")) made = true;
    }
    return made;
  }

  /** Makes `<root>/snaps/<volume id>`; true when this call created it. */
  async ensureVolumeSnapshots(volumeId: string, call: CallOptions): Promise<boolean> {
    const dir = this.layout.inPool(this.layout.volumeSnapshotsDir(volumeId));
    try {
      return await this.#make(dir, call, "directory");
    } catch (err) {
      if (!(isRdsError(err, "not-found") || isRdsError(err, "protocol")) || !(await this.ensureBase(call)))
        throw err;
      return this.#make(dir, call, "directory");
    }
  }

  /**
   * Makes `<root>/snaps/<volume id>` a subvolume when it is an empty plain directory: for a RouterOS
   * that refuses a subvolume `name=` under a plain directory. True when it changed anything (the
   * caller then tries its snapshot again); false when it already was a subvolume or is not empty.
   */
  async nestable(volumeId: string, call: CallOptions): Promise<boolean> {
    const { layout } = this;
    const relative = layout.volumeSnapshotsDir(volumeId);
    const dir = layout.inPool(relative);
    const [inside, asSubvolume] = await this.rds.read(
      [
        query.files({ namePrefix: `${dir.replace(/^\/+/, "")}/` }),
        query.subvolume(relative, { fs: layout.fsLabel }),
      ],
      call,
    );
    if (asSubvolume !== null || inside.length > 0) return false;
    this.logger.info(
      { volumeId },
      "RouterOS refuses subvolumes under plain directories; the snapshot folder becomes a subvolume",
    );
    await this.rds.removeFile(dir, call);
    try {
      await this.#make(dir, call, "subvolume");
    } catch (err) {
      // The folder is not left missing on a definite failure: the plain directory comes back (best
      // effort; a later snapshot makes a missing folder anyway).
      if (!isRdsError(err, "outcome-unknown"))
        await this.#make(dir, call, "directory").catch((restoreErr: unknown) =>
          this.logger.warn(
            { volumeId, err: (restoreErr as Error).message },
            "could not restore the snapshot folder",
          ),
        );
      throw err;
    }
    return true;
  }

  /**
   * Removes `<root>/snaps/<volume id>` once it holds no snapshot and the volume is gone. RouterOS
   * refuses to remove a directory that is not empty, so a snapshot taken meanwhile stays safe.
   * `finalAttempt` says the caller has nothing else left to do: a failure RouterOS will repeat is
   * then logged and the empty directory kept, rather than failing every retry of a delete.
   */
  async pruneVolumeSnapshots(volumeId: string, call: CallOptions, finalAttempt = false): Promise<void> {
    const remains = await this.rds.read(this.remainsQueries(volumeId), call);
    await this.pruneIfOrphaned(volumeId, remains, call, finalAttempt);
  }

  /**
   * What decides whether a volume's snapshot directory can go: its snapshots and the volume's
   * subvolume. Reads to send together with the remove that may orphan the directory.
   */
  remainsQueries(volumeId: string) {
    const { layout } = this;
    const fs = layout.fsLabel;
    return [
      query.subvolumes({ fullnamePrefix: `${layout.volumeSnapshotsDir(volumeId)}/`, fs, proplist: ["name"] }),
      this.volumeQuery(volumeId),
    ] as const;
  }

  /** The volume's own subvolume (null once it is deleted): while it exists, its directory stays. */
  volumeQuery(volumeId: string) {
    return query.subvolume(this.layout.volumeSubvolume(volumeId), { fs: this.layout.fsLabel });
  }

  /** `pruneVolumeSnapshots` with the reads of `remainsQueries` already made — 0 or 1 round trip. */
  async pruneIfOrphaned(
    volumeId: string,
    [snapshots, volume]: readonly [readonly unknown[], unknown],
    call: CallOptions,
    finalAttempt = false,
  ): Promise<void> {
    if (snapshots.length > 0 || volume !== null) return;
    await this.#remove(this.layout.inPool(this.layout.volumeSnapshotsDir(volumeId)), call, finalAttempt);
  }

  /**
   * Removes every per-volume snapshot directory whose volume and snapshots are all gone: what a
   * delete leaves when it fails after removing the last snapshot, and a retry can no longer tell
   * which directory that was — 1 round trip, 3 when there are directories, plus one per directory
   * removed. Best effort: a directory RouterOS will not remove is kept.
   * Directories are listed before volumes, and a create makes the subvolume before the directory,
   * so a volume being created is always seen and its directory kept.
   */
  async sweepVolumeSnapshots(call: CallOptions): Promise<void> {
    const { layout, rds } = this;
    const fs = layout.fsLabel;
    const snapsDir = layout.inPool(`${layout.snapshotsDir()}/`).replace(/^\/+/, "");
    const entries = await rds.listFiles({ namePrefix: snapsDir }, call);
    const dirs = entries
      .map((f) => f.name.replace(/^\/+/, "").slice(snapsDir.length))
      .filter((rest) => isVolumeId(rest));
    if (dirs.length === 0) return;
    const [volumes, snapshots] = await Promise.all([
      rds.listSubvolumes({ fullnamePrefix: `${layout.volumesDir()}/`, fs }, call),
      rds.listSubvolumes({ fullnamePrefix: `${layout.snapshotsDir()}/`, fs }, call),
    ]);
    const inUse = new Set<string>();
    for (const v of volumes) inUse.add(v.fullname.slice(layout.volumesDir().length + 1));
    for (const s of snapshots) {
      const location = layout.parseSnapshotSubvolume(s.fullname);
      if (location !== undefined) inUse.add(location.sourceVolumeId);
    }
    for (const volumeId of dirs) {
      if (!inUse.has(volumeId))
        await this.#remove(layout.inPool(layout.volumeSnapshotsDir(volumeId)), call, true);
    }
  }

  /**
   * `/file remove` of an empty directory. Whether RouterOS removes directories at all is not
   * documented; a refusal (`invalid-input`, e.g. "not empty") keeps the directory, and with
   * `finalAttempt` so does any other answer that would come again on a retry.
   */
  async #remove(path: string, call: CallOptions, finalAttempt: boolean): Promise<void> {
    try {
      await this.#removeFolder(path, call);
    } catch (err) {
      const refused = isRdsError(err, "invalid-input") || (finalAttempt && isRdsError(err) && !err.retryable);
      if (!refused) throw err;
      this.logger.warn(
        { path, err: err.message },
        "RouterOS did not remove an empty snapshot directory; it is kept",
      );
    }
  }

  /**
   * A plain folder goes with `/file remove`; one made as a subvolume (RouterOS refuses that with
   * words of its own) with the subvolume — 1 round trip, 3 for a subvolume. Btrfs refuses to delete
   * a subvolume that holds another (a snapshot).
   */
  async #removeFolder(path: string, call: CallOptions): Promise<void> {
    try {
      await this.rds.removeFile(path, call);
    } catch (err) {
      if (!isRdsError(err, "protocol")) throw err;
      const fs = this.layout.fsLabel;
      const folder = await this.rds.getSubvolume(this.#relative(path), { ...call, fs });
      if (folder === null) throw err;
      await this.rds.removeSubvolume(this.#relative(path), {
        ...call,
        fs,
        ...(folder.uuid ? { uuid: folder.uuid } : {}),
      });
    }
  }

  async #make(path: string, call: CallOptions, kind: "subvolume" | "directory"): Promise<boolean> {
    try {
      if (kind === "directory") await this.rds.addDirectory(path, call);
      else await this.rds.createSubvolume({ fs: this.layout.fsLabel, fullname: this.#relative(path) }, call);
      return true;
    } catch (err) {
      if (isRdsError(err, "already-exists")) return false;
      // A plain directory of an earlier version is not a subvolume: a clash in words nobody knows.
      if (isRdsError(err, "protocol") && (await this.rds.getFile(path, call)) !== null) return false;
      throw err;
    }
  }

  /** `/<pool>/a/b` as a path relative to the filesystem root (`a/b`), as subvolumes name it. */
  #relative(path: string): string {
    const prefix = `/${this.layout.pool}/`;
    return path.startsWith(prefix) ? path.slice(prefix.length) : path.replace(/^\/+/, "");
  }
}
