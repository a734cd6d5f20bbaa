import { isSnapshotId } from "../../storage/index.js";

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
  const parts = token.split(".");
  const [version, id, total] = parts;
  if (id === undefined || !isSnapshotId(id)) return undefined;
  if (version === OLD_VERSION && parts.length === 2) return { afterId: id };
  if (version !== TOKEN_VERSION || parts.length > 3) return undefined;
  if (total === undefined) return { afterId: id };
  if (!/^\d{1,9}$/.test(total)) return undefined;
  return { afterId: id, total: Number(total) };
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
