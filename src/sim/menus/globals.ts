import { RosError } from "../errors.js";
import type { MenuSpec } from "../schema.js";
import { NIL, num, str, toJson, toText } from "../values.js";

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
          inv.ctx.write(toText(inv.args.get("message") ?? NIL));
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
          return str(toJson(inv.args.get("value") ?? NIL));
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
