import { cpus, freemem, totalmem } from "node:os";
import { rosErrors } from "../errors.js";
import type { CommandSpec, ExecContext, MenuSpec } from "../schema.js";
import { formatHumanSize } from "../sizes.js";
import { NIL, num, type RosValue, str, toText } from "../values.js";
import type { SimWorld } from "../world.js";

/** A singleton menu's property: its printed text and its script value. */
interface Field {
  readonly name: string;
  readonly text: string;
  readonly value: RosValue;
}

/** `  name: RDS`: keys right-aligned to the longest key plus two spaces. */
export function formatSingleton(fields: readonly Field[]): string[] {
  const width = Math.max(...fields.map((f) => f.name.length)) + 2;
  return fields.map((f) => `${f.name.padStart(width, " ")}: ${f.text}`);
}

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

function singletonMenu(
  name: string,
  path: string,
  fields: (ctx: ExecContext) => Field[],
  extra: CommandSpec[] = [],
) {
  const print: CommandSpec = {
    name: "print",
    args: [
      { name: "as-value", kind: "flag" },
      { name: "without-paging", kind: "flag" },
    ],
    async run(inv) {
      const list = fields(inv.ctx);
      if (inv.args.has("as-value"))
        return { t: "map", v: list.map((f) => [f.name, f.value] as const) } as RosValue;
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
      if (wanted === undefined)
        return { t: "map", v: list.map((f) => [f.name, f.value] as const) } as RosValue;
      const field = list.find((f) => f.name === toText(wanted));
      if (!field) throw rosErrors.noMatch("value-name");
      return field.value;
    },
  };
  return { name, path, menus: [], commands: [print, get, ...extra] } satisfies MenuSpec;
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

export function systemMenu(world: SimWorld): MenuSpec {
  const resource = singletonMenu("resource", "/system/resource", (ctx) => resourceFields(world, ctx));
  const identity = singletonMenu("identity", "/system/identity", (ctx) => [
    { name: "name", text: ctx.settings.identity, value: str(ctx.settings.identity) },
  ]);
  return { name: "system", path: "/system", menus: [resource, identity], commands: [] };
}
