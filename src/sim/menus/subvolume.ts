import { rename } from "node:fs/promises";
import path from "node:path";
import type { Subvolume } from "../backend/btrfs.js";
import { makeDirectories, pathKind } from "../backend/files.js";
import { CommandFailed } from "../backend/run.js";
import { RosError, rosErrors } from "../errors.js";
import { poolLabeled, subvolumeItemId, subvolumeOfItem } from "../pool-items.js";
import type { FlagDef, PropStyle, PropValue } from "../printer.js";
import type { ArgSpec, CommandSpec, Invocation, MenuSpec } from "../schema.js";
import type { Settings } from "../settings.js";
import { bool, itemId, NIL, num, type RosValue, str, toText } from "../values.js";
import type { SimPool, SimWorld } from "../world.js";
import { readCommands, targetItems } from "./list-commands.js";
import { planScope } from "./scope.js";
import { SubvolumeIndex } from "./subvolume-index.js";
import type { Table, TableItem } from "./table.js";

const FLAGS: readonly FlagDef[] = [
  { letter: "*", name: "default" },
  { letter: "S", name: "snapshot" },
  { letter: "r", name: "read-only" },
  { letter: "D", name: "dead" },
  { letter: "M", name: "mounted" },
];

const PROPERTIES = [
  "fs",
  "name",
  "fullname",
  "top-level",
  "parent",
  "read-only",
  "uuid",
  "parent-uuid",
  "received-uuid",
  "subvolume-id",
  "generation",
  "creation-time",
  "snapshot",
  "path",
  "default",
  "dead",
  "mounted",
];

export const FS_ROOT = "<FS_ROOT>";

const p = (name: string, value: RosValue, style: PropStyle): PropValue => ({ name, value, style });

/** One table per world, so every command (print, find, remove, set) reads the same indexes. */
const tables = new WeakMap<SimWorld, SubvolumeTable>();

interface SubvolumeTable extends Table {
  /** Each pool's index, brought up to its current Btrfs listing. */
  indexes(settings: Settings): Promise<SubvolumeIndex[]>;
}

/** The `/disk/btrfs/subvolume` table, read from the live filesystem. */
export function subvolumeTable(world: SimWorld): SubvolumeTable {
  let table = tables.get(world);
  if (table === undefined) {
    table = makeSubvolumeTable(world);
    tables.set(world, table);
  }
  return table;
}

function makeSubvolumeTable(world: SimWorld): SubvolumeTable {
  // The Btrfs listing is cached and patched on change (a changed subvolume is a new object); each
  // pool's index follows it item by item, so one change next to 10 000 subvolumes builds one item.
  const kept: SubvolumeIndex[] = [];
  const indexes = async (settings: Settings): Promise<SubvolumeIndex[]> => {
    const format = printForm(settings);
    return Promise.all(
      world.pools.map(async (pool, i) => {
        const listing = await pool.btrfs.list();
        let index = kept[i];
        if (index === undefined) {
          index = new SubvolumeIndex(
            subvolumeItemId(i, 0),
            subvolumeItemId(i + 1, 0) - subvolumeItemId(i, 0),
          );
          kept[i] = index;
        }
        index.update(listing, format.key, (s, source, container) =>
          subvolumeItem(pool, i, format, s, source, container),
        );
        return index;
      }),
    );
  };
  return {
    flags: FLAGS,
    columns: [
      { title: "FS", prop: "fs", align: "left" },
      { title: "NAME", prop: "name", align: "left" },
      { title: "FULLNAME", prop: "fullname", align: "left" },
      { title: "PARENT", prop: "parent", align: "left" },
      { title: "CREATION-TIME", prop: "creation-time", align: "left" },
    ],
    properties: PROPERTIES,
    indexes,
    // Every pool's subvolumes, the first pool's first; a scope reads only what it names.
    list: async (ctx, scope) => {
      const all = await indexes(ctx.settings);
      const leaves = planScope(
        scope,
        (leaf) => {
          let n = 0;
          for (const index of all) {
            const c = index.cost(leaf);
            if (c === undefined) return undefined;
            n += c;
          }
          return n;
        },
        all.reduce((n, index) => n + index.size, 0),
      );
      return all.flatMap((index) => (leaves === undefined ? index.all() : index.lookup(leaves)));
    },
  };
}

