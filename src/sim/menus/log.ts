import type { MenuSpec } from "../schema.js";
import { NIL, str } from "../values.js";
import type { SimWorld } from "../world.js";
import { findCommand, printCommand } from "./list-commands.js";
import type { Table } from "./table.js";

const two = (n: number) => n.toString().padStart(2, "0");

/** `/log print`: emulator events as `HH:MM:SS topics message`. */
export function logMenu(world: SimWorld): MenuSpec {
  const table: Table = {
    flags: [],
    columns: [],
    properties: ["time", "topics", "message"],
    list: async () =>
      world.logEntries().map((e, i) => ({
        id: i + 1,
        name: String(i),
        flags: new Set<string>(),
        props: [
          {
            name: "time",
            value: str(`${two(e.time.getHours())}:${two(e.time.getMinutes())}:${two(e.time.getSeconds())}`),
            style: "bare" as const,
          },
          { name: "topics", value: str(e.topics), style: "bare" as const },
          { name: "message", value: str(e.message), style: "quoted" as const },
        ],
      })),
  };
  const detailPrint = printCommand(table);
  return {
    name: "log",
    path: "/log",
    menus: [],
    commands: [
      {
        ...detailPrint,
        async run(inv) {
          if (inv.args.has("detail") || inv.args.has("as-value") || inv.args.has("count-only")) {
            return detailPrint.run(inv);
          }
          const lines: string[] = [];
          const capture = { ...inv, args: new Map([...inv.args, ["as-value", str("")]]) };
          const records = await detailPrint.run(capture);
          if (records.t === "array") {
            for (const r of records.v) {
              if (r.t !== "map") continue;
              const get = (k: string) => r.v.find(([key]) => key === k)?.[1];
              lines.push(
                `${get("time")?.t === "str" ? (get("time") as { v: string }).v : ""} ${(get("topics") as { v: string }).v} ${(get("message") as { v: string }).v}`,
              );
            }
          }
          for (const line of lines) inv.ctx.write(line);
          return NIL;
        },
      },
      findCommand(table),
    ],
  };
}
