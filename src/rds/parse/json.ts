import { protocolError } from "../errors.js";
import { emptyItem, type PrintedItem } from "./properties.js";

/**
 * Parser for `:put [:serialize to=json [… print detail as-value …]]` (RouterOS 7.13+). Numbers must
 * stay exact (a pool of 16 TB is still a safe integer, but nothing guarantees every counter is,
 * and sizes are bigints everywhere else in the client), which `JSON.parse` alone would not do. So
 * one pass over the text marks every number a double would not hold exactly as its digits (past
 * 15 digits, fractions, exponents, signs) as a string holding its source text, and the native
 * `JSON.parse` (milliseconds for a 2 MB listing, where a parser written in JavaScript takes
 * hundreds) reads the result; the same pass bounds the nesting depth. (lossless-json, the library
 * for this, parses in JavaScript too: slower than either here.)
 */

export type JsonValue = null | boolean | string | JsonNumber | JsonValue[] | JsonObject;
export type JsonObject = Map<string, JsonValue>;

export class JsonNumber {
  /** The number's text; an integer RouterOS printed as a float (`2048.000000`) is its digits (`2048`). */
  readonly text: string;
  constructor(source: string) {
    this.text = integralText(source);
  }
}

/**
 * RouterOS 7.2x serializes integer properties as floats with six decimals (`2048.000000`). A
 * fraction of zeros is dropped textually, so every digit of a 64-bit size stays exact; any other
 * number keeps its text (and is refused where an integer is expected).
 */
function integralText(text: string): string {
  const dot = text.indexOf(".");
  if (dot < 0 || !/^-?\d+\.0+$/.test(text)) return text;
  const whole = text.slice(0, dot);
  return whole === "-0" ? "0" : whole;
}

const MAX_DEPTH = 32;

/** A number at a position, by JSON's exact grammar (`01`, `1.`, `.5` and `-` do not match whole). */
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

/**
 * A marked number becomes the string NUL `N` text; a string of the source that itself starts with
 * NUL gets NUL `S` in front, so no string of the source is ever taken for a number. Written as JSON
 * escapes (six characters and a letter), since raw control characters are not JSON.
 */
const NUMBER_MARK = "\\u0000N";
const STRING_MARK = "\\u0000S";

/**
 * Where a number starting at `i` ends when a double holds it exactly as its digits — an unsigned
 * integer of at most 15 digits, or one printed as a float with a fraction of zeros (`2048.000000`)
 * — else -1. Those are left to `JSON.parse` (the sizes and ids of a listing all are), every other
 * number is marked.
 */
function exactNumberEnd(text: string, i: number): number {
  const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
  const n = text.length;
  const first = text.charCodeAt(i);
  if (!isDigit(first)) return -1;
  let j = i + 1;
  if (first !== 0x30) while (j < n && isDigit(text.charCodeAt(j))) j++;
  if (j - i > 15) return -1;
  if (text.charCodeAt(j) === 0x2e) {
    let k = j + 1;
    while (k < n && text.charCodeAt(k) === 0x30) k++;
    if (k === j + 1) return -1;
    j = k;
  }
  const next = text.charCodeAt(j);
  return isDigit(next) || next === 0x2e || next === 0x65 || next === 0x45 ? -1 : j;
}

/**
 * The text with every number outside strings that a double would not hold exactly as its digits
 * turned into a marked string (`exactNumberEnd`); strings are skipped with `indexOf`, so the pass
 * costs little more than reading the text once, and a text with nothing to mark is not copied.
 * Malformed text is left malformed for `JSON.parse` to refuse. Undefined when nesting passes
 * `MAX_DEPTH`.
 */
function markNumbers(text: string): string | undefined {
  const out: string[] = [];
  let copied = 0;
  let depth = 0;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // A string: starts after the quote, ends at the next quote not escaped by a backslash.
      const content = i + 1;
      if (text.startsWith("\\u0000", content)) {
        out.push(text.slice(copied, content), STRING_MARK);
        copied = content;
      }
      let from = content;
      for (;;) {
        const quote = text.indexOf('"', from);
        if (quote < 0) return out.join("") + text.slice(copied); // unterminated: JSON.parse refuses it
        let backslashes = 0;
        for (let b = quote - 1; b >= content && text.charCodeAt(b) === 0x5c; b--) backslashes++;
        if (backslashes % 2 === 0) {
          i = quote;
          break;
        }
        from = quote + 1;
      }
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > MAX_DEPTH) return undefined;
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      const end = exactNumberEnd(text, i);
      if (end >= 0) {
        i = end - 1;
        continue;
      }
      NUMBER.lastIndex = i;
      const m = NUMBER.exec(text);
      if (m) {
        out.push(text.slice(copied, i), `"${NUMBER_MARK}${m[0]}"`);
        i += m[0].length - 1;
        copied = i + 1;
      }
    }
  }
  if (out.length === 0) return text;
  out.push(text.slice(copied));
  return out.join("");
}

