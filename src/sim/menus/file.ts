import type { Stats } from "node:fs";
import { lstat, readFile, rm, rmdir, unlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { makeDirectories, pathKind } from "../backend/files.js";
import type { PoolMount } from "../backend/paths.js";
import { run } from "../backend/run.js";
import { RosError, rosErrors } from "../errors.js";
import type { ArgSpec, CommandSpec, Invocation, MenuSpec } from "../schema.js";
import { formatDateTime } from "../sizes.js";
import { NIL, num, type RosValue, str, toText } from "../values.js";
import type { SimWorld } from "../world.js";
import { DirectoryListings } from "./dir-listings.js";
import {
  type Entry,
  type FileOrder,
  folderPaths,
  lstatMany,
  sortInWalkOrder,
  walk,
  walkMatching,
} from "./file-walk.js";
import { readCommands, targetItems } from "./list-commands.js";
import { regexSegments } from "./regex-segments.js";
import { type ListScope, planScope, type ScopeLeaf } from "./scope.js";
import type { Table, TableItem } from "./table.js";

/** Stable ids for paths seen by `/file`, allocated on first sight (RouterOS keeps them per boot). */
class FileIds {
  private next = 1;
  private readonly ids = new Map<string, number>();
  private readonly paths = new Map<number, string>();

  idOf(relative: string): number {
    let id = this.ids.get(relative);
    if (id === undefined) {
      id = this.next++;
      this.ids.set(relative, id);
      this.paths.set(id, relative);
    }
    return id;
  }

  /** The path an id was given to, if any. */
  pathOf(id: number): string | undefined {
    return this.paths.get(id);
  }
}

/** Files up to this size whose bytes are text carry `contents` in a listing without `proplist`. */
const CONTENTS_LIMIT = 4096;

/** The body of a small text file, or undefined (too large, unreadable, or binary). */
async function smallTextContents(host: string, stats: Stats): Promise<string | undefined> {
  if (!stats.isFile() || stats.size >= CONTENTS_LIMIT) return undefined;
  const body = await readFile(host).catch(() => undefined);
  if (body === undefined || body.includes(0)) return undefined;
  const text = body.toString("utf8");
  return text.includes("\uFFFD") ? undefined : text;
}

/** `disk` for a pool root, `directory`, `.img file`, or `file` without an extension. */
function fileType(entry: Entry): string {
  if (!entry.relative.includes("/")) return "disk";
  if (entry.stats.isDirectory()) return "directory";
  const ext = path.extname(entry.relative);
  return ext.length > 1 ? `${ext} file` : "file";
}

/** What `/file` keeps for the life of the process: ids given out, and directory listings. */
interface FileMemory {
  readonly ids: FileIds;
  readonly listings: DirectoryListings;
}

function fileTable(world: SimWorld, memory: FileMemory): Table {
  const { ids } = memory;
  return {
    flags: [],
    columns: [
      { title: "NAME", prop: "name", align: "left" },
      { title: "TYPE", prop: "type", align: "left" },
      { title: "SIZE", prop: "size", align: "right" },
      { title: "LAST-MODIFIED", prop: "last-modified", align: "left" },
    ],
    properties: ["name", "type", "size", "last-modified", "contents"],
    list: async (ctx, scope) => {
      const s = ctx.settings;
      const entries = await scopedEntries(world, memory, scope, s.file_print_order);
      // A listing without proplist carries `contents` on RouterOS 7.2x (setting); asked for, always.
      const withContents =
        ctx.proplist === undefined ? s.file_listing_contents : ctx.proplist.includes("contents");
      // Bodies are read only when a listing shows them: otherwise an item is built without waiting.
      const bodies = withContents
        ? await Promise.all(
            entries.map((e) => smallTextContents(world.paths.toHost(e.relative) as string, e.stats)),
          )
        : undefined;
      return entries.map((entry, i): TableItem => {
        const name = entry.relative;
        const isFile = entry.stats.isFile();
        const contents = bodies?.[i];
        return {
          id: ids.idOf(entry.relative),
          opaqueId: s.file_id_form === "opaque",
          name,
          aliases: [`/${name}`],
          flags: new Set<string>(),
          props: [
            { name: "name", value: str(name), style: "bare" },
            { name: "type", value: str(fileType(entry)), style: "bare" },
            ...(isFile ? [{ name: "size", value: num(entry.stats.size), style: "human" as const }] : []),
            {
              name: "last-modified",
              value: str(formatDateTime(entry.stats.mtime, s.creation_time_format)),
              style: "bare",
            },
            ...(contents !== undefined
              ? [{ name: "contents", value: str(contents), style: "quoted" as const }]
              : []),
          ],
        };
      });
    },
  };
}

/**
 * The entries a scope allows, read directly: an exact name or id costs one `lstat`, a prefix walks
 * only the directory that holds it. Without a scope, every pool.
 */
async function scopedEntries(
  world: SimWorld,
  { ids, listings }: FileMemory,
  scope: ListScope | undefined,
  order: FileOrder,
): Promise<Entry[]> {
  const pools = world.pools.map((p) => p.view);
  const walkAll = async (which: readonly PoolMount[]) =>
    (await Promise.all(which.map((p) => walkPool(p, "", order)))).flat();
  const leaves = planScope(scope, fileLeafCost);
  if (leaves === undefined) return walkAll(pools);
  const only = leaves[0];
  // A pattern of path components: each level reads only the names its segment can match.
  const segments =
    only?.kind === "prefixes" && only.pattern !== undefined ? regexSegments(only.pattern) : undefined;
  if (leaves.length === 1 && segments !== undefined) {
    const matching = pools.filter((p) => segments.whole[0]?.test(p.name));
    const found = await Promise.all(
      matching.map(async (p) =>
        (await walkMatching(p.mountPath, segments, order, listings)).map((e) => ({
          ...e,
          relative: `${p.name}/${e.relative}`,
        })),
      ),
    );
    return found.flat();
  }
  if (leaves.length === 1 && only?.kind === "prefixes") {
    const prefix = only.prefixes[0] as string;
    const found = world.paths.locate(prefix);
    if (found === undefined) return walkAll(pools.filter((p) => prefix === "" || p.name.startsWith(prefix)));
    // The deepest directory every match lies in: the prefix up to its last `/`; what follows
    // is the start of the names in it that can match.
    if (prefix.endsWith("/") || found.parts.length === 0)
      return walkPool(found.pool, found.parts.join("/"), order);
    return walkPool(found.pool, found.parts.slice(0, -1).join("/"), order, {
      namePrefix: found.parts.at(-1) as string,
      listings,
    });
  }
  // A union of a prefix with names would need a merge of walks: read everything instead.
  if (leaves.some((l) => l.kind === "prefixes")) return walkAll(pools);
  // Each name or id as `/file` prints it, with the host path it lies at.
  const wanted = new Map<string, string>();
  for (const leaf of leaves) {
    if (leaf.kind === "values") {
      for (const name of leaf.values) {
        // Only the form `/file` prints matches `name=`: the pool name, then the path, no extra slashes.
        const host = world.paths.hostOfPrinted(name);
        if (host !== undefined) wanted.set(name, host);
      }
    } else if (leaf.kind === "ids") {
      for (const id of leaf.ids) {
        const relative = ids.pathOf(id);
        const host = relative === undefined ? undefined : world.paths.toHost(relative);
        if (relative !== undefined && host !== undefined) wanted.set(relative, host);
      }
    }
  }
  const relatives = [...wanted.keys()];
  const stats = await lstatMany([...wanted.values()]);
  const entries: Entry[] = [];
  relatives.forEach((relative, i) => {
    const s = stats[i];
    if (s) entries.push({ relative, stats: s });
  });
  // In creation order, two entries of different folders follow the order of the two folders
  // that differ, so their ancestors are looked at too (a few lstat calls).
  const ancestors = new Map<string, Entry>();
  if (order === "creation") {
    const folders = new Map<string, string>();
    for (const folder of new Set(entries.flatMap((e) => folderPaths(e.relative)))) {
      const host = world.paths.hostOfPrinted(folder);
      if (host !== undefined) folders.set(folder, host);
    }
    const folderStats = await lstatMany([...folders.values()]);
    [...folders.keys()].forEach((relative, i) => {
      const s = folderStats[i];
      if (s) ancestors.set(relative, { relative, stats: s });
    });
  }
  return sortInWalkOrder(entries, order, ancestors);
}

/**
 * What `/file` can read directly: names and ids (one `lstat` each), one prefix (a walk of the
 * directory that holds it), or a pattern of path components, whatever its prefixes (a walk of
 * the names each component can match) — both costed as much more than any list of names.
 */
function fileLeafCost(leaf: ScopeLeaf): number | undefined {
  if (leaf.kind === "ids") return leaf.ids.length;
  if (leaf.prop !== "name") return undefined;
  if (leaf.kind === "values") return leaf.values.length;
  if (leaf.pattern !== undefined && regexSegments(leaf.pattern) !== undefined) return 1_000_000;
  return leaf.prefixes.length === 1 ? 1_000_000 : undefined;
}

/**
 * A pool's entries (`start`: a directory under its root), named as `/file` names them; with
 * `narrow`, only the names in `start` that begin with its prefix (found in its kept listing).
 */
async function walkPool(
  pool: PoolMount,
  start: string,
  order: FileOrder,
  narrow?: { namePrefix: string; listings: DirectoryListings },
): Promise<Entry[]> {
  const entries = await walk(pool.mountPath, start, order, narrow?.namePrefix, narrow?.listings);
  return entries.map((e) => ({
    ...e,
    relative: e.relative === "" ? pool.name : `${pool.name}/${e.relative}`,
  }));
}

async function addFile(world: SimWorld, inv: Invocation): Promise<RosValue> {
  const s = world.settings();
  const nameArg = inv.args.get("name");
  if (nameArg === undefined) throw rosErrors.missingArgs(["name"]);
  const nameText = toText(nameArg);
  // Whether a name without the leading slash is taken from the root is unknown (setting).
  if (s.file_add_relative_path === "refuse" && !nameText.startsWith("/"))
    throw rosErrors.failure("can not create file outside of a disk");
  const host = world.paths.toHost(nameText);
  if (!host || world.paths.isPoolRoot(host)) throw rosErrors.failure("can not create file outside of a disk");
  if ((await pathKind(host)) !== "missing") throw new RosError(s.error_texts.file_exists);
  if (s.pool_full) throw new RosError(s.error_texts.no_space);
  const parent = await pathKind(path.dirname(host));
  if (parent !== "directory") {
    if (!s.auto_create_parent_dirs || parent !== "missing")
      throw new RosError(s.error_texts.missing_parent_dir);
    await makeDirectories(path.dirname(host));
  }
  const type = inv.args.has("type") ? toText(inv.args.get("type") as RosValue) : "file";
  try {
    if (type === "directory") await makeDirectories(host);
    else await writeFile(host, toText(inv.args.get("contents") ?? str("")), { flag: "wx" });
  } catch (err) {
    // Inside a read-only snapshot: RouterOS answers with a failure, not a dropped session.
    if ((err as NodeJS.ErrnoException).code === "EROFS") throw new RosError(s.error_texts.read_only);
    throw err;
  }
  return NIL;
}

async function copyFiles(world: SimWorld, memory: FileMemory, inv: Invocation): Promise<RosValue> {
  const s = world.settings();
  const { targets } = await targetItems(inv, fileTable(world, memory));
  const dest = inv.args.get("name");
  if (dest === undefined) throw rosErrors.missingArgs(["name"]);
  const destHost = world.paths.toHost(toText(dest));
  if (!destHost || world.paths.isPoolRoot(destHost))
    throw rosErrors.failure("can not create file outside of a disk");
  if ((await pathKind(destHost)) !== "missing") throw new RosError(s.error_texts.file_exists);
  if ((await pathKind(path.dirname(destHost))) !== "directory")
    throw new RosError(s.error_texts.missing_parent_dir);
  if (s.pool_full) throw new RosError(s.error_texts.no_space);
  const [source] = targets;
  if (!source) throw rosErrors.noSuchItem();
  const reflink = s.file_copy_mode === "reflink-auto" ? "--reflink=auto" : "--reflink=never";
  await run("cp", ["-a", reflink, "--", world.paths.toHost(source.name) as string, destHost]);
  return NIL;
}

async function removeOne(world: SimWorld, item: TableItem): Promise<void> {
  const s = world.settings();
  const host = world.paths.toHost(item.name) as string;
  if (world.paths.isPoolRoot(host)) throw rosErrors.failure("can not remove disk");
  const st = await lstat(host, { bigint: true }).catch(() => undefined);
  if (!st) throw rosErrors.noSuchItem();
  if (!st.isDirectory()) {
    if (s.file_remove_in_use === "fail" && world.state.disks.some((d) => d.filePath === `/${item.name}`)) {
      throw new RosError(s.error_texts.file_in_use);
    }
    await unlink(host);
    return;
  }
  if (st.ino === 256n) {
    if (s.file_remove_subvolume === "fail") throw rosErrors.failure("can not remove btrfs subvolume");
    const pool = world.pools.find((p) => host.startsWith(`${p.view.mountPath}/`)) ?? world.pools[0];
    await pool?.btrfs.remove(host);
    return;
  }
  if (s.file_remove_directory === "never") throw rosErrors.failure("can not remove directory");
  if (s.file_remove_directory === "recursive") {
    await rm(host, { recursive: true });
    return;
  }
  await rmdir(host).catch((e: NodeJS.ErrnoException) => {
    throw e.code === "ENOTEMPTY" ? new RosError(s.error_texts.directory_not_empty) : e;
  });
}

async function removeFiles(world: SimWorld, memory: FileMemory, inv: Invocation): Promise<RosValue> {
  const { targets } = await targetItems(inv, fileTable(world, memory));
  for (const item of targets) await removeOne(world, item);
  return NIL;
}

async function setFiles(world: SimWorld, memory: FileMemory, inv: Invocation): Promise<RosValue> {
  const { targets } = await targetItems(inv, fileTable(world, memory));
  const contents = inv.args.get("contents");
  for (const item of targets) {
    const host = world.paths.toHost(item.name) as string;
    if (contents !== undefined && (await pathKind(host)) === "file") await writeFile(host, toText(contents));
  }
  return NIL;
}

const numbers: ArgSpec = { name: "numbers", kind: "items" };

export function fileMenu(world: SimWorld): MenuSpec {
  const memory: FileMemory = { ids: new FileIds(), listings: new DirectoryListings() };
  const table = fileTable(world, memory);
  const commands: CommandSpec[] = [
    ...readCommands(table),
    {
      name: "add",
      mutating: true,
      args: [
        { name: "name", kind: "string" },
        { name: "type", kind: "enum", values: ["file", "directory"] },
        { name: "contents", kind: "string" },
      ],
      run: (inv) => addFile(world, inv),
    },
    {
      name: "remove",
      mutating: true,
      args: [numbers],
      unnamed: ["numbers"],
      run: (i) => removeFiles(world, memory, i),
    },
    {
      name: "set",
      mutating: true,
      args: [numbers, { name: "contents", kind: "string" }],
      unnamed: ["numbers"],
      run: (i) => setFiles(world, memory, i),
    },
    {
      name: "copy",
      since: "7.23",
      mutating: true,
      args: [numbers, { name: "name", kind: "string" }],
      unnamed: ["numbers"],
      run: (i) => copyFiles(world, memory, i),
    },
  ];
  return { name: "file", path: "/file", menus: [], commands };
}
