import { rosErrors } from "../errors.js";
import type { FlagDef, PropValue, TableColumn } from "../printer.js";
import type { ExecContext, ResolvedWhere } from "../schema.js";
import {
  bool,
  idsOf,
  itemId,
  lastingMap,
  map,
  parseIdLiteral,
  type RosValue,
  str,
  toText,
} from "../values.js";
import type { PropLookup } from "../where-eval.js";
import type { ListScope } from "./scope.js";

/** One item of a list menu, in the shape every generic command (print, find, get) understands. */
export interface TableItem {
  readonly id: number;
  /** What an unnamed target matches: `slot` of a disk, `name` of a subvolume or file. */
  readonly name: string;
  /** Further exact matches for an unnamed target, preferred over `name` (a subvolume's fullname). */
  readonly aliases?: readonly string[];
  readonly flags: ReadonlySet<string>;
  readonly comment?: string;
  /** Properties in `print detail` order. */
  readonly props: readonly PropValue[];
  /** Properties readable by `get`, `where` and `as-value` but not shown by `print detail`. */
  readonly hidden?: readonly PropValue[];
  /** The item's id is printed in RouterOS's opaque form (`/file`, setting `file_id_form`). */
  readonly opaqueId?: boolean;
}

/** The script value of an item's id. */
export function idOf(item: TableItem): RosValue {
  return itemId(item.id, item.opaqueId === true);
}

export interface Table {
  readonly flags: readonly FlagDef[];
  readonly columns: readonly TableColumn[];
  /** Property names `find name=value` and `get value-name` accept. */
  readonly properties: readonly string[];
  /**
   * The items in print order. With a scope, a table may return only the items the scope allows
   * (in the same relative order) instead of all of them; tables that cannot narrow return all.
   */
  list(ctx: ExecContext, scope?: ListScope): Promise<TableItem[]>;
}

/** Property lookup used by `where`: `.id`, flags as booleans, comment, shown and hidden properties. */
export function lookupFor(item: TableItem, flags: readonly FlagDef[]): PropLookup {
  return (name) => {
    if (name === ".id") return idOf(item);
    if (name === "comment") return item.comment === undefined ? undefined : str(item.comment);
    const prop = propNamed(item.props, name) ?? (item.hidden && propNamed(item.hidden, name));
    if (prop) return prop.value;
    if (flags.some((f) => f.name === name)) return bool(item.flags.has(name));
    return undefined;
  };
}

/**
 * Where a property was last found in an item's list: the items of a table share one layout, so a
 * `where` over many items looks there first instead of searching every item's list.
 */
const lastPosition = new Map<string, number>();

function propNamed(props: readonly PropValue[], name: string): PropValue | undefined {
  const at = lastPosition.get(name);
  if (at !== undefined && props[at]?.name === name) return props[at];
  const found = props.findIndex((p) => p.name === name);
  if (found < 0) return undefined;
  if (lastPosition.size > 500) lastPosition.clear();
  lastPosition.set(name, found);
  return props[found];
}

/** Sorted key orders by item shape: every item of a table has the same keys, so sort once. */
const keyOrders = new Map<string, string[]>();

/** Records of immutable items (a cached subvolume listing) are built once. */
const records = new WeakMap<TableItem, RosValue>();

/** The `as-value` record: `.id` first, then every key in alphabetical order. */
export function recordOf(
  item: TableItem,
  flags: readonly FlagDef[],
  proplist?: readonly string[],
  keepsId = true,
): RosValue {
  if (proplist) return pickRecord(item, flags, proplist, keepsId);
  let record = records.get(item);
  if (!record) {
    record = wholeRecord(item, flags);
    records.set(item, record);
  }
  return record;
}

function wholeRecord(item: TableItem, flags: readonly FlagDef[]): RosValue {
  const entries = new Map<string, RosValue>();
  for (const f of flags) entries.set(f.name, bool(item.flags.has(f.name)));
  if (item.comment !== undefined) entries.set("comment", str(item.comment));
  for (const p of item.props) entries.set(p.name, p.value);
  if (item.hidden) for (const p of item.hidden) entries.set(p.name, p.value);
  const shape = [...entries.keys()].join(",");
  let keys = keyOrders.get(shape);
  if (!keys) {
    keys = [...entries.keys()].sort();
    if (keyOrders.size > 200) keyOrders.clear();
    keyOrders.set(shape, keys);
  }
  const record: Array<readonly [string, RosValue]> = [[".id", idOf(item)]];
  for (const k of keys) record.push([k, entries.get(k) as RosValue]);
  // Kept per item (see `records`): its JSON is kept too.
  return lastingMap(record);
}

