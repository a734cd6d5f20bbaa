import { stat } from "node:fs/promises";
import path from "node:path";
import { formatDateTime } from "../sizes.js";
import { run } from "./run.js";
import { subvolumeInfo } from "./subvolume-info.js";

/** One subvolume as read from `btrfs subvolume list`, with paths relative to the filesystem root. */
export interface Subvolume {
  readonly id: number;
  readonly generation: bigint;
  readonly topLevel: number;
  readonly path: string;
  readonly uuid: string;
  readonly parentUuid: string | undefined;
  readonly receivedUuid: string | undefined;
  readonly readOnly: boolean;
  /** `YYYY-MM-DD HH:MM:SS`, router (host) local time. */
  readonly creationTime: string;
}

const LIST_LINE =
  /^ID (\d+) gen (\d+) cgen \d+ parent \d+ top level (\d+) parent_uuid (\S+)\s+received_uuid (\S+)\s+uuid (\S+) path (.*)$/;
const SNAPSHOT_LINE = /^ID (\d+) gen \d+ (?:cgen \d+ )?top level \d+ otime (\S+ \S+) path /;
const READONLY_LINE = /^ID (\d+) /;

/** Listings only read: safe to run again when the command helper fails with one in flight. */
const READ = { repeatable: true } as const;

/** A full re-read after this long picks up generations that moved on since the last one. */
const CACHE_MAX_AGE_MS = 30_000;

/**
 * Btrfs subvolume operations on the mounted pool. Listing reads the whole table with three `btrfs`
 * invocations (never one per subvolume) and caches it; changes made through here patch the cache with
 * the changed subvolume's own record (one ioctl, subvolume-info.ts), so creating a snapshot next to
 * 10 000 others costs what it costs next to none.
 */
export class Btrfs {
  private cache: Promise<Subvolume[]> | undefined;
  private cachedAt = 0;
  /** Creation times of plain subvolumes, from the birth time of their root directory; immutable. */
  private readonly birthTimes = new Map<string, string>();
  /** The subvolumes of the last full read, by id. */
  private lastRead = new Map<number, Subvolume>();
  /** Cleared the first time the ioctl could not be made (no Perl, an old kernel). */
  private ioctlUsable = true;

  constructor(readonly mountPath: string) {}

  invalidate(): void {
    this.cache = undefined;
  }

  list(): Promise<Subvolume[]> {
    if (!this.cache) {
      const pending = this.readAll();
      this.cache = pending;
      this.cachedAt = Date.now();
      pending.catch(() => {
        if (this.cache === pending) this.cache = undefined;
      });
    } else if (Date.now() - this.cachedAt > CACHE_MAX_AGE_MS) {
      this.refreshInBackground(this.cache);
    }
    return this.cache;
  }

  /**
   * The periodic re-read, made while queries go on answering from the table in memory (RouterOS
   * keeps its table in memory, so a query never waits for a walk of the filesystem). Its result
   * is dropped when a change patched the table meanwhile; the next query after the age starts another.
   */
  private refreshInBackground(cached: Promise<Subvolume[]>): void {
    this.cachedAt = Date.now();
    this.readAll().then(
      (fresh) => {
        if (this.cache === cached) this.cache = Promise.resolve(fresh);
      },
      () => undefined,
    );
  }

  private async readAll(): Promise<Subvolume[]> {
    const mnt = this.mountPath;
    const [all, snapshots, readOnly] = await Promise.all([
      run("btrfs", ["subvolume", "list", "-p", "-c", "-g", "-q", "-u", "-R", mnt], READ),
      run("btrfs", ["subvolume", "list", "-s", mnt], READ),
      run("btrfs", ["subvolume", "list", "-r", mnt], READ),
    ]);
    const otimes = new Map<number, string>();
    for (const line of snapshots.split("\n")) {
      const m = SNAPSHOT_LINE.exec(line);
      if (m) otimes.set(Number(m[1]), m[2] as string);
    }
    const ro = new Set<number>();
    for (const line of readOnly.split("\n")) {
      const m = READONLY_LINE.exec(line);
      if (m) ro.add(Number(m[1]));
    }
    const out: Subvolume[] = [];
    const known = this.lastRead;
    for (const line of all.split("\n")) {
      const m = LIST_LINE.exec(line);
      if (!m) continue;
      const id = Number(m[1]);
      const uuid = m[6] as string;
      const subPath = m[7] as string;
      const read: Subvolume = {
        id,
        generation: BigInt(m[2] as string),
        topLevel: Number(m[3]),
        path: subPath,
        uuid,
        parentUuid: m[4] === "-" ? undefined : m[4],
        receivedUuid: m[5] === "-" ? undefined : m[5],
        readOnly: ro.has(id),
        creationTime: otimes.get(id) ?? (await this.birthTime(uuid, subPath)),
      };
      // An unchanged subvolume keeps its object, so the menu need not rebuild its item.
      const before = known.get(id);
      out.push(before !== undefined && sameSubvolume(before, read) ? before : read);
    }
    // In id order, as the table prints them (`btrfs subvolume list` already lists them so).
    out.sort((a, b) => a.id - b.id);
    this.lastRead = new Map(out.map((s) => [s.id, s]));
    return out;
  }

