import type { Dirent, Stats } from "node:fs";
import { lstatSync } from "node:fs";
import { lstat, readdir } from "node:fs/promises";
import path from "node:path";
import { type DirectoryListings, positionsWithPrefixes } from "./dir-listings.js";
import type { PathSegments } from "./regex-segments.js";

/**
 * Reading a pool's entries as `/file` lists them: breadth-first, each folder in creation order (or
 * alphabetical, setting `file_print_order`), and putting entries read one by one in that order.
 */

export interface Entry {
  /** The router path without a leading slash, as `/file` names it: a pool's name, then the path. */
  readonly relative: string;
  readonly stats: Stats;
}

/**
 * Breadth-first, as RouterOS lists files: all entries of one depth before the next. `start` (a
 * directory relative to the root) walks only that subtree, in the same relative order; with
 * `namePrefix`, only the entries of `start` whose names begin so (and what is under them) are
 * looked at — found in `listings`' sorted names when given — so a prefix costs what it matches,
 * not the whole directory.
 */
export async function walk(
  root: string,
  start = "",
  order: FileOrder = "alphabetical",
  namePrefix = "",
  listings?: DirectoryListings,
): Promise<Entry[]> {
  const first = await lstat(path.join(root, start)).catch(() => undefined);
  if (!first) return [];
  const out: Entry[] = [{ relative: start, stats: first }];
  if (!first.isDirectory()) return out;
  let level: Entry[] = [out[0] as Entry];
  while (level.length > 0) {
    const next: Entry[] = [];
    for (const dir of level) {
      const narrowed = dir.relative === start && namePrefix !== "";
      const names = narrowed
        ? await namesWithPrefixes(root, dir, [namePrefix], listings)
        : await allNames(root, dir.relative);
      for (const entry of await readLevel(root, dir.relative, order, names)) {
        out.push(entry);
        if (entry.stats.isDirectory()) next.push(entry);
      }
    }
    level = next;
  }
  return out;
}

/**
 * The entries of a pool (below its root) a path pattern can match, in `walk`'s order: level by
 * level, only the names of each directory that start with one of the level's literal prefixes
 * are looked at (in `listings`' sorted names), of those only the ones the level's segment matches
 * are `lstat`ed and descended into; below a name the last segment matches, everything (unless the
 * pattern ends with `$`). What the walk descends through is not returned: it cannot match.
 */
export async function walkMatching(
  root: string,
  segments: PathSegments,
  order: FileOrder,
  listings: DirectoryListings,
): Promise<Entry[]> {
  const lastDepth = segments.whole.length;
  const out: Entry[] = [];
  const top = await lstat(root).catch(() => undefined);
  let level: Entry[] = top?.isDirectory() ? [{ relative: "", stats: top }] : [];
  for (let depth = 1; level.length > 0; depth++) {
    const next: Entry[] = [];
    // Above the last segment's level only directories whose names match whole lead anywhere.
    const test =
      depth < lastDepth ? (segments.whole[depth] as RegExp) : depth === lastDepth ? segments.last : undefined;
    const prefixes = depth <= lastDepth ? (segments.prefixes[depth] ?? [""]) : [""];
    for (const [i, dir] of level.entries()) {
      // Folders are read with synchronous calls: other sessions get their turn between batches.
      if (i > 0 && i % LSTAT_BATCH === 0) await new Promise((resolve) => setImmediate(resolve));
      const listed = await namesWithPrefixes(root, dir, prefixes, listings);
      const names =
        test === undefined
          ? listed
          : listed.filter((n) => (depth === lastDepth || n.folder) && test.test(n.name));
      for (const entry of await readLevel(root, dir.relative, order, names)) {
        if (depth >= lastDepth) out.push(entry);
        if (entry.stats.isDirectory() && (depth < lastDepth || segments.descendants)) next.push(entry);
      }
    }
    level = next;
  }
  return out;
}

/** A name in a directory, and whether the directory listed it as a folder. */
interface Listed {
  readonly name: string;
  readonly folder: boolean;
}

/** Every name in a directory, read from the disk (what a full scan reads). */
async function allNames(root: string, dir: string): Promise<Listed[]> {
  const listed: Dirent[] = await readdir(path.join(root, dir), { withFileTypes: true }).catch(() => []);
  return listed.map((e) => ({ name: e.name, folder: e.isDirectory() }));
}

/**
 * The names in directory `dir` that start with one of `prefixes`: looked up in its kept sorted
 * listing when `listings` is given (`dir.stats` tells whether it still holds), else read and tested.
 */
