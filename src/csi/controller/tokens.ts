import { isPoolName, isSnapshotId, splitPooledId } from "../../storage/index.js";

/**
 * ListSnapshots paging tokens. A token is the last snapshot id of the previous page; the next page
 * starts after it in id order. It also carries how many snapshots the walk expected in all (a hint
 * that sizes the slice of the id space the next page reads; never trusted for what is listed).
 * Nothing is kept in memory, so a token survives a controller restart, and deleting snapshots
 * between pages neither repeats nor skips the ones that remain. `v1.<id>` tokens (without the
 * hint) are still accepted.
 */

const TOKEN_VERSION = "v2";
const OLD_VERSION = "v1";

export interface ListToken {
  /** The page starts after this id. */
  afterId: string;
  /** How many snapshots the walk expected in all, when known. */
  total?: number;
}

export function encodeListToken(lastSnapshotId: string, total?: number): string {
  return total === undefined
    ? `${TOKEN_VERSION}.${lastSnapshotId}`
    : `${TOKEN_VERSION}.${lastSnapshotId}.${total}`;
}

/** What a token resumes after, or undefined when the token is not one of ours. */
export function decodeListToken(token: string): ListToken | undefined {
  const dot = token.indexOf(".");
  if (dot < 0) return undefined;
  const version = token.slice(0, dot);
  const rest = token.slice(dot + 1);
  // `<id>[.<total>]`; a pool name in the id may hold dots, a snapshot id none.
  const last = rest.lastIndexOf(".");
  const tail = last < 0 ? undefined : rest.slice(last + 1);
  const hasTotal = tail !== undefined && /^\d{1,9}$/.test(tail);
  const id = hasTotal ? rest.slice(0, last) : rest;
  if (!isListedSnapshotId(id)) return undefined;
  if (version === OLD_VERSION) return hasTotal ? undefined : { afterId: id };
  if (version !== TOKEN_VERSION) return undefined;
  return hasTotal ? { afterId: id, total: Number(tail) } : { afterId: id };
}

/** A snapshot id as handed out: plain, or `<pool>:` before it (a pool not served still orders). */
function isListedSnapshotId(id: string): boolean {
  const { pool, id: inPool } = splitPooledId(id);
  return isSnapshotId(inPool) && (pool === undefined || isPoolName(pool));
}

export interface Page<T> {
  items: T[];
  /** Empty when this page is the last one. */
  nextToken: string;
}

/**
 * One page of `items` (already sorted by id, ascending): those after `afterId`, at most
 * `maxEntries` of them (0 = all).
 */
export function pageOf<T>(
  items: readonly T[],
  idOf: (item: T) => string,
  afterId: string | undefined,
  maxEntries: number,
): Page<T> {
  const rest = afterId === undefined ? items : items.filter((item) => idOf(item) > afterId);
  if (maxEntries <= 0 || rest.length <= maxEntries) return { items: [...rest], nextToken: "" };
  const page = rest.slice(0, maxEntries);
  return { items: page, nextToken: encodeListToken(idOf(page[page.length - 1]!)) };
}
