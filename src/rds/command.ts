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
  | "/system/identity";

const PROPERTY_NAME = /^(\.id|[a-z][a-z0-9-]*)$/;

function propertyName(name: string): string {
  if (!PROPERTY_NAME.test(name)) throw invalidInput(`property name ${JSON.stringify(name)} is not valid`);
  return name;
}

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
  /** `property="a" or property="b" …`: one of several exact values. */
  anyOf(property: string, values: readonly string[]): Condition {
    return where.or(...values.map((v) => where.eq(property, v)));
  },
};

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
 * `/menu print count-only [where …]`: only the number of matching items, so counting costs a few
 * bytes however many there are.
 */
export function printCountCommand(menu: Menu, condition?: Condition): RouterOsCommand {
  return { line: join(menu, "print", "count-only", condition && `where ${condition.text}`), mutating: false };
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
