import { rosErrors } from "../errors.js";
import type { CommandSpec, ExecContext, MenuSpec } from "../schema.js";
import { map, NIL, type RosValue, toText } from "../values.js";

/** A singleton menu's property: its printed text and its script value. */
export interface Field {
  readonly name: string;
  readonly text: string;
  readonly value: RosValue;
}

/** `  name: RDS`: keys right-aligned to the longest key plus two spaces. */
export function formatSingleton(fields: readonly Field[]): string[] {
  const width = Math.max(...fields.map((f) => f.name.length)) + 2;
  return fields.map((f) => `${f.name.padStart(width, " ")}: ${f.text}`);
}

/** A singleton's script value: its keys in alphabetical order, as RouterOS lists them. */
function sortedRecord(fields: readonly Field[]): RosValue {
  return map(
    [...fields]
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .map((f) => [f.name, f.value] as const),
  );
}

/** A menu with exactly one item (`/system/identity`, `/ip/ssh`): `print` shows `key: value` lines. */
export function singletonMenu(
  name: string,
  path: string,
  fields: (ctx: ExecContext) => Field[],
  extra: CommandSpec[] = [],
): MenuSpec {
  const print: CommandSpec = {
    name: "print",
    args: [
      { name: "as-value", kind: "flag" },
      { name: "without-paging", kind: "flag" },
    ],
    async run(inv) {
      const list = fields(inv.ctx);
      if (inv.args.has("as-value")) return sortedRecord(list);
      for (const line of formatSingleton(list)) inv.ctx.write(line);
      return NIL;
    },
  };
  const get: CommandSpec = {
    name: "get",
    args: [{ name: "value-name", kind: "string" }],
    unnamed: ["value-name"],
    async run(inv) {
      const list = fields(inv.ctx);
      const wanted = inv.args.get("value-name");
      if (wanted === undefined) return sortedRecord(list);
      const field = list.find((f) => f.name === toText(wanted));
      if (!field) throw rosErrors.noMatch("value-name");
      return field.value;
    },
  };
  return { name, path, menus: [], commands: [print, get, ...extra] };
}
