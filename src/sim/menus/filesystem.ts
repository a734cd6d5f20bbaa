import type { FlagDef } from "../printer.js";
import type { MenuSpec } from "../schema.js";
import { num, str } from "../values.js";
import type { SimWorld } from "../world.js";
import { readCommands } from "./list-commands.js";
import { FS_ROOT } from "./subvolume.js";
import type { Table } from "./table.js";

const FLAGS: readonly FlagDef[] = [
  { letter: "I", name: "missing-devs" },
  { letter: "b", name: "balancing" },
  { letter: "r", name: "replacing" },
  { letter: "s", name: "scrubbing" },
];

/** Decimal units, as the Btrfs `spaces` column prints them (`40.8GB`). */
function decimalSize(bytes: bigint): string {
  const units = ["B", "kB", "MB", "GB", "TB", "PB"];
  let value = Number(bytes);
  let i = 0;
  while (value >= 1000 && i < units.length - 1) {
    value /= 1000;
    i += 1;
  }
  return i === 0 ? `${bytes}B` : `${value.toFixed(1)}${units[i]}`;
}

function filesystemTable(world: SimWorld): Table {
  return {
    flags: FLAGS,
    columns: [
      { title: "LABEL", prop: "label", align: "left" },
      { title: "DEV-IDS", prop: "dev-ids", align: "left" },
      { title: "DEVS", prop: "devs", align: "left" },
      { title: "DEFAULT-SUBVOLUME", prop: "default-subvolume", align: "left" },
      { title: "SPACES", prop: "spaces", align: "left" },
    ],
    properties: ["label", "uuid", "total-devs", "dev-ids", "devs", "default-subvolume", "spaces"],
    // One item per pool, each its own filesystem.
    list: async (ctx) =>
      Promise.all(
        world.pools.map(async ({ view: pool, btrfs }, i) => {
          // `spaces` costs a `btrfs filesystem usage`: read only when it may be shown.
          const usage =
            ctx.proplist === undefined || ctx.proplist.includes("spaces") ? await btrfs.usage() : [];
          const spaces = usage
            .map((u) => {
              const pct = u.total === 0n ? 0n : (u.used * 100n) / u.total;
              return `${u.kind.toLowerCase()},${u.profile.toLowerCase()}:${decimalSize(u.total)} ${pool.name}:${decimalSize(u.total)}, used:${pct}%`;
            })
            .join(";");
          return {
            id: i + 1,
            name: pool.label,
            flags: new Set<string>(),
            props: [
              { name: "label", value: str(pool.label), style: "quoted" as const },
              { name: "uuid", value: str(pool.uuid), style: "quoted" as const },
              { name: "total-devs", value: num(1), style: "bare" as const },
              { name: "dev-ids", value: str("1"), style: "bare" as const },
              { name: "devs", value: str(pool.name), style: "bare" as const },
              { name: "default-subvolume", value: str(FS_ROOT), style: "bare" as const },
              { name: "spaces", value: str(spaces), style: "quoted" as const },
            ],
          };
        }),
      ),
  };
}

export function filesystemMenu(world: SimWorld): MenuSpec {
  return {
    name: "filesystem",
    path: "/disk/btrfs/filesystem",
    since: "7.17",
    menus: [],
    commands: readCommands(filesystemTable(world)),
  };
}

export function btrfsMenu(world: SimWorld, subvolumes: MenuSpec): MenuSpec {
  return {
    name: "btrfs",
    path: "/disk/btrfs",
    since: "7.17",
    menus: [filesystemMenu(world), subvolumes],
    commands: [],
  };
}