async function namesWithPrefixes(
  root: string,
  dir: Entry,
  prefixes: readonly string[],
  listings: DirectoryListings | undefined,
): Promise<Listed[]> {
  if (listings === undefined) {
    const all = await allNames(root, dir.relative);
    return all.filter((n) => prefixes.some((p) => n.name.startsWith(p)));
  }
  const listing = listings.read(path.join(root, dir.relative), dir.stats);
  return positionsWithPrefixes(listing.names, prefixes).map((i) => ({
    name: listing.names[i] as string,
    folder: listing.folders[i] as boolean,
  }));
}

export type FileOrder = "creation" | "alphabetical";

/** The named entries of one directory of a walk, lstat'ed (those still there), in print order. */
async function readLevel(
  root: string,
  dir: string,
  order: FileOrder,
  names: readonly Listed[],
): Promise<Entry[]> {
  const stats = await lstatMany(names.map((n) => path.join(root, dir, n.name)));
  const found: Entry[] = [];
  names.forEach((n, i) => {
    const s = stats[i];
    if (s) found.push({ relative: dir === "" ? n.name : `${dir}/${n.name}`, stats: s });
  });
  return found.sort(order === "creation" ? byCreation : byName);
}

/** lstat calls made back to back before the event loop gets a turn (other sessions, the control socket). */
const LSTAT_BATCH = 128;

/**
 * The lstat of each path (undefined when it is gone or unreadable). Synchronous calls in bounded
 * batches: on names the kernel has cached, one call costs a few microseconds, while a promise's
 * round trip through the thread pool costs several times that per file.
 */
export async function lstatMany(hosts: readonly string[]): Promise<Array<Stats | undefined>> {
  const out: Array<Stats | undefined> = [];
  for (let i = 0; i < hosts.length; i++) {
    if (i > 0 && i % LSTAT_BATCH === 0) await new Promise((resolve) => setImmediate(resolve));
    out.push(lstatQuiet(hosts[i] as string));
  }
  return out;
}

function lstatQuiet(host: string): Stats | undefined {
  try {
    return lstatSync(host, { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
}

const byName = (a: Entry, b: Entry) => (a.relative < b.relative ? -1 : a.relative > b.relative ? 1 : 0);

/** RouterOS 7.2x lists a folder in no alphabetical order: here, as its entries were created. */
const byCreation = (a: Entry, b: Entry) =>
  a.stats.birthtimeMs - b.stats.birthtimeMs || a.stats.ino - b.stats.ino || byName(a, b);

/** `a`, `a/b` for `a/b/c`: the folders an entry lies in. */
export function folderPaths(relative: string): string[] {
  const out: string[] = [];
  for (let at = relative.indexOf("/"); at >= 0; at = relative.indexOf("/", at + 1)) {
    out.push(relative.slice(0, at));
  }
  return out;
}

/** An entry with what ordering it needs: its path components and, per component, the entry it names. */
interface Placed {
  readonly entry: Entry;
  readonly parts: readonly string[];
  readonly chain: ReadonlyArray<Entry | undefined>;
}

/**
 * The entries in the order `walk` lists them: shallower first, then by the first path component
 * where two differ: those two are entries of one folder, ordered as `walk` orders a folder.
 */
export function sortInWalkOrder(
  entries: readonly Entry[],
  order: FileOrder,
  ancestors: ReadonlyMap<string, Entry>,
): Entry[] {
  const placed: Placed[] = entries.map((entry) => {
    const parts = entry.relative === "" ? [] : entry.relative.split("/");
    const folders = order === "creation" ? folderPaths(entry.relative) : [];
    const chain = parts.map((_, i) => (i === parts.length - 1 ? entry : ancestors.get(folders[i] as string)));
    return { entry, parts, chain };
  });
  placed.sort((a, b) => walkOrder(a, b, order));
  return placed.map((p) => p.entry);
}

function walkOrder(a: Placed, b: Placed, order: FileOrder): number {
  if (a.parts.length !== b.parts.length) return a.parts.length - b.parts.length;
  for (let i = 0; i < a.parts.length; i++) {
    const x = a.parts[i] as string;
    const y = b.parts[i] as string;
    if (x === y) continue;
    if (order === "creation") {
      const ea = a.chain[i];
      const eb = b.chain[i];
      if (ea && eb) return byCreation(ea, eb);
    }
    return x < y ? -1 : 1;
  }
  return 0;
}
