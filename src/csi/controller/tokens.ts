import { isPoolName, isSnapshotId, splitPooledId } from "../../storage/index.js";

/**
 * ListSnapshots paging tokens. A token is the last snapshot id of the previous page; the next page
 * starts after it in id order. Nothing is kept in memory, so a token survives a controller
 * restart, and deleting snapshots between pages neither repeats nor skips the ones that remain.
 */

const TOKEN_VERSION = "v1";

export function encodeListToken(lastSnapshotId: string): string {
  return `${TOKEN_VERSION}.${lastSnapshotId}`;
}

/** The snapshot id a token resumes after, or undefined when the token is not one of ours. */
export function decodeListToken(token: string): string | undefined {
  const dot = token.indexOf(".");
  if (dot < 0 || token.slice(0, dot) !== TOKEN_VERSION) return undefined;
  const id = token.slice(dot + 1);
  // A snapshot id as handed out: plain, or `<pool>:` before it (a pool not served still orders).
  const { pool, id: inPool } = splitPooledId(id);
  return isSnapshotId(inPool) && (pool === undefined || isPoolName(pool)) ? id : undefined;
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
