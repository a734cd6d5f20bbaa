import { invalidInput } from "./errors.js";
import { isBareWord, quoteString, validateId, validateText } from "./quote.js";

/**
 * The command builder: the only code that assembles RouterOS command lines. A line is made of
 * `Fragment`s, and a Fragment can only be created here from a validated or quoted value, so raw
 * input cannot be concatenated into a command anywhere else.
 */

const SAFE: unique symbol = Symbol("routeros-fragment");

/** A piece of a command line that is safe to send: a validated word or a quoted string. */
export interface Fragment {
  readonly [SAFE]: true;
  readonly text: string;
}

function fragment(text: string): Fragment {
  return { [SAFE]: true, text };
}

/** A complete command line, and whether it changes state (the retry policy depends on it). */
export interface RouterOsCommand {
  readonly line: string;
  readonly mutating: boolean;
}

/** The menus this client talks to. A fixed list: menu words are never taken from input. */
export type Menu =
  | "/disk"
  | "/disk/btrfs/subvolume"
  | "/disk/btrfs/filesystem"
  | "/file"
  | "/system/resource"
  | "/system/identity"
  | "/system/package";

const PROPERTY_NAME = /^(\.id|[a-z][a-z0-9-]*)$/;

function propertyName(name: string): string {
  if (!PROPERTY_NAME.test(name)) throw invalidInput(`property name ${JSON.stringify(name)} is not valid`);
  return name;
}

const SIZE_SUFFIXES: ReadonlyArray<readonly [string, bigint]> = [
  ["T", 1024n ** 4n],
  ["G", 1024n ** 3n],
  ["M", 1024n ** 2n],
  ["k", 1024n],
];

/** Value constructors for `name=value` arguments. */
export const value = {
  /** Always quoted: free text, paths, anything that may hold `/`, `:` or spaces. */
  string(text: string, what = "value"): Fragment {
    return fragment(quoteString(text, what));
  },
  /** Bare when it is in the safe unquoted set, quoted otherwise. */
  word(text: string, what = "value"): Fragment {
    validateText(text, what);
    return fragment(isBareWord(text) ? text : quoteString(text, what));
  },
  /** An item name checked against the id allow-list; sent bare. */
  id(text: string, what = "id"): Fragment {
    return fragment(validateId(text, what));
  },
  bool(flag: boolean): Fragment {
    return fragment(flag ? "yes" : "no");
  },
  /**
   * A byte count with the largest binary suffix that divides it (`1024M`, `5G`, `1T`): RouterOS
   * is seen taking `file-size=50G`; whether it takes plain bytes is unknown. A count no suffix
   * divides is sent as digits.
   */
  size(bytes: bigint, what = "size"): Fragment {
    if (typeof bytes !== "bigint" || bytes < 0n)
      throw invalidInput(`${what} ${String(bytes)} is not a byte count`);
    for (const [suffix, unit] of SIZE_SUFFIXES) {
      if (bytes > 0n && bytes % unit === 0n) return fragment(`${bytes / unit}${suffix}`);
    }
    return fragment(bytes.toString());
  },
  /** A non-negative integer, e.g. a byte count, sent as plain decimal digits. */
  integer(n: bigint | number, what = "number"): Fragment {
    const big = typeof n === "bigint" ? n : Number.isSafeInteger(n) ? BigInt(n) : -1n;
    if (big < 0n) throw invalidInput(`${what} ${String(n)} is not a non-negative integer`);
    return fragment(big.toString());
  },
};

/** A `where` expression. Values in it are always quoted (reference §1.5: `/` and `:` need quotes). */
export interface Condition {
  readonly [SAFE]: true;
  readonly text: string;
  readonly condition: true;
}

function condition(text: string): Condition {
  return { [SAFE]: true, text, condition: true };
}

/**
 * A regex matching `text` literally. Prefixes are limited to the path/id character set, whose
 * only metacharacter is `.`; it becomes `[.]`, which needs no backslash (and so no RouterOS escape).
 */
function literalRegex(text: string): string {
  if (!/^[A-Za-z0-9._/-]*$/.test(text)) throw invalidInput(`prefix ${JSON.stringify(text)} is not valid`);
  return text.replaceAll(".", "[.]");
}

