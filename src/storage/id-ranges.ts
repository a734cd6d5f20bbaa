import type { NameRange } from "../rds/index.js";
import { SNAPSHOT_ID_PREFIX } from "./ids.js";

/**
 * Slices of the snapshot id space, so that a page of ListSnapshots reads about its page, not the
 * whole table. A snapshot id is `snap-` and a name-based UUID, whose hex digits are uniformly
 * spread: the first `POSITION_DIGITS` of them are an id's position, and the snapshots in a range of
 * positions are asked for with a `where name~"^snap-(…)"` RouterOS evaluates in its item table.
 */

const POSITION_DIGITS = 4;

/** Positions run from 0 to `ID_SPACE - 1`. */
export const ID_SPACE = 16 ** POSITION_DIGITS;

/** Positions `from` to `to`, inclusive. */
export interface IdRange {
  readonly from: number;
  readonly to: number;
}

/** Where a snapshot id sits in the id space (ids are checked by the caller: `isSnapshotId`). */
export function idPosition(snapshotId: string): number {
  const digits = snapshotId.slice(SNAPSHOT_ID_PREFIX.length, SNAPSHOT_ID_PREFIX.length + POSITION_DIGITS);
  const position = Number.parseInt(digits, 16);
  return Number.isInteger(position) ? position : 0;
}

/** The `where name~` range of a slice, for `query.subvolumes`. */
export function nameRangeOf(range: IdRange): NameRange {
  const hex = (n: number) => n.toString(16).padStart(POSITION_DIGITS, "0");
  return { prefix: SNAPSHOT_ID_PREFIX, from: hex(range.from), to: hex(range.to) };
}

/**
 * How many positions to read to find about `wanted` more snapshots when `total` are spread over the
 * whole space (a margin of a third and a few, so one read usually suffices); all of it when the
 * total is unknown to be more than that.
 */
export function rangeWidthFor(wanted: number, total: number): number {
  if (total <= 0) return ID_SPACE;
  const width = Math.ceil(((wanted * 4) / 3 + 4) * (ID_SPACE / total));
  return Math.min(ID_SPACE, Math.max(1, width));
}