/** The settings that change how a subvolume is printed (unknown on real RouterOS). */
interface PrintForm {
  readonly key: string;
  readonly parent: Settings["subvolume_parent_format"];
  readonly fullname: Settings["subvolume_fullname_form"];
  readonly fs: Settings["subvolume_fs_form"];
  readonly time: Settings["creation_time_format"];
}

function printForm(s: Settings): PrintForm {
  const form = {
    parent: s.subvolume_parent_format,
    fullname: s.subvolume_fullname_form,
    fs: s.subvolume_fs_form,
    time: s.creation_time_format,
  };
  return { ...form, key: Object.values(form).join(",") };
}

/** `2026-12-05 13:28:46` as `dec/05/2026 13:28:46`. */
function routerOsTime(iso: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2}) (\S+)$/.exec(iso);
  if (!m) return iso;
  const months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
  return `${months[Number(m[2]) - 1]}/${m[3]}/${m[1]} ${m[4]}`;
}

function subvolumeItem(
  pool: SimPool,
  index: number,
  format: PrintForm,
  s: Subvolume,
  source: Subvolume | undefined,
  containerSubvolume: Subvolume | undefined,
): TableItem {
  const fullParent = format.parent === "fullname";
  const fullname = format.fullname === "leading-slash" ? `/${s.path}` : s.path;
  const label = (v: Subvolume | undefined) =>
    v === undefined ? "" : fullParent ? v.path : path.basename(v.path);
  const container = s.topLevel === 5 ? FS_ROOT : label(containerSubvolume) || FS_ROOT;
  const flags = new Set<string>();
  if (s.parentUuid) flags.add("snapshot");
  if (s.readOnly) flags.add("read-only");
  return {
    id: subvolumeItemId(index, s.id),
    name: path.basename(s.path),
    aliases: [s.path, `/${s.path}`],
    flags,
    props: [
      p("fs", str(format.fs === "uuid" ? pool.view.uuid : pool.view.label), "bare"),
      p("name", str(path.basename(s.path)), "quoted"),
      p("fullname", str(fullname), "quoted"),
      p("top-level", str(container), "bare"),
      p("parent", str(label(source)), "bare"),
      p("read-only", bool(s.readOnly), "yesno"),
      p("uuid", str(s.uuid), "quoted"),
      p("subvolume-id", num(s.id), "bare"),
      p("generation", num(s.generation), "bare"),
      p(
        "creation-time",
        str(format.time === "routeros" ? routerOsTime(s.creationTime) : s.creationTime),
        "bare",
      ),
      p("snapshot", bool(s.parentUuid !== undefined), "yesno"),
      p("path", str(`/${pool.view.name}/${s.path}`), "bare"),
    ],
    hidden: [
      p("parent-uuid", str(s.parentUuid ?? ""), "quoted"),
      p("received-uuid", str(s.receivedUuid ?? ""), "quoted"),
    ],
  };
}

/** Normalises a subvolume name (`a/b/c`, leading and trailing slashes ignored); undefined if unsafe. */
export function subvolumePath(name: string): string | undefined {
  const parts = name.split("/").filter((x) => x !== "");
  if (parts.length === 0 || parts.some((x) => x === "." || x === "..")) return undefined;
  return parts.join("/");
}

/**
 * `parent=`: a subvolume's fullname, or the last component when exactly one subvolume has it;
 * with `snapshot_parent_resolution: last-name`, only the last component (a path matches nothing).
 */
