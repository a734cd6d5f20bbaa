import { cpus, freemem, totalmem } from "node:os";
import type { ExecContext, MenuSpec } from "../schema.js";
import { formatHumanSize } from "../sizes.js";
import { NIL, num, type RosValue, str, toText } from "../values.js";
import type { SimWorld } from "../world.js";
import { readCommands } from "./list-commands.js";
import { type Field, singletonMenu } from "./singleton.js";
import type { Table, TableItem } from "./table.js";

/** RouterOS durations: `1w2d3h4m5s`, leading zero units omitted. */
export function formatUptime(ms: number): string {
  let s = Math.floor(ms / 1000);
  const parts: string[] = [];
  for (const [unit, size] of [
    ["w", 604800],
    ["d", 86400],
    ["h", 3600],
    ["m", 60],
  ] as const) {
    const n = Math.floor(s / size);
    s -= n * size;
    if (n > 0 || parts.length > 0) parts.push(`${n}${unit}`);
  }
  parts.push(`${s}s`);
  return parts.join("");
}

function resourceFields(world: SimWorld, ctx: ExecContext): Field[] {
  const t = ctx.settings.human_size_threshold;
  const f = (name: string, text: string, value: RosValue = str(text)): Field => ({ name, text, value });
  const version = `${ctx.settings.routeros_version} (stable)`;
  const uptime = formatUptime(Date.now() - world.startedAt.getTime());
  const flash = 128n * 1024n * 1024n;
  return [
    f("uptime", uptime),
    f("version", version),
    f("build-time", "2026-01-15 10:00:00"),
    f("factory-software", "7.17"),
    f("free-memory", formatHumanSize(BigInt(freemem()), t), num(freemem())),
    f("total-memory", formatHumanSize(BigInt(totalmem()), t), num(totalmem())),
    f("cpu", "ARM64"),
    f("cpu-count", String(cpus().length), num(cpus().length)),
    f("cpu-frequency", "2000MHz", num(2000)),
    f("cpu-load", "1%", num(1)),
    f("free-hdd-space", formatHumanSize(flash / 2n, t), num(flash / 2n)),
    f("total-hdd-space", formatHumanSize(flash, t), num(flash)),
    f("write-sect-since-reboot", "0", num(0)),
    f("write-sect-total", "0", num(0)),
    f("bad-blocks", "0%", num(0)),
    f("architecture-name", "arm64"),
    f("board-name", "RDS2216"),
    f("platform", "MikroTik"),
  ];
}

/** Installed packages: RouterOS itself and ROSE storage (Btrfs subvolumes, NVMe/TCP export). */
const PACKAGES = ["routeros", "rose-storage"] as const;

/** `/system/package`: what `rds-csi doctor` lists; the version follows `routeros_version`. */
function packageTable(): Table {
  return {
    flags: [{ letter: "X", name: "disabled" }],
    columns: [
      { title: "NAME", prop: "name", align: "left" },
      { title: "VERSION", prop: "version", align: "left" },
      { title: "BUILD-TIME", prop: "build-time", align: "left" },
    ],
    properties: ["name", "version", "build-time", "scheduled"],
    list: async (ctx) =>
      PACKAGES.map(
        (name, i): TableItem => ({
          id: i + 1,
          name,
          flags: new Set<string>(),
          props: [
            { name: "name", value: str(name), style: "bare" },
            { name: "version", value: str(ctx.settings.routeros_version), style: "bare" },
            { name: "build-time", value: str("2026-01-15 10:00:00"), style: "bare" },
            { name: "scheduled", value: str(""), style: "quoted" },
          ],
        }),
      ),
  };
}

export function systemMenu(world: SimWorld): MenuSpec {
  const resource = singletonMenu("resource", "/system/resource", (ctx) => resourceFields(world, ctx));
  const identity = singletonMenu(
    "identity",
    "/system/identity",
    (ctx) => [{ name: "name", text: ctx.settings.identity, value: str(ctx.settings.identity) }],
    [
      {
        name: "set",
        mutating: true,
        args: [{ name: "name", kind: "string" }],
        async run(inv) {
          const name = inv.args.get("name");
          if (name !== undefined) await world.applySettings({ identity: toText(name) });
          return NIL;
        },
      },
    ],
  );
  const packages: MenuSpec = {
    name: "package",
    path: "/system/package",
    menus: [],
    commands: readCommands(packageTable()),
  };
  return { name: "system", path: "/system", menus: [resource, identity, packages], commands: [] };
}
