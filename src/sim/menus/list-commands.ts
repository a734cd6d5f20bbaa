import { rosErrors } from "../errors.js";
import { formatDetail, formatTable, formatTerse, type PrintRow } from "../printer.js";
import type { ArgSpec, CommandSpec, ExecContext, Invocation, ResolvedWhere } from "../schema.js";
import { array, NIL, num, parseIdLiteral, toText } from "../values.js";
import { whereMatches } from "../where-eval.js";
import { type ListScope, scopeOf, scopeOfTargets } from "./scope.js";
import {
  checkIdLiterals,
  idOf,
  lookupFor,
  recordOf,
  resolveTargets,
  type Table,
  type TableItem,
} from "./table.js";

const flag = (name: string, since?: string): ArgSpec => ({ name, kind: "flag", ...(since ? { since } : {}) });

export const PRINT_ARGS: readonly ArgSpec[] = [
  flag("detail"),
  flag("terse"),
  flag("brief"),
  flag("count-only"),
  flag("as-value"),
  flag("without-paging"),
  flag("show-ids"),
  { name: "proplist", kind: "string" },
  { name: "from", kind: "items" },
];

/** The items a command targets through its `numbers` argument; missing argument is an error. */
export async function targetItems(
  inv: Invocation,
  table: Table,
  proplist?: readonly string[],
): Promise<{ all: TableItem[]; targets: TableItem[] }> {
  const value = inv.args.get("numbers");
  if (value === undefined) throw rosErrors.missingArgs(["numbers"]);
  const ctx = proplist === undefined ? inv.ctx : { ...inv.ctx, proplist };
  // A `[find]` result names its items by id: only those are read.
  const all = await table.list(ctx, scopeOfTargets(value));
  return { all, targets: resolveTargets(all, value, inv.cols.get("numbers") ?? 1) };
}

function filterItems(
  table: Table,
  items: readonly TableItem[],
  where: ResolvedWhere | null,
  scoped = false,
): TableItem[] {
  if (where === null) return [...items];
  // Over a scoped read an id literal may name an item left out, so it is only checked over all items.
  if (!scoped) checkIdLiterals(where, items);
  return items.filter((item) => whereMatches(where, lookupFor(item, table.flags)));
}

function rowsOf(
  all: readonly TableItem[],
  selected: readonly TableItem[],
  proplist?: readonly string[],
): PrintRow[] {
  const positions = new Map(all.map((item, i) => [item.id, i]));
  return selected.map((item) => ({
    index: positions.get(item.id) ?? 0,
    flags: item.flags,
    ...(item.comment !== undefined ? { comment: item.comment } : {}),
    props: proplist ? item.props.filter((p) => proplist.includes(p.name)) : item.props,
  }));
}

function printOptions(ctx: ExecContext) {
  return {
    width: ctx.width,
    humanThreshold: ctx.settings.human_size_threshold,
    separator: ctx.settings.detail_item_separator,
    emptyLegend: ctx.settings.empty_print_legend,
  };
}

/**
 * The items a print shows: the whole table, narrowed by `from=` and `where`. A print that shows no
 * item numbers (`as-value`, `count-only`) reads only what its `where` can match; the others read
 * every item, since an item's number is its position in the whole table.
 */
export async function selectItems(
  table: Table,
  inv: Invocation,
  proplist?: readonly string[],
): Promise<{ all: TableItem[]; selected: TableItem[] }> {
  const from = inv.args.get("from");
  const ctx = proplist === undefined ? inv.ctx : { ...inv.ctx, proplist };
  const numbered = !inv.args.has("as-value") && !inv.args.has("count-only");
  const scope = from === undefined && !numbered ? scopeOf(inv.where) : undefined;
  const all = await table.list(ctx, scope);
  if (scope !== undefined && inv.where !== null && hasIdLiteral(inv.where)) {
    checkIdLiterals(inv.where, await table.list(ctx, idScope(inv.where)));
  }
  const base = from === undefined ? all : resolveTargets(all, from, inv.cols.get("from") ?? 1);
  return { all, selected: filterItems(table, base, inv.where, scope !== undefined) };
}