  private async birthTime(uuid: string, subPath: string): Promise<string> {
    const known = this.birthTimes.get(uuid);
    if (known) return known;
    const s = await stat(path.join(this.mountPath, subPath)).catch(() => undefined);
    const text = formatDateTime(s ? s.birthtime : new Date(0));
    this.birthTimes.set(uuid, text);
    return text;
  }

  async create(hostPath: string): Promise<void> {
    await this.changing(hostPath, () => run("btrfs", ["subvolume", "create", hostPath]));
  }

  async snapshot(sourceHostPath: string, hostPath: string, readOnly: boolean): Promise<void> {
    const args = ["subvolume", "snapshot", ...(readOnly ? ["-r"] : []), sourceHostPath, hostPath];
    await this.changing(hostPath, () => run("btrfs", args));
  }

  async remove(hostPath: string): Promise<void> {
    await this.changing(hostPath, () => run("btrfs", ["subvolume", "delete", hostPath]));
  }

  async setReadOnly(hostPath: string, readOnly: boolean): Promise<void> {
    await this.changing(hostPath, () =>
      run("btrfs", ["property", "set", "-ts", hostPath, "ro", readOnly ? "true" : "false"]),
    );
  }

  /** Runs a change, then replaces the cached entry for that path with a fresh `show` (or drops it). */
  private async changing(hostPath: string, change: () => Promise<unknown>): Promise<void> {
    const cached = this.cache;
    this.cache = undefined;
    try {
      await change();
    } finally {
      if (cached) this.cache = this.patched(cached, hostPath);
    }
  }

  private async patched(cached: Promise<Subvolume[]>, hostPath: string): Promise<Subvolume[]> {
    const relative = path.relative(this.mountPath, hostPath);
    const current = await this.show(hostPath);
    return replaced(await cached, relative, current);
  }

  /** One subvolume by path, or undefined when there is none there. */
  private async show(hostPath: string): Promise<Subvolume | undefined> {
    let info: Awaited<ReturnType<typeof subvolumeInfo>>;
    try {
      info = this.ioctlUsable ? await subvolumeInfo(hostPath) : undefined;
    } catch {
      // The command helper failed on the way (it is restarted): this once, read it with the tool.
      return this.showByTool(hostPath);
    }
    if (info === null) return undefined;
    if (info !== undefined) {
      const relative = path.relative(this.mountPath, hostPath);
      return {
        id: info.id,
        generation: info.generation,
        topLevel: info.topLevel,
        path: relative,
        uuid: info.uuid,
        parentUuid: info.parentUuid,
        receivedUuid: info.receivedUuid,
        readOnly: info.readOnly,
        // Same sources as a full listing (otime of a snapshot, birth time of a plain subvolume).
        creationTime:
          info.parentUuid === undefined
            ? await this.birthTime(info.uuid, relative)
            : formatDateTime(new Date(info.otime * 1000)),
      };
    }
    // Without Perl or the ioctl: `btrfs subvolume show`, whose cost grows with the subvolumes.
    this.ioctlUsable = false;
    return this.showByTool(hostPath);
  }

