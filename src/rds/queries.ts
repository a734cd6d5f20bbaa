import {
  type Condition,
  type Menu,
  type PathComponent,
  type Proplist,
  pathPatternMatcher,
  where,
} from "./command.js";
import { invalidInput } from "./errors.js";
import type { PrintedItem } from "./parse/properties.js";
import { fileName, fileNamePrefix, samePath } from "./paths.js";
import { validateId, validateIdPrefix, validateLabel, validatePath } from "./quote.js";
import {
  type DecodeOptions,
  type DiskInfo,
  decodeDisk,
  decodeFile,
  decodePoolCapacity,
  decodeSubvolume,
  type FileInfo,
  type PoolCapacity,
  type SubvolumeInfo,
} from "./records.js";

/**
 * Reads as values, so that several can travel in one exec line (`RdsClient.read`, or after a
 * change with `RdsClient.apply`). A query is one listing: a menu, a condition built by the
 * command builder from validated input, optionally the properties to print, and how to decode
 * the items into what the caller wants.
 */
export interface Query<T> {
  readonly menu: Menu;
  readonly condition: Condition;
  readonly proplist?: Proplist;
  /** Files whose size print detail rounds: the client asks their exact sizes with `get`. */
  readonly exactSizes?: boolean;
  /**
   * A count, not a listing: `:put [:len [<menu> find where …]]`, which RouterOS answers from its
   * item table without printing the items. `decode` then gets no items and the count in `count`.
   */
  readonly countOnly?: boolean;
  decode(items: PrintedItem[], options: DecodeOptions & { count?: number }): T;
}

/** Snapshot-style names `<prefix><hex>…` whose first hex digits lie between `from` and `to`. */
export interface NameRange {
  readonly prefix: string;
  /** Lower-case hex digits, inclusive; both of the same length. */
  readonly from: string;
  readonly to: string;
}

function inNameRange(name: string, range: NameRange): boolean {
  if (!name.startsWith(range.prefix)) return false;
  const digits = name.slice(range.prefix.length, range.prefix.length + range.from.length);
  return digits >= range.from && digits <= range.to;
}

/** What a tuple of queries reads. */
export type QueryResults<Q extends readonly Query<unknown>[]> = {
  -readonly [K in keyof Q]: Q[K] extends Query<infer T> ? T : never;
};

/**
 * The subvolume properties the driver reads (decodeSubvolume); for listings that only need these.
 * `name` is left out: it is the last component of `fullname` (reference §3.2), which decodeSubvolume
 * takes it from, so a listing does not carry every snapshot id twice.
 */
export const SUBVOLUME_PROPLIST: Proplist = ["fullname", "read-only", "creation-time"];

/**
 * The file properties the driver reads (decodeFile). Every `/file` listing asks for these only: on
 * RouterOS a listing without `proplist` carries the whole content of small files.
 */
export const FILE_PROPLIST: Proplist = ["name", "type", "size", "last-modified"];

/**
 * What a listing of snapshot images needs when the snapshots' own `creation-time` is known: the
 * path and the exact size (`type` and `last-modified` only serve other readers).
 */
export const IMAGE_SIZE_PROPLIST: Proplist = ["name", "size"];

function subvolumeCondition(condition: Condition, fs: string | undefined): Condition {
  return fs === undefined
    ? condition
    : where.and(where.fsIs(validateLabel(fs, "filesystem label")), condition);
}

const subvolumes = (items: PrintedItem[], options: DecodeOptions) =>
  items.map((i) => decodeSubvolume(i, options));
const files = (items: PrintedItem[], options: DecodeOptions) => items.map((i) => decodeFile(i, options));

/** The capacity of the first item that shows exact `size` and `free`, or null. */
function capacityOf(items: PrintedItem[]): PoolCapacity | null {
  for (const item of items) {
    try {
      return decodePoolCapacity(item);
    } catch {
      // not a mounted pool: no exact size and free
    }
  }
  return null;
}