export function printCommand(table: Table): CommandSpec {
  return {
    name: "print",
    args: PRINT_ARGS,
    where: true,
    async run(inv) {
      const proplistText = inv.args.get("proplist");
      const proplist = proplistText ? toText(proplistText).split(",") : undefined;
      const { all, selected } = await selectItems(table, inv, proplist);
      if (inv.args.has("count-only")) {
        if (!inv.nested) inv.ctx.write(String(selected.length));
        return num(selected.length);
      }
      if (inv.args.has("as-value"))
        return array(
          selected.map((item) => recordOf(item, table.flags, proplist, inv.ctx.settings.proplist_keeps_id)),
        );
      const rows = rowsOf(all, selected, proplist);
      const opts = printOptions(inv.ctx);
      const lines = inv.args.has("detail")
        ? formatDetail(table.flags, rows, opts)
        : inv.args.has("terse")
          ? formatTerse(table.flags, rows, opts.humanThreshold)
          : formatTable(table.flags, table.columns, rows, opts);
      for (const line of lines) inv.ctx.write(line);
      return NIL;
    },
  };
}

/** `find prop=value … [where …]`: the ids of matching items, in print order. */
export function findCommand(table: Table): CommandSpec {
  return {
    name: "find",
    // `[find .id=*N]` is valid RouterOS, like any other property.
    args: [".id", ...table.properties].map((name) => ({ name, kind: "any" as const })),
    where: true,
    async run(inv) {
      let where: ResolvedWhere | null = inv.where;
      for (const [prop, value] of inv.args) {
        const term: ResolvedWhere = { kind: "compare", prop, op: "=", value, col: inv.cols.get(prop) ?? 1 };
        where = where === null ? term : { kind: "and", left: term, right: where };
      }
      // `find` shows no numbers: only what the condition can match is read.
      const scope = scopeOf(where);
      // `find` reads no contents.
      const ctx = { ...inv.ctx, proplist: [".id"] };
      const all = await table.list(ctx, scope);
      if (scope !== undefined && where !== null && hasIdLiteral(where)) {
        checkIdLiterals(where, await table.list(ctx, idScope(where)));
      }
      return array(filterItems(table, all, where, scope !== undefined).map(idOf));
    },
  };
}

/** `get <numbers> [<value-name>]`: one property's script value, or the whole record. */
export function getCommand(table: Table): CommandSpec {
  return {
    name: "get",
    args: [
      { name: "numbers", kind: "items" },
      { name: "value-name", kind: "string" },
    ],
    unnamed: ["numbers", "value-name"],
    async run(inv) {
      const name = inv.args.get("value-name");
      const { targets } = await targetItems(inv, table, name === undefined ? undefined : [toText(name)]);
      const item = targets[0];
      if (!item) throw rosErrors.noSuchItem();
      if (name === undefined) return recordOf(item, table.flags);
      const key = toText(name);
      if (key === ".id" || !table.properties.includes(key)) throw rosErrors.noMatch("value-name");
      return lookupFor(item, table.flags)(key) ?? NIL;
    },
  };
}

export function readCommands(table: Table): CommandSpec[] {
  return [printCommand(table), findCommand(table), getCommand(table)];
}

function hasIdLiteral(where: ResolvedWhere): boolean {
  switch (where.kind) {
    case "and":
    case "or":
      return hasIdLiteral(where.left) || hasIdLiteral(where.right);
    case "not":
    case "is":
      return hasIdLiteral(where.inner);
    case "truthy":
      return false;
    case "compare":
      return where.prop === ".id";
  }
}

/** The items `.id` literals of a condition name (checked to exist, as over the whole table). */
function idScope(where: ResolvedWhere): ListScope {
  const ids: number[] = [];
  const visit = (w: ResolvedWhere): void => {
    if (w.kind === "and" || w.kind === "or") {
      visit(w.left);
      visit(w.right);
    } else if (w.kind === "not" || w.kind === "is") visit(w.inner);
    else if (w.kind === "compare" && w.prop === ".id" && w.value !== undefined) {
      const id = w.value.t === "id" ? w.value.v : parseIdLiteral(toText(w.value));
      if (id !== undefined) ids.push(id);
    }
  };
  visit(where);
  return { kind: "ids", ids };
}