/** A `proplist`'s names in record order (alphabetical, each once, without `.id`), by the list's text. */
const pickOrders = new Map<string, string[]>();

/**
 * The record of the listed properties alone: the same keys, values and order as the whole record
 * narrowed to `proplist`, without building the whole record of every item of a listing.
 */
function pickRecord(
  item: TableItem,
  flags: readonly FlagDef[],
  proplist: readonly string[],
  keepsId: boolean,
): RosValue {
  const text = proplist.join(",");
  let names = pickOrders.get(text);
  if (!names) {
    names = [...new Set(proplist)].filter((name) => name !== ".id").sort();
    if (pickOrders.size > 200) pickOrders.clear();
    pickOrders.set(text, names);
  }
  const record: Array<readonly [string, RosValue]> = [];
  if (keepsId || proplist.includes(".id")) record.push([".id", idOf(item)]);
  for (const name of names) {
    const value = recordValue(item, flags, name);
    if (value !== undefined) record.push([name, value]);
  }
  return map(record);
}

/** A key of the whole record: what it was set to last (flags, then comment, props, hidden props). */
function recordValue(item: TableItem, flags: readonly FlagDef[], name: string): RosValue | undefined {
  const hidden = item.hidden === undefined ? undefined : lastNamed(item.hidden, name);
  if (hidden) return hidden.value;
  const prop = lastNamed(item.props, name);
  if (prop) return prop.value;
  if (name === "comment" && item.comment !== undefined) return str(item.comment);
  if (flags.some((f) => f.name === name)) return bool(item.flags.has(name));
  return undefined;
}

function lastNamed(props: readonly PropValue[], name: string): PropValue | undefined {
  for (let i = props.length - 1; i >= 0; i--) if ((props[i] as PropValue).name === name) return props[i];
  return undefined;
}

/**
 * Resolves an unnamed target (`numbers`): a `[find]` result, `*id`, a print index, a name, or a comma
 * list of them. Unknown ids answer `expected item id`, unknown names and indexes `no such item`.
 */
export function resolveTargets(items: readonly TableItem[], value: RosValue, col: number): TableItem[] {
  const ids = idsOf(value);
  if (ids !== undefined) return ids.map((id) => byId(items, id, col));
  const out: TableItem[] = [];
  for (const part of toText(value).split(",")) {
    if (part === "") continue;
    const id = parseIdLiteral(part);
    if (id !== undefined) {
      out.push(byId(items, id, col));
      continue;
    }
    if (/^\d+$/.test(part)) {
      const item = items[Number(part)];
      if (!item) throw rosErrors.noSuchItem();
      out.push(item);
      continue;
    }
    out.push(byName(items, part));
  }
  return out;
}

function byId(items: readonly TableItem[], id: number, col: number): TableItem {
  const item = items.find((i) => i.id === id);
  if (!item) throw rosErrors.expectedItemId(col);
  return item;
}

function byName(items: readonly TableItem[], name: string): TableItem {
  const alias = items.filter((i) => i.aliases?.includes(name));
  if (alias.length === 1) return alias[0] as TableItem;
  const named = items.filter((i) => i.name === name);
  if (named.length === 1) return named[0] as TableItem;
  if (named.length > 1) throw rosErrors.ambiguous("numbers");
  throw rosErrors.noSuchItem();
}

/** `where .id=*N` with a malformed or unknown id is an error, not an empty result. */
export function checkIdLiterals(where: ResolvedWhere | null, items: readonly TableItem[]): void {
  if (where === null) return;
  switch (where.kind) {
    case "and":
    case "or":
      checkIdLiterals(where.left, items);
      checkIdLiterals(where.right, items);
      return;
    case "not":
    case "is":
      checkIdLiterals(where.inner, items);
      return;
    case "truthy":
      return;
    case "compare": {
      if (where.prop !== ".id" || where.value === undefined) return;
      const id = where.value.t === "id" ? where.value.v : parseIdLiteral(toText(where.value));
      if (id === undefined || !items.some((i) => i.id === id)) throw rosErrors.expectedItemId(where.col);
    }
  }
}
