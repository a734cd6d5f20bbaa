/**
 * Runtime values of the emulated RouterOS console: what `[...]` substitutions return, what `:put`
 * prints and what `:serialize to=json` encodes.
 */
export type RosValue =
  | { readonly t: "nil" }
  | { readonly t: "str"; readonly v: string }
  | { readonly t: "num"; readonly v: bigint }
  | { readonly t: "bool"; readonly v: boolean }
  | { readonly t: "id"; readonly v: number; readonly opaque?: boolean }
  | { readonly t: "array"; readonly v: readonly RosValue[] }
  | {
      readonly t: "map";
      readonly v: ReadonlyArray<readonly [string, RosValue]>;
      /** Kept and encoded many times (a cached item's whole record): its JSON is kept with it. */
      readonly lasting?: boolean;
    };

export const NIL: RosValue = { t: "nil" };
export const str = (v: string): RosValue => ({ t: "str", v });
export const num = (v: bigint | number): RosValue => ({ t: "num", v: BigInt(v) });
export const bool = (v: boolean): RosValue => ({ t: "bool", v });
export const itemId = (v: number, opaque = false): RosValue =>
  opaque ? { t: "id", v, opaque } : { t: "id", v };
export const array = (v: readonly RosValue[]): RosValue => ({ t: "array", v });
export const map = (v: ReadonlyArray<readonly [string, RosValue]>): RosValue => ({ t: "map", v });
export const lastingMap = (v: ReadonlyArray<readonly [string, RosValue]>): RosValue => ({
  t: "map",
  v,
  lasting: true,
});

/**
 * `*1F`: internal ids are printed as upper-case hex behind a star. `/file` ids on RouterOS 7.2x are
 * opaque instead (`**iCZmBt9q…`, spaces inside): here two stars, eight letters derived from the
 * number (so a guessed id is refused) and the number in base 62 after a space.
 */
export function formatId(id: number, opaque = false): string {
  if (opaque) return `**${scramble(id)} ${base62(id)}`;
  return `*${id.toString(16).toUpperCase()}`;
}

const DIGITS62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

function base62(n: number): string {
  let out = "";
  let rest = n;
  do {
    out = DIGITS62[rest % 62] + out;
    rest = Math.floor(rest / 62);
  } while (rest > 0);
  return out;
}

function scramble(n: number): string {
  let h = (n * 2654435761) >>> 0;
  let out = "";
  for (let i = 0; i < 8; i++) {
    h = Math.imul(h ^ (h >>> 15), 2246822507) >>> 0;
    out += DIGITS62[h % 62];
  }
  return out;
}

/** Parses `*1F` or an opaque `**… …` id; undefined when the text is not an id literal. */
export function parseIdLiteral(text: string): number | undefined {
  if (/^\*[0-9A-Fa-f]{1,8}$/.test(text)) return Number.parseInt(text.slice(1), 16);
  const opaque = /^\*\*([0-9A-Za-z]{8}) ([0-9A-Za-z]{1,6})$/.exec(text);
  if (!opaque) return undefined;
  let n = 0;
  for (const c of opaque[2] as string) n = n * 62 + DIGITS62.indexOf(c);
  return scramble(n) === opaque[1] ? n : undefined;
}

/** The text `:put` prints, and the text a value becomes when used as a command argument. */
export function toText(value: RosValue): string {
  switch (value.t) {
    case "nil":
      return "";
    case "str":
      return value.v;
    case "num":
      return value.v.toString();
    case "bool":
      return value.v ? "true" : "false";
    case "id":
      return formatId(value.v, value.opaque);
    case "array":
      return value.v.map(toText).join(";");
    case "map":
      return value.v.map(([k, v]) => `${k}=${toText(v)}`).join(";");
  }
}

/** Values are immutable, so the JSON of a lasting record (reused across listings) is computed once per form. */
const jsonCache = { integer: new WeakMap<RosValue, string>(), float: new WeakMap<RosValue, string>() };

/** How `:serialize to=json` writes integers: RouterOS 7.2x writes `2048.000000`. */
export type JsonIntegerForm = "integer" | "float";

/** `:serialize to=json`: numbers keep every digit (bigint), as floats with six decimals by default; ids are strings. */
export function toJson(value: RosValue, form: JsonIntegerForm = "integer"): string {
  // A record built for one listing is encoded once: remembering it would only cost the collector.
  if (value.t !== "map" || value.lasting !== true) return encodeJson(value, form);
  const cache = jsonCache[form];
  let text = cache.get(value);
  if (text === undefined) {
    text = encodeJson(value, form);
    cache.set(value, text);
  }
  return text;
}

/** The JSON of record keys: a listing repeats the same few on every item. */
const keyJson = new Map<string, string>();

function jsonKey(key: string): string {
  let text = keyJson.get(key);
  if (text === undefined) {
    text = JSON.stringify(key);
    if (keyJson.size > 1000) keyJson.clear();
    keyJson.set(key, text);
  }
  return text;
}

function encodeJson(value: RosValue, form: JsonIntegerForm): string {
  switch (value.t) {
    case "nil":
      return "null";
    case "str":
      return JSON.stringify(value.v);
    case "num":
      return form === "float" ? `${value.v.toString()}.000000` : value.v.toString();
    case "bool":
      return value.v ? "true" : "false";
    case "id":
      return JSON.stringify(formatId(value.v, value.opaque));
    case "array": {
      let out = "[";
      value.v.forEach((v, i) => {
        out += i === 0 ? toJson(v, form) : `,${toJson(v, form)}`;
      });
      return `${out}]`;
    }
    case "map": {
      let out = "{";
      value.v.forEach(([k, v], i) => {
        out += `${i === 0 ? "" : ","}${jsonKey(k)}:${toJson(v, form)}`;
      });
      return `${out}}`;
    }
  }
}

/** Truthiness used by bare-property `where` terms: set and non-empty, or a true flag. */
export function isTruthy(value: RosValue | undefined): boolean {
  if (value === undefined) return false;
  switch (value.t) {
    case "nil":
      return false;
    case "str":
      return value.v.length > 0;
    case "num":
      return value.v !== 0n;
    case "bool":
      return value.v;
    case "id":
      return true;
    case "array":
    case "map":
      return value.v.length > 0;
  }
}

/** Flattens a value into the list of item ids it names (a `[find]` result, one id, or nothing). */
export function idsOf(value: RosValue): number[] | undefined {
  if (value.t === "id") return [value.v];
  if (value.t === "nil") return [];
  if (value.t === "array") {
    const out: number[] = [];
    for (const v of value.v) {
      if (v.t !== "id") return undefined;
      out.push(v.v);
    }
    return out;
  }
  return undefined;
}