export const where = {
  eq(property: string, text: string): Condition {
    return condition(`${propertyName(property)}=${quoteString(text, property)}`);
  },
  /** `property~"^prefix"`; the prefix is matched literally. An empty prefix matches everything. */
  startsWith(property: string, prefix: string): Condition {
    return condition(`${propertyName(property)}~${quoteString(`^${literalRegex(prefix)}`, property)}`);
  },
  /**
   * A path property (`fullname`) equal to `path` whether RouterOS prints it with a leading slash
   * or without (unknown for subvolumes): `path="a/b" or path="/a/b"`.
   */
  pathIs(property: string, path: string): Condition {
    const bare = path.replace(/^\/+/, "");
    return where.or(where.eq(property, bare), where.eq(property, `/${bare}`));
  },
  /** A path property starting with `prefix`, with or without a leading slash: `path~"^/?prefix"`. */
  pathStartsWith(property: string, prefix: string): Condition {
    const bare = prefix.replace(/^\/+/, "");
    return condition(`${propertyName(property)}~${quoteString(`^/?${literalRegex(bare)}`, property)}`);
  },
  /**
   * A subvolume's `fs` naming the Btrfs filesystem labelled `label`: RouterOS may print the label
   * or the filesystem's uuid there (unknown), so both are compared, the uuid looked up in the same
   * line: `fs="L" or fs=[/disk/btrfs/filesystem get [find where label="L"] uuid]`.
   */
  fsIs(label: string): Condition {
    const quoted = quoteString(label, "fs");
    return condition(`(fs=${quoted}) or (fs=[/disk/btrfs/filesystem get [find where label=${quoted}] uuid])`);
  },
  and(...conditions: Condition[]): Condition {
    if (conditions.length === 0) throw invalidInput("empty condition");
    if (conditions.length === 1) return conditions[0]!;
    return condition(conditions.map((c) => `(${c.text})`).join(" and "));
  },
  or(...conditions: Condition[]): Condition {
    if (conditions.length === 0) throw invalidInput("empty condition");
    if (conditions.length === 1) return conditions[0]!;
    return condition(conditions.map((c) => `(${c.text})`).join(" or "));
  },
  /**
   * `property~"^prefix(…)"`: values that start with `prefix` followed by a hex number between `from`
   * and `to` (inclusive; lower-case hex strings of the same length, compared digit by digit), e.g. the
   * ids in a slice of the id space. Built only of literal hex digits and classes of them.
   */
  hexRange(property: string, prefix: string, from: string, to: string): Condition {
    const body = hexAlternatives(from, to);
    return condition(`${propertyName(property)}~${quoteString(`^${literalRegex(prefix)}${body}`, property)}`);
  },
  /**
   * A path property that is exactly `base` followed by one component per entry of `idPrefixes`,
   * each named `<prefix><lower-case version-5 UUID>` (the driver's volume and snapshot ids), with
   * or without a leading slash: `path~"^/?base/pvc-<uuid>$"`. Deeper or differently named
   * entries do not match, so RouterOS can count exactly the driver's objects. Built only of
   * literal text and classes of hex digits (no `{n}` bounds, whose support is not documented).
   */
  pathOfIds(property: string, base: string, idPrefixes: readonly string[]): Condition {
    if (idPrefixes.length === 0) throw invalidInput("pathOfIds needs at least one id component");
    const bare = base.replace(/^\/+|\/+$/g, "");
    const ids = idPrefixes.map((prefix) => `${literalRegex(prefix)}${UUID_V5_REGEX}`);
    return condition(
      `${propertyName(property)}~${quoteString(`^/?${literalRegex(bare)}/${ids.join("/")}$`, property)}`,
    );
  },
  /**
   * `property~"^…"`: paths made of `components` (see `PathComponent`), e.g. the images of the
   * snapshots in a slice of the id space, whatever volume each lies under. What follows the last
   * component is free. Built only of literal path characters, `[^/]` and hex ranges.
   */
  pathPattern(property: string, components: readonly PathComponent[]): Condition {
    return condition(`${propertyName(property)}~${quoteString(pathPatternSource(components), property)}`);
  },
  /** `property="a" or property="b" …`: one of several exact values. */
  anyOf(property: string, values: readonly string[]): Condition {
    return where.or(...values.map((v) => where.eq(property, v)));
  },
};

/**
 * One component of a path pattern: a literal name, any one name, or a name starting with `prefix`
 * and a hex number between `from` and `to` (as `where.hexRange`), then anything up to the next `/`.
 */
export type PathComponent =
  | { readonly literal: string }
  | { readonly any: true }
  | { readonly hexRange: { readonly prefix: string; readonly from: string; readonly to: string } };

/**
 * The anchored regular expression of a path pattern: POSIX extended and JavaScript read it the same
 * way (literal characters, `[.]`, `[^/]`, classes of hex digits, groups of alternatives), so the
 * client can apply the very condition it sent to what comes back (`pathPatternMatcher`).
 */
