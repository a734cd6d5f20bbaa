import { protocolError } from "../errors.js";
import { emptyItem, type PrintedItem } from "./properties.js";

/**
 * Parser for `:put [:serialize to=json [… print detail as-value …]]` (RouterOS 7.13+). A small
 * recursive-descent JSON reader instead of JSON.parse because numbers must stay exact: a pool of
 * 16 TB is still a safe integer, but nothing guarantees every counter is, and sizes are bigints
 * everywhere else in the client. Numbers are kept as their source text.
 */

export type JsonValue = null | boolean | string | JsonNumber | JsonValue[] | JsonObject;
export type JsonObject = Map<string, JsonValue>;

export class JsonNumber {
  constructor(readonly text: string) {}
}

const MAX_DEPTH = 32;
const NUMBER = /-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;

class Reader {
  pos = 0;
  constructor(readonly text: string) {}

  fail(what: string): never {
    throw protocolError(`invalid JSON from RouterOS: ${what} at offset ${this.pos}`, this.text.slice(0, 200));
  }

  skipSpace(): void {
    while (this.pos < this.text.length && " \t\r\n".includes(this.text[this.pos]!)) this.pos++;
  }

  value(depth: number): JsonValue {
    if (depth > MAX_DEPTH) this.fail("nesting too deep");
    this.skipSpace();
    const ch = this.text[this.pos];
    if (ch === "{") return this.object(depth);
    if (ch === "[") return this.array(depth);
    if (ch === '"') return this.string();
    if (this.text.startsWith("true", this.pos)) return this.literal("true", true);
    if (this.text.startsWith("false", this.pos)) return this.literal("false", false);
    if (this.text.startsWith("null", this.pos)) return this.literal("null", null);
    NUMBER.lastIndex = this.pos;
    const m = NUMBER.exec(this.text);
    if (!m || m[0].length === 0) this.fail("unexpected character");
    this.pos += m[0].length;
    return new JsonNumber(m[0]);
  }

  literal<T>(word: string, result: T): T {
    this.pos += word.length;
    return result;
  }

  expect(ch: string): void {
    this.skipSpace();
    if (this.text[this.pos] !== ch) this.fail(`expected '${ch}'`);
    this.pos++;
  }

  /** Consumes `close` (returning true) or a comma between members. */
  endOrComma(close: string): boolean {
    this.skipSpace();
    const ch = this.text[this.pos];
    if (ch === close) {
      this.pos++;
      return true;
    }
    if (ch !== ",") this.fail(`expected ',' or '${close}'`);
    this.pos++;
    return false;
  }

  array(depth: number): JsonValue[] {
    this.pos++;
    const out: JsonValue[] = [];
    this.skipSpace();
    if (this.text[this.pos] === "]") {
      this.pos++;
      return out;
    }
    do out.push(this.value(depth + 1));
    while (!this.endOrComma("]"));
    return out;
  }

  object(depth: number): JsonObject {
    this.pos++;
    const out: JsonObject = new Map();
    this.skipSpace();
    if (this.text[this.pos] === "}") {
      this.pos++;
      return out;
    }
    do {
      this.skipSpace();
      if (this.text[this.pos] !== '"') this.fail("expected a key");
      const key = this.string();
      this.expect(":");
      out.set(key, this.value(depth + 1));
    } while (!this.endOrComma("}"));
    return out;
  }

  string(): string {
    this.pos++;
    let out = "";
    let runStart = this.pos;
    while (this.pos < this.text.length) {
      const ch = this.text[this.pos]!;
      if (ch === '"') {
        out += this.text.slice(runStart, this.pos);
        this.pos++;
        return out;
      }
      if (ch === "\\") {
        out += this.text.slice(runStart, this.pos);
        out += this.escape();
        runStart = this.pos;
        continue;
      }
      if (ch < " ") this.fail("control character in a string");
      this.pos++;
    }
    return this.fail("unterminated string");
  }

  escape(): string {
    const ch = this.text[this.pos + 1];
    this.pos += 2;
    switch (ch) {
      case '"':
      case "\\":
      case "/":
        return ch;
      case "b":
        return "\b";
      case "f":
        return "\f";
      case "n":
        return "\n";
      case "r":
        return "\r";
      case "t":
        return "\t";
      case "u": {
        const hex = this.text.slice(this.pos, this.pos + 4);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail("bad \\u escape");
        this.pos += 4;
        return String.fromCharCode(Number.parseInt(hex, 16));
      }
      default:
        return this.fail("bad escape");
    }
  }
}

export function parseJson(text: string): JsonValue {
  // `:put` may wrap a long line; JSON strings from RouterOS never hold a raw line break.
  const reader = new Reader(text.replace(/\r?\n/g, ""));
  const value = reader.value(0);
  reader.skipSpace();
  if (reader.pos !== reader.text.length) reader.fail("trailing characters");
  return value;
}

/** A JSON value as the text `print detail as-value` would show: scalars as printed, lists comma-joined. */
function scalarText(value: JsonValue): string | null {
  if (value === null) return null;
  if (typeof value === "string") return value;
  if (typeof value === "boolean") return value ? "true" : "false";
  if (value instanceof JsonNumber) return value.text;
  if (Array.isArray(value)) return value.map((v) => scalarText(v) ?? "").join(",");
  return null;
}

/** The records of a serialized listing: an array of objects (a single object counts as one record). */
export function parseJsonRecords(text: string): PrintedItem[] {
  if (text.trim() === "") return [];
  const root = parseJson(text);
  const records = (Array.isArray(root) ? root : [root]).filter((r) => !(r instanceof Map && r.size === 0));
  return records.map((record) => {
    if (!(record instanceof Map)) throw protocolError("JSON listing holds a non-object", text.slice(0, 200));
    const item = emptyItem();
    for (const [key, value] of record) {
      const printed = scalarText(value);
      if (printed !== null) item.properties.set(key, printed);
    }
    return item;
  });
}