function fail(what: string, text: string): never {
  throw protocolError(`invalid JSON from RouterOS: ${what}`, text.slice(0, 200));
}

export function parseJson(text: string): JsonValue {
  return convert(parseMarked(text), text);
}

/** The text without its line breaks: CRLF as `:put` wraps, a lone LF too (string searches, no regex). */
function unwrapped(text: string): string {
  const joined = text.replaceAll("\r\n", "");
  return joined.includes("\n") ? joined.replaceAll("\n", "") : joined;
}

/** `JSON.parse` of the text with its numbers marked (`markNumbers`): strings, marked numbers, objects. */
function parseMarked(text: string): unknown {
  // `:put` may wrap a long line; JSON strings from RouterOS never hold a raw line break. The line
  // break that ends the reply is no wrapping: a reply of one line is not copied again for it.
  const body = text.trimEnd();
  const flat = body.includes("\n") ? unwrapped(body) : body;
  const marked = markNumbers(flat);
  if (marked === undefined) fail("nesting too deep", text);
  try {
    return JSON.parse(marked);
  } catch (err) {
    fail((err as Error).message, text);
  }
}

/** The parsed value with numbers as `JsonNumber` and objects as `Map`s (depth is already bounded). */
function convert(value: unknown, text: string): JsonValue {
  // A number left unmarked is an integer a double holds exactly: its digits are its text.
  if (typeof value === "number") return new JsonNumber(String(value));
  if (typeof value === "string") {
    if (value.charCodeAt(0) !== 0) return value;
    return value[1] === "N" ? new JsonNumber(value.slice(2)) : value.slice(2);
  }
  if (value === null || typeof value === "boolean") return value;
  if (Array.isArray(value)) return value.map((v) => convert(v, text));
  const out: JsonObject = new Map();
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    // A number where a key belongs was marked as a string: the source was not JSON.
    if (key.charCodeAt(0) === 0 && key[1] === "N") fail("expected a key", text);
    out.set(key.charCodeAt(0) === 0 ? key.slice(2) : key, convert(v, text));
  }
  return out;
}

/**
 * The records of a serialized listing: an array of objects (a single object counts as one record).
 * Read straight from the parsed objects into items, with no tree of `JsonValue`s in between: a
 * listing of thousands of records should cost one parse and its items, not several copies.
 */
export function parseJsonRecords(text: string): PrintedItem[] {
  if (text.trim() === "") return [];
  const root = parseMarked(text);
  const records = Array.isArray(root) ? root : [root];
  const items: PrintedItem[] = [];
  for (const record of records) {
    if (record === null || typeof record !== "object" || Array.isArray(record)) {
      throw protocolError("JSON listing holds a non-object", text.slice(0, 200));
    }
    const item = emptyItem();
    let keys = 0;
    const fields = record as Record<string, unknown>;
    // for…in over a parsed object: its own keys, in order, without an array of pairs per record.
    for (const key in fields) {
      const value = fields[key];
      keys++;
      // A number where a key belongs was marked as a string: the source was not JSON.
      if (key.charCodeAt(0) === 0 && key[1] === "N") fail("expected a key", text);
      const printed = markedScalarText(value);
      if (printed !== null) item.properties.set(key.charCodeAt(0) === 0 ? key.slice(2) : key, printed);
    }
    if (keys > 0) items.push(item);
  }
  return items;
}

/**
 * A value as the text `print detail as-value` would show (scalars as printed, lists comma-joined,
 * nothing for an object), read as `parseMarked` left it: numbers are still marked strings.
 */
function markedScalarText(value: unknown): string | null {
  if (typeof value === "number") return String(value);
  if (typeof value === "string") {
    if (value.charCodeAt(0) !== 0) return value;
    return value[1] === "N" ? integralText(value.slice(2)) : value.slice(2);
  }
  if (typeof value === "boolean") return value ? "true" : "false";
  if (Array.isArray(value)) return value.map((v) => markedScalarText(v) ?? "").join(",");
  return null;
}
