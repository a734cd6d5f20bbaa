import { protocolError } from "../errors.js";
import { decodeQuoted } from "./values.js";

/**
 * One item of a RouterOS listing, whatever form it was printed in. Values are kept as printed
 * text (decoded from quotes); typed readers in records.ts turn them into numbers, flags and dates.
 */
export interface PrintedItem {
  /** The print index (`print detail`); not stable across commands. */
  index: number | null;
  /** Flag letters printed before the properties (`B`, `t`, `X`, …). */
  flags: string[];
  /** Flag names from the legend, lower-case (`block-device`, `disabled`, …). */
  flagNames: string[];
  /** The `;;; comment` line of print detail, when present. */
  comment: string | null;
  properties: Map<string, string>;
}

export function emptyItem(index: number | null = null): PrintedItem {
  return { index, flags: [], flagNames: [], comment: null, properties: new Map() };
}

const KEY_START = /[a-z.]/;
const KEY_CHAR = /[a-z0-9.-]/;

/**
 * If a property key followed by `=` starts at `pos`, returns the index of that `=`; otherwise -1.
 * Returns the index where scanning stopped (the first character that is not part of a key) through
 * `stop`, so callers can skip the scanned characters: each character is looked at a bounded number
 * of times and the parsers stay linear. Callers pass a `pos` beyond their own position, so they
 * always progress.
 */
export function keyAt(text: string, pos: number, stop?: { at: number }): number {
  let i = pos;
  if (i < text.length && KEY_START.test(text[i]!)) {
    i++;
    while (i < text.length && KEY_CHAR.test(text[i]!)) i++;
    if (i < text.length && text[i] === "=") return i;
  }
  if (stop) stop.at = i;
  return -1;
}

/**
 * End (exclusive) of an unquoted value starting at `start`: values may contain single spaces
 * (`size=1 099 511 627 776`, `type=.img file`), so a value ends only where a space is followed by
 * the next `key=` or by the end of the text.
 */
function bareValueEnd(text: string, start: number): number {
  let i = start;
  while (i < text.length) {
    if (text[i] !== " ") {
      i++;
      continue;
    }
    let j = i;
    while (j < text.length && text[j] === " ") j++;
    if (j >= text.length) return i;
    const stop = { at: j };
    if (keyAt(text, j, stop) >= 0) return i;
    i = stop.at;
  }
  return i;
}

/** End (exclusive, after the closing quote) of a quoted value whose opening quote is at `start`. */
function quotedValueEnd(text: string, start: number): number {
  let i = start + 1;
  while (i < text.length) {
    const ch = text[i];
    if (ch === "\\") i += 2;
    else if (ch === '"') return i + 1;
    else i++;
  }
  throw protocolError("unterminated quoted value", text.slice(start, start + 200));
}

/**
 * Parses `key=value key=value …` as `print detail` prints it (strings quoted) into `into`. Words
 * that are not `key=value` (stray flags or debris) are returned so the caller can decide what they
 * mean.
 */
export function parseProperties(text: string, into: Map<string, string>): string[] {
  const words: string[] = [];
  let i = 0;
  while (i < text.length) {
    if (text[i] === " ") {
      i++;
      continue;
    }
    const eq = keyAt(text, i);
    if (eq < 0) {
      let end = i;
      while (end < text.length && text[end] !== " ") end++;
      words.push(text.slice(i, end));
      i = end;
      continue;
    }
    const key = text.slice(i, eq);
    const valueStart = eq + 1;
    if (text[valueStart] === '"') {
      const end = quotedValueEnd(text, valueStart);
      into.set(key, decodeQuoted(text.slice(valueStart + 1, end - 1)));
      i = end;
      continue;
    }
    const end = bareValueEnd(text, valueStart);
    into.set(key, text.slice(valueStart, end).trimEnd());
    i = end;
  }
  return words;
}