export const query = {
  /** The capacity of the pool disk mounted at `mountPoint` (`/<pool>`), or null. */
  poolAt(mountPoint: string): Query<PoolCapacity | null> {
    return {
      menu: "/disk",
      condition: where.eq("mount-point", validateLabel(mountPoint, "pool mount point")),
      decode: (items) => capacityOf(items.filter((i) => i.properties.get("mount-point") === mountPoint)),
    };
  },

  /** The capacity of the pool disk holding the Btrfs filesystem labelled `label`, or null. */
  poolLabelled(label: string): Query<PoolCapacity | null> {
    return {
      menu: "/disk",
      condition: where.eq("fs-label", validateLabel(label, "filesystem label")),
      decode: (items) => capacityOf(items.filter((i) => i.properties.get("fs-label") === label)),
    };
  },

  /** The disk with this slot, or null. */
  disk(slot: string): Query<DiskInfo | null> {
    validateId(slot, "disk slot");
    return {
      menu: "/disk",
      condition: where.eq("slot", slot),
      decode: (items) => items.map(decodeDisk).find((d) => d.slot === slot) ?? null,
    };
  },

  /** Disks whose slot starts with the prefix. */
  disks(filter: { slotPrefix: string }): Query<DiskInfo[]> {
    const prefix = validateIdPrefix(filter.slotPrefix, "slot prefix");
    return {
      menu: "/disk",
      condition: where.startsWith("slot", prefix),
      decode: (items) => items.map(decodeDisk).filter((d) => d.slot.startsWith(prefix)),
    };
  },

  /** The disks with any of these slots (those that exist), in one listing. */
  disksWithSlots(slots: readonly string[]): Query<DiskInfo[]> {
    const wanted = new Set(slots.map((slot) => validateId(slot, "disk slot")));
    return {
      menu: "/disk",
      condition: where.anyOf("slot", [...wanted]),
      decode: (items) => items.map(decodeDisk).filter((d) => wanted.has(d.slot)),
    };
  },

  /** The subvolume at `fullname`, or null. */
  subvolume(fullname: string, options: { fs?: string } = {}): Query<SubvolumeInfo | null> {
    const wanted = validatePath(fullname, "subvolume").join("/");
    return {
      menu: "/disk/btrfs/subvolume",
      condition: subvolumeCondition(where.pathIs("fullname", wanted), options.fs),
      decode: (items, o) => subvolumes(items, o).find((s) => s.fullname === wanted) ?? null,
    };
  },

  /**
   * Subvolumes whose fullname starts with the prefix. `proplist` narrows what RouterOS prints to
   * what the caller reads (e.g. `SUBVOLUME_PROPLIST`); `fullname` is always included.
   */
  subvolumes(filter: {
    fullnamePrefix: string;
    fs?: string;
    proplist?: Proplist;
    /** Only those whose name lies in this range (a page of a listing, see `NameRange`). */
    nameRange?: NameRange;
  }): Query<SubvolumeInfo[]> {
    const prefix = fileNamePrefix(filter.fullnamePrefix);
    const range = filter.nameRange;
    const byPrefix = where.pathStartsWith("fullname", prefix);
    const condition = range
      ? where.and(byPrefix, where.hexRange("name", range.prefix, range.from, range.to))
      : byPrefix;
    return {
      menu: "/disk/btrfs/subvolume",
      condition: subvolumeCondition(condition, filter.fs),
      ...(filter.proplist ? { proplist: withNames(filter.proplist, ["fullname"]) } : {}),
      decode: (items, o) =>
        subvolumes(items, o).filter(
          (s) => s.fullname.startsWith(prefix) && (range === undefined || inNameRange(s.name, range)),
        ),
    };
  },

  /** How many subvolumes' fullnames start with the prefix, counted by RouterOS — nothing listed. */
  subvolumeCount(filter: { fullnamePrefix: string; fs?: string }): Query<number> {
    const prefix = fileNamePrefix(filter.fullnamePrefix);
    return {
      menu: "/disk/btrfs/subvolume",
      condition: subvolumeCondition(where.pathStartsWith("fullname", prefix), filter.fs),
      countOnly: true,
      decode: (_items, o) => o.count ?? 0,
    };
  },

  /**
   * How many subvolumes sit exactly one level per `idPrefixes` entry below `base`, each level
   * named `<prefix><uuid v5>` (`where.pathOfIds`), counted by RouterOS — nothing listed. The
   * driver's volumes are `<root>/vols/pvc-…`, its snapshots `<root>/snaps/pvc-…/snap-…`.
   */
  subvolumeIdCount(filter: { base: string; idPrefixes: readonly string[]; fs?: string }): Query<number> {
    const base = validatePath(filter.base, "subvolume folder").join("/");
    for (const prefix of filter.idPrefixes) validateIdPrefix(prefix, "id prefix");
    return {
      menu: "/disk/btrfs/subvolume",
      condition: subvolumeCondition(where.pathOfIds("fullname", base, filter.idPrefixes), filter.fs),
      countOnly: true,
      decode: (_items, o) => o.count ?? 0,
    };
  },

  /**
   * Subvolumes whose last path component is `name` (RouterOS's `name`, reference §3.2), wherever
   * they are — finds one by its own name without listing its neighbours.
   */
  subvolumesNamed(name: string, options: { fs?: string } = {}): Query<SubvolumeInfo[]> {
    const components = validatePath(name, "subvolume name");
    const wanted = components[0];
    if (components.length !== 1 || wanted === undefined) {
      throw invalidInput(`subvolume name ${JSON.stringify(name)} must be one path component`);
    }
    return {
      menu: "/disk/btrfs/subvolume",
      condition: subvolumeCondition(where.eq("name", wanted), options.fs),
      decode: (items, o) => subvolumes(items, o).filter((s) => s.name === wanted),
    };
  },

  /**
   * Subvolumes whose last path component is any of `names`, wherever they are, in one listing
   * (`where name="a" or name="b" …`), with only the properties `proplist` names (and `fullname`).
   */
  subvolumesNamedAny(
    names: readonly string[],
    options: { fs?: string; proplist?: Proplist } = {},
  ): Query<SubvolumeInfo[]> {
    const wanted = new Set(
      names.map((name) => {
        const components = validatePath(name, "subvolume name");
        if (components.length !== 1 || components[0] === undefined) {
          throw invalidInput(`subvolume name ${JSON.stringify(name)} must be one path component`);
        }
        return components[0];
      }),
    );
    return {
      menu: "/disk/btrfs/subvolume",
      condition: subvolumeCondition(where.anyOf("name", [...wanted]), options.fs),
      ...(options.proplist ? { proplist: withNames(options.proplist, ["fullname"]) } : {}),
      decode: (items, o) => subvolumes(items, o).filter((s) => wanted.has(s.name)),
    };
  },

  /** The file at `path` (either slash form), or null; exact size even from print detail. */
  file(path: string): Query<FileInfo | null> {
    const name = fileName(path);
    return {
      menu: "/file",
      condition: where.eq("name", name),
      proplist: FILE_PROPLIST,
      exactSizes: true,
      decode: (items, o) => files(items, o).find((f) => samePath(f.name, name)) ?? null,
    };
  },

  /** Files whose name starts with the prefix; from print detail, rounded sizes come back null. */
  files(filter: { namePrefix: string }): Query<FileInfo[]> {
    const prefix = fileNamePrefix(filter.namePrefix);
    return {
      menu: "/file",
      condition: where.startsWith("name", prefix),
      proplist: FILE_PROPLIST,
      decode: (items, o) => files(items, o).filter((f) => f.name.startsWith(prefix)),
    };
  },

  /**
   * Files whose path (`/file` form: the pool's name first, no leading slash) matches a pattern of
   * components (`where.pathPattern`) — e.g. the images of the snapshots in a slice of the id
   * space, under whichever volume — in one listing; exact sizes even from print detail.
   */
  filesMatching(
    components: readonly PathComponent[],
    options: { proplist?: Proplist } = {},
  ): Query<FileInfo[]> {
    const matches = pathPatternMatcher(components);
    return {
      menu: "/file",
      condition: where.pathPattern("name", components),
      proplist: withNames(options.proplist ?? FILE_PROPLIST, ["name"]),
      exactSizes: true,
      decode: (items, o) => files(items, o).filter((f) => matches(f.name)),
    };
  },

  /**
   * The files with these exact paths (those that exist), in one listing
   * (`where name="a" or name="b" …`); exact sizes even from print detail. `proplist` narrows the
   * properties (`name` is always included).
   */
  filesNamed(paths: readonly string[], options: { proplist?: Proplist } = {}): Query<FileInfo[]> {
    const names = paths.map((p) => fileName(p));
    const wanted = new Set(names);
    return {
      menu: "/file",
      condition: where.anyOf("name", names),
      proplist: withNames(options.proplist ?? FILE_PROPLIST, ["name"]),
      exactSizes: true,
      decode: (items, o) => files(items, o).filter((f) => wanted.has(f.name.replace(/^\/+/, ""))),
    };
  },
};

/** `proplist` with the properties a decoder needs added after it. */
function withNames(proplist: Proplist, needed: readonly string[]): Proplist {
  return needed.every((n) => proplist.includes(n)) ? proplist : [...new Set([...proplist, ...needed])];
}
