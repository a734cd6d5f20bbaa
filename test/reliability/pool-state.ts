/**
 * What the emulator holds, read without going through SSH (so reading it never meets a fault rule
 * and never shows up in the command log): every `/disk` item except the pool itself, every Btrfs
 * subvolume, and every file and directory of the pool filesystem with the SHA-256 of each file.
 *
 * Entries are keyed by what names them (slot, fullname, path) and carry only what is stable between
 * two runs of the same operation: no `.id`, uuid, generation or timestamps. Comparing two readings
 * then says exactly what changed, and `maskIds` turns the ids of one test case into role names so
 * the changes of two cases with different names can be compared.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { lstat, readdir } from "node:fs/promises";
import path from "node:path";
import { ROOT } from "../controller/harness.js";
import type { SimFixture } from "../helpers/sim.js";

/** Entry key (`disk <slot>`, `subvolume <fullname>`, `file <path>`) → stable description. */
export type PoolState = ReadonlyMap<string, string>;

const DISK_FIELDS = [
  "type",
  "file-path",
  "file-size",
  "disabled",
  "mount-filesystem",
  "nvme-tcp-export",
  "nvme-tcp-server-port",
  "nvme-tcp-server-nqn",
  "comment",
] as const;
const SUBVOLUME_FIELDS = ["fs", "read-only", "snapshot", "parent"] as const;

type Printed = Record<string, unknown>;

async function listJson(sim: SimFixture, menu: string): Promise<Printed[]> {
  const reply = await sim.control.exec(`:put [:serialize to=json [${menu} print detail as-value]]`, 0);
  if (reply.error !== null) throw new Error(`${menu} print: ${reply.error}`);
  const text = reply.output.trim();
  return text === "" ? [] : (JSON.parse(text) as Printed[]);
}

function pick(item: Printed, fields: readonly string[]): string {
  return fields
    .map((f) => `${f}=${item[f] === undefined ? "-" : JSON.stringify(stable(f, item[f]))}`)
    .join(" ");
}

/**
 * A `/disk` comment names the create attempt that made the item until a retry confirms it: a
 * random token, there or not depending on the retries, so it is left out like ids and timestamps.
 */
function stable(field: string, value: unknown): unknown {
  return field === "comment" && typeof value === "string" ? value.replace(/ attempt=[0-9a-f]+/, "") : value;
}

/**
 * File checksums, reused while a file's inode, size, mtime and ctime are unchanged: any write moves
 * ctime, which no caller can set back, so a reused sum is still the file's content.
 */
export class ChecksumCache {
  readonly #sums = new Map<string, { stamp: string; sum: string }>();

  async of(file: string): Promise<string> {
    const info = await lstat(file, { bigint: true });
    const stamp = `${info.dev}:${info.ino}:${info.size}:${info.mtimeNs}:${info.ctimeNs}`;
    const known = this.#sums.get(file);
    if (known?.stamp === stamp) return known.sum;
    const sum = await sha256(file);
    this.#sums.set(file, { stamp, sum });
    return sum;
  }
}

export async function sha256(file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

async function walk(root: string, relative: string, sums: ChecksumCache, out: Map<string, string>) {
  const entries = await readdir(path.join(root, relative), { withFileTypes: true });
  for (const entry of entries) {
    const rel = relative === "" ? entry.name : `${relative}/${entry.name}`;
    const full = path.join(root, rel);
    if (entry.isDirectory()) {
      out.set(`file ${rel}/`, "directory");
      await walk(root, rel, sums, out);
    } else if (entry.isFile()) {
      const info = await lstat(full);
      out.set(`file ${rel}`, `size=${info.size} sha256=${(await sums.of(full)).slice(0, 16)}`);
    } else {
      out.set(`file ${rel}`, "not a regular file");
    }
  }
}

export async function readPoolState(sim: SimFixture, sums: ChecksumCache): Promise<PoolState> {
  const state = new Map<string, string>();
  for (const disk of await listJson(sim, "/disk")) {
    if (disk.slot === sim.pool) continue;
    state.set(`disk ${String(disk.slot)}`, pick(disk, DISK_FIELDS));
  }
  for (const subvolume of await listJson(sim, "/disk/btrfs/subvolume")) {
    state.set(`subvolume ${String(subvolume.fullname)}`, pick(subvolume, SUBVOLUME_FIELDS));
  }
  await walk(sim.poolMountPath, "", sums, state);
  return new Map([...stableMarks(state).entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * Delete marks (`<root>/deleted/<id>.<unix ms>`, src/storage/tombstones.ts) as one `mark <id>`
 * entry per id: how many a delete leaves depends on its retries, their names on the clock, and the
 * directory holding them is bookkeeping made by the first delete.
 */
function stableMarks(state: Map<string, string>): Map<string, string> {
  const dir = `file ${ROOT}/deleted/`;
  const out = new Map<string, string>();
  for (const [key, value] of state) {
    if (!key.startsWith(dir)) {
      out.set(key, value);
      continue;
    }
    const id = /^((?:pvc|snap)-[0-9a-f-]{36})\.\d+$/.exec(key.slice(dir.length))?.[1];
    if (id !== undefined) out.set(`mark ${id}`, "present");
    else if (key !== dir) out.set(key, value);
  }
  return out;
}

/** Role name → id, e.g. `{ source: "pvc-…", snapshot: "snap-…" }`. */
export type Roles = Readonly<Record<string, string>>;

/** Replaces every id of `roles` in `text` by `{role}`. */
export function maskIds(text: string, roles: Roles): string {
  let out = text;
  for (const [role, id] of Object.entries(roles)) out = out.split(id).join(`{${role}}`);
  return out;
}

/**
 * The changes from `before` to `after`, one sorted line each (`+` added, `-` removed, `~` changed),
 * with the ids of `roles` masked.
 */
export function changes(before: PoolState, after: PoolState, roles: Roles): string[] {
  const lines: string[] = [];
  for (const [key, value] of after) {
    const old = before.get(key);
    if (old === undefined) lines.push(`+ ${key}: ${value}`);
    else if (old !== value) lines.push(`~ ${key}: ${old} -> ${value}`);
  }
  for (const [key, value] of before) if (!after.has(key)) lines.push(`- ${key}: ${value}`);
  return lines.map((l) => maskIds(l, roles)).sort();
}