  private async showByTool(hostPath: string): Promise<Subvolume | undefined> {
    const text = await run("btrfs", ["subvolume", "show", hostPath], READ).catch(() => undefined);
    if (text === undefined) return undefined;
    const field = (name: string) => new RegExp(`^\\s*${name}:\\s*(.*)$`, "m").exec(text)?.[1]?.trim();
    const uuid = (name: string) => {
      const v = field(name);
      return v === undefined || v === "-" ? undefined : v;
    };
    const id = Number(field("Subvolume ID"));
    if (!Number.isInteger(id)) return undefined;
    const relative = path.relative(this.mountPath, hostPath);
    const parentUuid = uuid("Parent UUID");
    const subUuid = field("UUID") ?? "";
    // Same sources as a full listing, so a patched cache and a fresh read always agree.
    const creationTime =
      parentUuid === undefined
        ? await this.birthTime(subUuid, relative)
        : (field("Creation time") ?? "").replace(/ [+-]\d{4}$/, "");
    return {
      id,
      generation: BigInt(field("Generation") ?? "0"),
      topLevel: Number(field("Top level ID")),
      path: relative,
      uuid: subUuid,
      parentUuid,
      receivedUuid: uuid("Received UUID"),
      readOnly: /readonly/.test(field("Flags") ?? ""),
      creationTime,
    };
  }

  /** Data and metadata usage for `/disk/btrfs/filesystem print`. */
  async usage(): Promise<Array<{ kind: string; profile: string; total: bigint; used: bigint }>> {
    const text = await run("btrfs", ["filesystem", "df", "-b", this.mountPath], READ);
    const out: Array<{ kind: string; profile: string; total: bigint; used: bigint }> = [];
    for (const line of text.split("\n")) {
      const m = /^(\w+), (\w+): total=(\d+), used=(\d+)/.exec(line.trim());
      if (m)
        out.push({
          kind: m[1] as string,
          profile: m[2] as string,
          total: BigInt(m[3] as string),
          used: BigInt(m[4] as string),
        });
    }
    return out;
  }
}

/**
 * How a patched listing differs from the listing it was made from. `from` is held weakly: a chain
 * of patches must not keep every earlier copy of the table alive (whoever still needs one holds it).
 */
export interface ListingPatch {
  readonly from: WeakRef<readonly Subvolume[]>;
  readonly gone: readonly Subvolume[];
  readonly came: readonly Subvolume[];
}

const patches = new WeakMap<readonly Subvolume[], ListingPatch>();

/** The change that made this listing from an earlier one, when it was patched rather than read. */
export function patchOf(listing: readonly Subvolume[]): ListingPatch | undefined {
  return patches.get(listing);
}

/** The subvolumes of a listing by path; handed on to the listing patched from it. */
const pathMaps = new WeakMap<readonly Subvolume[], Map<string, Subvolume>>();

function pathsOf(listing: readonly Subvolume[]): Map<string, Subvolume> {
  let paths = pathMaps.get(listing);
  if (paths === undefined) {
    paths = new Map(listing.map((s) => [s.path, s]));
    pathMaps.set(listing, paths);
  }
  return paths;
}

/** Where a subvolume with this id is (or would go) in an id-ordered listing. */
function positionOf(listing: readonly Subvolume[], id: number): number {
  let lo = 0;
  let hi = listing.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((listing[mid] as Subvolume).id < id) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The listing with the subvolume at `relative` replaced by `current` (or dropped), still in id
 * order: a copy with one entry out and one in, found by path and id, not a scan or sort of the
 * whole table. An entry with `current`'s id at another path (moved behind the emulator's back)
 * goes too.
 */
export function replaced(
  listing: readonly Subvolume[],
  relative: string,
  current: Subvolume | undefined,
): Subvolume[] {
  const out = [...listing];
  const paths = pathsOf(listing);
  const gone: Subvolume[] = [];
  const drop = (s: Subvolume | undefined) => {
    if (s === undefined) return;
    const at = positionOf(out, s.id);
    if (out[at] !== s) return;
    out.splice(at, 1);
    gone.push(s);
    if (paths.get(s.path) === s) paths.delete(s.path);
  };
  drop(paths.get(relative));
  if (current !== undefined) {
    const sameId = out[positionOf(out, current.id)];
    drop(sameId?.id === current.id ? sameId : undefined);
    out.splice(positionOf(out, current.id), 0, current);
    paths.set(current.path, current);
  }
  pathMaps.delete(listing);
  pathMaps.set(out, paths);
  patches.set(out, { from: new WeakRef(listing), gone, came: current === undefined ? [] : [current] });
  return out;
}

function sameSubvolume(a: Subvolume, b: Subvolume): boolean {
  return (
    a.id === b.id &&
    a.generation === b.generation &&
    a.topLevel === b.topLevel &&
    a.path === b.path &&
    a.uuid === b.uuid &&
    a.parentUuid === b.parentUuid &&
    a.receivedUuid === b.receivedUuid &&
    a.readOnly === b.readOnly &&
    a.creationTime === b.creationTime
  );
}
