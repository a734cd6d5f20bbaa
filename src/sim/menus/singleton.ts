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
      if (inv.args.has("as-value")) return map(list.map((f) => [f.name, f.value] as const));
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
      if (wanted === undefined) return map(list.map((f) => [f.name, f.value] as const));
      const field = list.find((f) => f.name === toText(wanted));
      if (!field) throw rosErrors.noMatch("value-name");
      return field.value;
    },
  };
  return { name, path, menus: [], commands: [print, get, ...extra] };
}
