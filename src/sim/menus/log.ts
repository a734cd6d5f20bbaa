import type { PropValue } from "../printer.js";
import type { MenuSpec } from "../schema.js";
import { NIL, str, toText } from "../values.js";
import type { LogEntry, SimWorld } from "../world.js";
import { findCommand, printCommand, selectItems } from "./list-commands.js";
import type { Table, TableItem } from "./table.js";

const two = (n: number) => n.toString().padStart(2, "0");

function logItem(entry: LogEntry, index: number): TableItem {
  const t = entry.time;
  const props: PropValue[] = [
    {
      name: "time",
      value: str(`${two(t.getHours())}:${two(t.getMinutes())}:${two(t.getSeconds())}`),
      style: "bare",
    },
    { name: "topics", value: str(entry.topics), style: "bare" },
    { name: "message", value: str(entry.message), style: "quoted" },
  ];
  return { id: index + 1, name: String(index), flags: new Set<string>(), props };
}

/** `/log print`: emulator events (disk and subvolume changes) as `HH:MM:SS topics message`. */
export function logMenu(world: SimWorld): MenuSpec {
  const table: Table = {
    flags: [],
    columns: [],
    properties: ["time", "topics", "message"],
    list: async () => world.logEntries().map(logItem),
  };
  const generic = printCommand(table);
  const print = {
    ...generic,
    async run(inv: Parameters<typeof generic.run>[0]) {
      if (["detail", "terse", "as-value", "count-only"].some((a) => inv.args.has(a))) return generic.run(inv);
      const { selected } = await selectItems(table, inv);
      for (const item of selected) inv.ctx.write(item.props.map((p) => toText(p.value)).join(" "));
      return NIL;
    },
  };
  return { name: "log", path: "/log", menus: [], commands: [print, findCommand(table)] };
}