export function pathPatternSource(components: readonly PathComponent[]): string {
  if (components.length === 0) throw invalidInput("empty path pattern");
  const parts = components.map((c) => {
    if ("literal" in c) {
      if (c.literal === "" || c.literal.includes("/")) {
        throw invalidInput(`path component ${JSON.stringify(c.literal)} is not one name`);
      }
      return literalRegex(c.literal);
    }
    if ("any" in c) return "[^/]+";
    const { prefix, from, to } = c.hexRange;
    if (prefix.includes("/")) throw invalidInput(`name prefix ${JSON.stringify(prefix)} holds a slash`);
    return `${literalRegex(prefix)}${hexAlternatives(from, to)}[^/]*`;
  });
  return `^${parts.join("/")}`;
}

/** A test of a path against `pathPatternSource(components)`, for filtering a reply again. */
export function pathPatternMatcher(components: readonly PathComponent[]): (path: string) => boolean {
  const re = new RegExp(pathPatternSource(components));
  return (path) => re.test(path);
}

/** `(…|…)` of `hexRangeParts`, or the single part; bounds checked as `where.hexRange` does. */
function hexAlternatives(from: string, to: string): string {
  if (!/^[0-9a-f]+$/.test(from) || from.length !== to.length || !/^[0-9a-f]+$/.test(to) || from > to) {
    throw invalidInput(`hex range ${from}..${to} is not valid`);
  }
  const parts = hexRangeParts(from, to);
  return parts.length === 1 ? (parts[0] as string) : `(${parts.join("|")})`;
}

const HEX = "0123456789abcdef";

/** A lower-case version-5 UUID (what uuid's v5() prints), spelled without `{n}` bounds. */
const UUID_V5_REGEX = (() => {
  const hex = (n: number) => "[0-9a-f]".repeat(n);
  return `${hex(8)}-${hex(4)}-5${hex(3)}-[89ab]${hex(3)}-${hex(12)}`;
})();

/** A class of the hex digits `a`..`b` (`5`, `[5-9a-c]`), without ranges that cross `9`–`a`. */
function hexClass(a: string, b: string): string {
  if (a === b) return a;
  const i = HEX.indexOf(a);
  const j = HEX.indexOf(b);
  const digits = HEX.slice(i, j + 1);
  const runs = [digits.replace(/[a-f]/g, ""), digits.replace(/[0-9]/g, "")]
    .filter((r) => r !== "")
    .map((r) => (r.length === 1 ? r : r.length === 2 ? r : `${r[0]}-${r[r.length - 1]}`));
  return `[${runs.join("")}]`;
}

/**
 * Regex alternatives matching every hex string of the same length between `from` and `to`
 * (inclusive) as a prefix; what follows is free, so trailing "any digit" positions are left out.
 */
export function hexRangeParts(from: string, to: string): string[] {
  if (from === to) return [from];
  const a = from[0] as string;
  const b = to[0] as string;
  const restFrom = from.slice(1);
  const restTo = to.slice(1);
  if (a === b) return hexRangeParts(restFrom, restTo).map((p) => a + p);
  const out: string[] = [];
  let low = HEX.indexOf(a);
  let high = HEX.indexOf(b);
  if (!/^0*$/.test(restFrom)) {
    out.push(...hexRangeParts(restFrom, "f".repeat(restFrom.length)).map((p) => a + p));
    low += 1;
  }
  const tail: string[] = [];
  if (!/^f*$/.test(restTo)) {
    tail.push(...hexRangeParts("0".repeat(restTo.length), restTo).map((p) => b + p));
    high -= 1;
  }
  if (low <= high) out.push(hexClass(HEX[low] as string, HEX[high] as string));
  return [...out, ...tail];
}

/** `:put [:len [/menu find where …]]`: how many items match, without printing them. */
export function countCommand(menu: Menu, condition: Condition): RouterOsCommand {
  return { line: `:put [:len [${join(menu, "find", `where ${condition.text}`)}]]`, mutating: false };
}

/** `[find where …]`: the target form for set/remove/get. An empty result makes set/remove a no-op. */
export function findWhere(match: Condition): Fragment {
  return fragment(`[find where ${match.text}]`);
}

export type Arguments = ReadonlyArray<readonly [name: string, value: Fragment | undefined]>;

function argumentText(args: Arguments): string {
  const parts: string[] = [];
  for (const [name, v] of args) if (v !== undefined) parts.push(`${propertyName(name)}=${v.text}`);
  return parts.join(" ");
}

function join(...parts: Array<string | undefined>): string {
  return parts.filter((p) => p !== undefined && p !== "").join(" ");
}

export function addCommand(menu: Menu, args: Arguments): RouterOsCommand {
  return { line: join(menu, "add", argumentText(args)), mutating: true };
}