async function resolveParent(world: SimWorld, poolIndex: number, value: string): Promise<Subvolume> {
  const index = await indexOf(world, poolIndex);
  const wanted = value.replace(/^\/+|\/+$/g, "");
  if (world.settings().snapshot_parent_resolution === "path") {
    const exact = index.atPath(wanted);
    if (exact) return exact;
  }
  const named = index.named(wanted);
  if (named.length === 1) return named[0] as Subvolume;
  if (named.length > 1) throw rosErrors.ambiguous("parent");
  throw rosErrors.noMatch("parent");
}

/** One pool's subvolume index, current. */
async function indexOf(world: SimWorld, poolIndex: number): Promise<SubvolumeIndex> {
  return (await subvolumeTable(world).indexes(world.settings()))[poolIndex] as SubvolumeIndex;
}

function btrfsFailure(world: SimWorld, e: unknown): RosError {
  if (e instanceof RosError) return e;
  if (e instanceof CommandFailed) {
    const t = world.settings().error_texts;
    if (/not empty/i.test(e.stderr)) return new RosError(t.directory_not_empty);
    if (/no space/i.test(e.stderr)) return new RosError(t.no_space);
    if (/exists/i.test(e.stderr)) return new RosError(t.subvolume_exists);
    return rosErrors.failure(e.stderr.trim().split("\n").pop() ?? "btrfs failed");
  }
  throw e;
}

async function addSubvolume(world: SimWorld, inv: Invocation): Promise<RosValue> {
  const s = world.settings();
  const missing = ["fs", "name"].filter((a) => !inv.args.has(a));
  if (missing.length > 0) throw rosErrors.missingArgs(missing);
  const fs = poolLabeled(world, toText(inv.args.get("fs") as RosValue));
  if (fs === undefined) throw rosErrors.noMatch("fs");
  const { pool, index } = fs;
  const relative = subvolumePath(toText(inv.args.get("name") as RosValue));
  if (relative === undefined) throw rosErrors.invalidValue("name");
  const host = path.join(pool.view.mountPath, relative);
  if ((await pathKind(host)) !== "missing") throw new RosError(s.error_texts.subvolume_exists);
  const parentDir = await pathKind(path.dirname(host));
  if (parentDir !== "directory") {
    if (!s.auto_create_parent_dirs || parentDir !== "missing")
      throw new RosError(s.error_texts.missing_parent_dir);
    await makeDirectories(path.dirname(host));
  }
  // Nested in a subvolume is documented; under plain directories it is unknown (setting).
  if (s.subvolume_name_with_slash === "refuse" && relative.includes("/")) {
    const container = path.dirname(relative);
    if ((await indexOf(world, index)).atPath(container) === undefined) throw rosErrors.invalidValue("name");
  }
  if (s.pool_full) throw new RosError(s.error_texts.no_space);
  const readOnly = inv.args.get("read-only")?.t === "bool" && (inv.args.get("read-only") as { v: boolean }).v;
  const parentArg = inv.args.get("parent");
  try {
    if (parentArg !== undefined && toText(parentArg) !== "") {
      const source = await resolveParent(world, index, toText(parentArg));
      await pool.btrfs.snapshot(path.join(pool.view.mountPath, source.path), host, readOnly);
    } else {
      await pool.btrfs.create(host);
      if (readOnly) await pool.btrfs.setReadOnly(host, true);
    }
  } catch (e) {
    throw btrfsFailure(world, e);
  }
  world.log("disk,info", `btrfs subvolume ${relative} added`);
  const created = (await indexOf(world, index)).atPath(relative);
  return created ? itemId(subvolumeItemId(index, created.id)) : NIL;
}

/** Whether a `/disk` item uses a file inside this subvolume. */
function inUse(world: SimWorld, pool: SimPool, relative: string): boolean {
  const prefix = `/${pool.view.name}/${relative}/`;
  return world.state.disks.some((d) => d.filePath?.startsWith(prefix));
}

