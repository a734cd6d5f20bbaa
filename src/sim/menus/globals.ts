import { RosError } from "../errors.js";
import type { MenuSpec } from "../schema.js";
import { NIL, num, str, toJson, toText } from "../values.js";

/**
 * A `:put` line as a terminal of `width` columns shows it: cut every `width` characters, wherever
 * that falls (RouterOS inserts CRLF mid-token); 0 = not wrapped.
 */
export function wrapHard(line: string, width: number): string[] {
  if (width <= 0 || line.length <= width) return [line];
  const out: string[] = [];
  for (let i = 0; i < line.length; i += width) out.push(line.slice(i, i + width));
  return out;
}

/** Script commands written with a leading colon: `:put`, `:serialize`, `:len`, `:typeof`, `:error`. */
export function globalsMenu(): MenuSpec {
  return {
    name: "",
    path: "",
    menus: [],
    commands: [
      {
        name: "put",
        args: [{ name: "message", kind: "any" }],
        unnamed: ["message"],
        async run(inv) {
          const text = toText(inv.args.get("message") ?? NIL);
          const width = inv.ctx.settings.put_wrap ? inv.ctx.width : 0;
          for (const line of text.split("\n"))
            for (const piece of wrapHard(line, width)) inv.ctx.write(piece);
          return NIL;
        },
      },
      {
        name: "serialize",
        since: "7.13",
        args: [
          { name: "to", kind: "enum", values: ["json", { value: "dsv", since: "7.16" }] },
          { name: "value", kind: "any" },
          { name: "options", kind: "string", since: "7.16" },
        ],
        unnamed: ["value"],
        async run(inv) {
          return str(toJson(inv.args.get("value") ?? NIL, inv.ctx.settings.json_integer_form));
        },
      },
      {
        name: "len",
        args: [{ name: "value", kind: "any" }],
        unnamed: ["value"],
        async run(inv) {
          const v = inv.args.get("value") ?? NIL;
          if (v.t === "array" || v.t === "map") return num(v.v.length);
          return num(toText(v).length);
        },
      },
      {
        name: "typeof",
        args: [{ name: "value", kind: "any" }],
        unnamed: ["value"],
        async run(inv) {
          const v = inv.args.get("value") ?? NIL;
          const names = {
            nil: "nil",
            str: "str",
            num: "num",
            bool: "bool",
            id: "id",
            array: "array",
            map: "array",
          };
          return str(names[v.t]);
        },
      },
      {
        name: "error",
        args: [{ name: "message", kind: "any" }],
        unnamed: ["message"],
        async run(inv) {
          throw new RosError(toText(inv.args.get("message") ?? NIL));
        },
      },
    ],
  };
}
