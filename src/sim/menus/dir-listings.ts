import { type Dirent, lstatSync, readdirSync, type Stats } from "node:fs";

/**
 * The names in the pool's directories, kept in memory so that a `/file` pattern over a slice of
 * names (`snap-(1[0-9a-e]|1f[0-4])`) costs the names it matches, not the whole directory: RouterOS
 * answers from its in-memory file table, while a `readdir` of a folder of 1 000 snapshots reads
 * every name. A kept listing is used only while the directory's own `lstat` (which the walk makes
 * anyway) shows it unchanged: adding, removing or renaming an entry (a file, a folder, a Btrfs
 * subvolume or snapshot) changes the directory's change time, so changes made behind the
 * emulator's back are seen at the next query.
 */

/** One directory's names, sorted as JavaScript compares strings, with whether each is a folder. */
export interface Listing {
  readonly names: readonly string[];
  readonly folders: readonly boolean[];
}

/**
 * A directory changed this recently is read but not kept: its change time has the kernel clock's
 * coarse resolution (a few ms), so a second change in the same tick would leave it as it was
 * when read. Once the time is older than this, any later change shows a later time.
 */
const SETTLED_MS = 1000;

/** Directories kept at most; the oldest kept go first past this. */
const MAX_KEPT = 50_000;

interface Kept {
  readonly key: string;
  readonly listing: Listing;
}

/** What identifies one state of a directory: which inode it is and when it last changed. */
function stateKey(stats: Stats): string {
  return `${stats.dev}:${stats.ino}:${stats.ctimeMs}:${stats.mtimeMs}:${stats.size}`;
}

export class DirectoryListings {
  private readonly kept = new Map<string, Kept>();

  /**
   * The listing of the directory at `host`, whose `lstat` the caller made during this query
   * (`stats`): the kept one while it matches, otherwise read again. Empty when it is gone.
   * Synchronous calls, as `lstatMany` makes them: a small folder (a snapshot's) costs a few
   * microseconds so, several times that through the thread pool; callers yield between folders.
   */
  read(host: string, stats: Stats): Listing {
    const kept = this.kept.get(host);
    if (kept !== undefined && kept.key === stateKey(stats)) return kept.listing;
    this.kept.delete(host);
    // The state the listing is kept under is taken before reading it: a change while it is read
    // then shows a later change time, and the next query reads again.
    const now = Date.now();
    const before = quietly(() => lstatSync(host, { throwIfNoEntry: false }));
    if (before === undefined || !before.isDirectory()) return { names: [], folders: [] };
    const entries = quietly((): Dirent[] => readdirSync(host, { withFileTypes: true }));
    if (entries === undefined) return { names: [], folders: [] };
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const listing = { names: entries.map((e) => e.name), folders: entries.map((e) => e.isDirectory()) };
    if (Math.max(before.ctimeMs, before.mtimeMs) < now - SETTLED_MS) {
      this.keep(host, stateKey(before), listing);
    }
    return listing;
  }

  private keep(host: string, key: string, listing: Listing): void {
    if (this.kept.size >= MAX_KEPT) {
      let drop = MAX_KEPT / 8;
      for (const oldest of this.kept.keys()) {
        this.kept.delete(oldest);
        if (--drop <= 0) break;
      }
    }
    this.kept.set(host, { key, listing });
  }
}

/** The value, or undefined when the call fails (the entry went away, or cannot be read). */
function quietly<T>(call: () => T | undefined): T | undefined {
  try {
    return call();
  } catch {
    return undefined;
  }
}

/**
 * The positions in a sorted listing of the names that start with one of `prefixes`, in name
 * order (each position once); `[""]` gives every name.
 */
export function positionsWithPrefixes(names: readonly string[], prefixes: readonly string[]): number[] {
  if (prefixes.includes("")) return names.map((_, i) => i);
  const out: number[] = [];
  // Sorted prefixes, none inside another's range twice: a prefix that extends one before it adds nothing.
  const sorted = [...new Set(prefixes)].sort();
  let covered: string | undefined;
  for (const prefix of sorted) {
    if (covered !== undefined && prefix.startsWith(covered)) continue;
    covered = prefix;
    for (let i = lowerBound(names, prefix); i < names.length && (names[i] as string).startsWith(prefix); i++)
      out.push(i);
  }
  return out.sort((a, b) => a - b);
}

/** The first position whose name is ≥ `key`. */
function lowerBound(names: readonly string[], key: string): number {
  let lo = 0;
  let hi = names.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((names[mid] as string) < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
