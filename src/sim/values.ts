/**
 * Runtime values of the emulated RouterOS console: what `[...]` substitutions return, what `:put`
 * prints and what `:serialize to=json` encodes.
 */
export type RosValue =
  | { readonly t: "nil" }
  | { readonly t: "str"; readonly v: string }
  | { readonly t: "num"; readonly v: bigint }
  | { readonly t: "bool"; readonly v: boolean }
  | { readonly t: "id"; readonly v: number }
  | { readonly t: "array"; readonly v: readonly RosValue[] }
  | { readonly t: "map"; readonly v: ReadonlyArray<readonly [string, RosValue]> };

export const NIL: RosValue = { t: "nil" };
export const str = (v: string): RosValue => ({ t: "str", v });
export const num = (v: bigint | number): RosValue => ({ t: "num", v: BigInt(v) });
export const bool = (v: boolean): RosValue => ({ t: "bool", v });
export const itemId = (v: number): RosValue => ({ t: "id", v });
export const array = (v: readonly RosValue[]): RosValue => ({ t: "array", v });
export const map = (v: ReadonlyArray<readonly [string, RosValue]>): RosValue => ({ t: "map", v });

/** `*1F`: internal ids are printed as upper-case hex behind a star. */
export function formatId(id: number): string {
  return `*${id.toString(16).toUpperCase()}`;
}

/** Parses `*1F`; undefined when the text is not an id literal. */
export function parseIdLiteral(text: string): number | undefined {
  if (!/^\*[0-9A-Fa-f]{1,8}$/.test(text)) return undefined;
  return Number.parseInt(text.slice(1), 16);
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
      return formatId(value.v);
    case "array":
      return value.v.map(toText).join(";");
    case "map":
      return value.v.map(([k, v]) => `${k}=${toText(v)}`).join(";");
  }
}

/** Values are immutable, so the JSON of a record (reused across listings) is computed once. */
const jsonCache = new WeakMap<RosValue, string>();

/** `:serialize to=json`: numbers stay exact (bigint digits), ids are strings. */
export function toJson(value: RosValue): string {
  if (value.t !== "map") return encodeJson(value);
  let text = jsonCache.get(value);
  if (text === undefined) {
    text = encodeJson(value);
    jsonCache.set(value, text);
  }
  return text;
}

function encodeJson(value: RosValue): string {
  switch (value.t) {
    case "nil":
      return "null";
    case "str":
      return JSON.stringify(value.v);
    case "num":
      return value.v.toString();
    case "bool":
      return value.v ? "true" : "false";
    case "id":
      return JSON.stringify(formatId(value.v));
    case "array":
      return `[${value.v.map(toJson).join(",")}]`;
    case "map":
      return `{${value.v.map(([k, v]) => `${JSON.stringify(k)}:${toJson(v)}`).join(",")}}`;
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