async function removeSubvolumes(world: SimWorld, inv: Invocation): Promise<RosValue> {
  const s = world.settings();
  const { targets } = await targetItems(inv, subvolumeTable(world));
  const chosen = await subvolumesOf(world, targets);
  for (const { pool, sub } of chosen) {
    if (s.subvolume_remove_in_use === "fail" && inUse(world, pool, sub.path)) {
      throw new RosError(s.error_texts.subvolume_in_use);
    }
  }
  for (const { pool, sub } of chosen) {
    try {
      await pool.btrfs.remove(path.join(pool.view.mountPath, sub.path));
    } catch (e) {
      throw btrfsFailure(world, e);
    }
    world.log("disk,info", `btrfs subvolume ${sub.path} removed`);
  }
  return NIL;
}

/** `set name=` moves a subvolume (refused, like remove, while a disk uses a file inside); `read-only=`. */
async function setSubvolumes(world: SimWorld, inv: Invocation): Promise<RosValue> {
  const s = world.settings();
  const { targets } = await targetItems(inv, subvolumeTable(world));
  for (const { pool, sub } of await subvolumesOf(world, targets)) {
    const host = path.join(pool.view.mountPath, sub.path);
    try {
      const ro = inv.args.get("read-only");
      if (ro?.t === "bool") await pool.btrfs.setReadOnly(host, ro.v);
    } catch (e) {
      throw btrfsFailure(world, e);
    }
    const name = inv.args.get("name");
    if (name === undefined) continue;
    const relative = subvolumePath(toText(name));
    if (relative === undefined) throw rosErrors.invalidValue("name");
    if (s.subvolume_remove_in_use === "fail" && inUse(world, pool, sub.path))
      throw new RosError(s.error_texts.subvolume_in_use);
    const dest = path.join(pool.view.mountPath, relative);
    if ((await pathKind(dest)) !== "missing") throw new RosError(s.error_texts.subvolume_exists);
    if ((await pathKind(path.dirname(dest))) !== "directory")
      throw new RosError(s.error_texts.missing_parent_dir);
    await rename(host, dest);
    pool.btrfs.invalidate();
  }
  return NIL;
}

/** The pool and subvolume of each chosen item. */
async function subvolumesOf(
  world: SimWorld,
  targets: readonly TableItem[],
): Promise<{ pool: SimPool; sub: Subvolume }[]> {
  const out: { pool: SimPool; sub: Subvolume }[] = [];
  for (const target of targets) {
    const found = subvolumeOfItem(world, target.id);
    const sub = found === undefined ? undefined : (await indexOf(world, found.index)).byItemId(target.id);
    if (found !== undefined && sub !== undefined) out.push({ pool: found.pool, sub });
  }
  return out;
}

const numbers: ArgSpec = { name: "numbers", kind: "items" };

export function subvolumeMenu(world: SimWorld): MenuSpec {
  const table = subvolumeTable(world);
  const commands: CommandSpec[] = [
    ...readCommands(table),
    {
      name: "add",
      mutating: true,
      args: [
        { name: "fs", kind: "string" },
        { name: "name", kind: "string" },
        { name: "parent", kind: "string" },
        { name: "read-only", kind: "bool" },
        { name: "copy-from", kind: "items" },
      ],
      run: (inv) => addSubvolume(world, inv),
    },
    {
      name: "remove",
      mutating: true,
      args: [numbers],
      unnamed: ["numbers"],
      run: (i) => removeSubvolumes(world, i),
    },
    {
      name: "set",
      mutating: true,
      args: [numbers, { name: "name", kind: "string" }, { name: "read-only", kind: "bool" }],
      unnamed: ["numbers"],
      run: (i) => setSubvolumes(world, i),
    },
  ];
  return { name: "subvolume", path: "/disk/btrfs/subvolume", since: "7.18", menus: [], commands };
}