export function setCommand(menu: Menu, target: Fragment, args: Arguments): RouterOsCommand {
  return { line: join(menu, "set", target.text, argumentText(args)), mutating: true };
}

export function removeCommand(menu: Menu, target: Fragment): RouterOsCommand {
  return { line: join(menu, "remove", target.text), mutating: true };
}

/** Which properties a print shows (`proplist=a,b`); every name is checked, `.id` is allowed. */
export type Proplist = readonly string[];

function proplistText(proplist: Proplist | undefined): string | undefined {
  if (proplist === undefined) return undefined;
  if (proplist.length === 0) throw invalidInput("empty proplist");
  return `proplist=${proplist.map(propertyName).join(",")}`;
}

/** Human-oriented detail listing: `/menu print detail [proplist=…] [where …]`. */
export function printDetailCommand(menu: Menu, condition?: Condition, proplist?: Proplist): RouterOsCommand {
  return {
    line: join(menu, "print", "detail", proplistText(proplist), condition && `where ${condition.text}`),
    mutating: false,
  };
}

function printAsValue(menu: Menu, condition?: Condition, proplist?: Proplist): string {
  return join(
    menu,
    "print",
    "detail",
    "as-value",
    proplistText(proplist),
    condition && `where ${condition.text}`,
  );
}

/**
 * `:put [/menu print detail as-value [proplist=…] [where …]]`: exact numbers, records joined by `;`.
 * Each record starts at `.id=` (that is how the parser tells records apart), so a proplist always
 * includes `.id`.
 */
export function printAsValueCommand(menu: Menu, condition?: Condition, proplist?: Proplist): RouterOsCommand {
  const withId = proplist === undefined || proplist.includes(".id") ? proplist : [".id", ...proplist];
  return { line: `:put [${printAsValue(menu, condition, withId)}]`, mutating: false };
}

/** `:put [:serialize to=json [/menu print detail as-value …]]` (RouterOS 7.13+): one JSON array. */
export function printJsonCommand(menu: Menu, condition?: Condition, proplist?: Proplist): RouterOsCommand {
  return { line: `:put [:serialize to=json [${printAsValue(menu, condition, proplist)}]]`, mutating: false };
}

/** `:put "<text>"`: prints a quoted constant (batch separators, `rds-csi doctor` markers). */
export function putCommand(text: string): RouterOsCommand {
  return { line: `:put ${quoteString(text)}`, mutating: false };
}

/** `:put [/menu get [target] property]`: one raw value. */
export function getValueCommand(menu: Menu, property: string, target?: Fragment): RouterOsCommand {
  return { line: `:put [${join(menu, "get", target?.text, propertyName(property))}]`, mutating: false };
}

/**
 * The line printed between the replies of a batch. A constant, never input. No listing form can
 * print it as a line of its own: print detail lines start with an index, flags or indentation,
 * as-value with `.id=` (or nothing), JSON with `[`.
 */
export const BATCH_SEPARATOR = "--- rds-csi: next reply ---";

const SEPARATOR_COMMAND = `:put ${quoteString(BATCH_SEPARATOR)}`;

/**
 * Several commands as one exec line, `;`-separated with the separator printed between them.
 * RouterOS runs them in order and stops at the first error (reference §1.1), so the reply holds
 * one part per command that ran, the last of them possibly an error. Mutating when any part is.
 */
export function batchCommand(commands: readonly RouterOsCommand[]): RouterOsCommand {
  if (commands.length === 0) throw invalidInput("empty batch");
  return {
    line: commands.map((c) => c.line).join(`; ${SEPARATOR_COMMAND}; `),
    mutating: commands.some((c) => c.mutating),
  };
}

/** The replies of a batch, in order; fewer than sent when RouterOS stopped at an error. */
export function splitBatchReply(stdout: string): string[] {
  // Found with indexOf rather than by splitting every line: a batch reply may be megabytes.
  const parts: string[] = [];
  let partStart = 0;
  let from = 0;
  for (;;) {
    const at = stdout.indexOf(BATCH_SEPARATOR, from);
    if (at < 0) break;
    from = at + BATCH_SEPARATOR.length;
    const lineEnd = stdout.indexOf("\n", from);
    const rest = stdout.slice(from, lineEnd < 0 ? stdout.length : lineEnd);
    // Only a whole line that is the separator (trailing blanks and CR allowed) separates.
    if ((at > 0 && stdout[at - 1] !== "\n") || rest.replace(/\r$/, "").trimEnd() !== "") continue;
    parts.push(at === 0 ? "" : stdout.slice(partStart, at - 1));
    partStart = lineEnd < 0 ? stdout.length : lineEnd + 1;
    from = partStart;
  }
  parts.push(stdout.slice(partStart));
  return parts;
}
