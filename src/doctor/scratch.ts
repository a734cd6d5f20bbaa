import { randomUUID } from "node:crypto";
import { findWhere, printJsonCommand, type RouterOsCommand, removeCommand, where } from "../rds/command.js";
import { isRdsError } from "../rds/index.js";
import { parseJsonRecords } from "../rds/parse/json.js";
import type { CleanupReport } from "./report.js";
import type { ProbeSession } from "./session.js";

/**
 * Where the doctor works and what it made there. Every name carries the run's id, so nothing of
 * anyone else's can match, and every object is recorded *before* the command that may create it
 * is sent: a command whose answer was lost still gets cleaned up. Cleanup removes only recorded
 * objects (newest first: disk items before their files, nested subvolumes before their containers),
 * then lists the scratch directory and the run's slots to prove nothing is left.
 */

export type Tracked =
  | { kind: "disk"; slot: string }
  | { kind: "subvolume"; fullname: string }
  | { kind: "file"; path: string };

export class ScratchPaths {
  /** Short form of the run id, for names that must stay short (slots, subvolume names). */
  readonly tag: string;
  /** `<root>/doctor-<uuid>`: relative to the pool, the form subvolume fullnames use. */
  readonly dir: string;

  constructor(
    readonly pool: string,
    readonly root: string,
    readonly id: string = randomUUID(),
  ) {
    this.tag = id.replaceAll("-", "").slice(0, 12);
    this.dir = `${root}/doctor-${id}`;
  }

  /** A path under the scratch directory, relative to the pool (subvolume fullname form). */
  rel(...parts: string[]): string {
    return [this.dir, ...parts].join("/");
  }

  /** The same path as a `/file` name or `/disk file-path` (the driver's paths.ts adds or drops `/`). */
  inPool(...parts: string[]): string {
    return `${this.pool}/${this.rel(...parts)}`;
  }

  /** A `/disk` slot of this run: `doctor-<tag>-<suffix>`. */
  slot(suffix: string): string {
    return `doctor-${this.tag}-${suffix}`;
  }

  /** A subvolume name unique to this run, so `where name=` and last-name resolution find only ours. */
  name(suffix: string): string {
    return `d${suffix}-${this.tag}`;
  }
}

export class Scratch {
  readonly #objects: Tracked[] = [];

  constructor(readonly paths: ScratchPaths) {}

  /** Records an object the next command may create. */
  track(object: Tracked): void {
    if (!this.#objects.some((o) => describe(o) === describe(object))) this.#objects.push(object);
  }

  get size(): number {
    return this.#objects.length;
  }

  /**
   * Removes what was recorded, newest first (each removal a no-op when the object is absent), then
   * lists what is still there under the scratch directory and the run's slots. Its own commands
   * accept both spellings RouterOS may print a subvolume's fullname in, so cleanup does not depend
   * on the behaviours the probes are finding out. `deadline` bounds the whole cleanup.
   */
  async cleanup(session: ProbeSession, deadline: number): Promise<CleanupReport> {
    const report: CleanupReport = { removed: [], left: [], kept: [] };
    const failures = new Map<string, string>();
    for (const object of [...this.#objects].reverse()) {
      const label = describe(object);
      if (Date.now() > deadline) {
        failures.set(label, "cleanup ran out of time");
        continue;
      }
      if (!this.#inScratch(object)) {
        // The root the doctor made: kept if anything but the scratch directory appeared in it meanwhile.
        const others = await this.#othersInRoot(session).catch(() => ["(could not list it)"]);
        if (others.length > 0) {
          report.kept.push({ object: label, reason: `it now holds ${others.slice(0, 3).join(", ")}` });
          continue;
        }
      }
      const reply = await session.sendDuringCleanup(removal(object)).catch((err: unknown) => ({
        error: err instanceof Error ? err : new Error(String(err)),
        output: "",
      }));
      if (reply.error && !isRdsError(reply.error, "not-found")) failures.set(label, reply.error.message);
      else report.removed.push(label);
    }
    let remaining: string[];
    try {
      remaining = await this.#stillThere(session);
    } catch (err) {
      const message = `could not verify: ${err instanceof Error ? err.message : String(err)}`;
      remaining = this.#objects.map(describe);
      for (const label of remaining) if (!failures.has(label)) failures.set(label, message);
    }
    const kept = new Set(report.kept.map((k) => k.object));
    remaining = remaining.filter((label) => !kept.has(label));
    for (const label of remaining) {
      report.left.push({ object: label, error: failures.get(label) ?? "still listed after removal" });
    }
    report.removed = report.removed.filter((label) => !remaining.includes(label));
    return report;
  }

  #inScratch(object: Tracked): boolean {
    const { paths } = this;
    if (object.kind === "disk") return true;
    const path = object.kind === "subvolume" ? object.fullname : object.path;
    const dir = object.kind === "subvolume" ? paths.dir : paths.inPool();
    return path === dir || path.startsWith(`${dir}/`);
  }

  /** Entries of the root that are not the scratch directory or in it. */
  async #othersInRoot(session: ProbeSession): Promise<string[]> {
    const { paths } = this;
    const root = `${paths.pool}/${paths.root}/`;
    const reply = await session.sendDuringCleanup(
      printJsonCommand("/file", where.startsWith("name", root), ["name"]),
    );
    if (reply.error) throw reply.error;
    const scratch = paths.inPool();
    return parseJsonRecords(reply.output.replace(/\n/g, ""))
      .map((r) => (r.properties.get("name") ?? "").replace(/^\/+/, ""))
      .filter((n) => n.startsWith(root) && n !== scratch && !n.startsWith(`${scratch}/`));
  }

  /** Everything of this run RouterOS still lists: one listing per menu, plus the root if it was made. */
  async #stillThere(session: ProbeSession): Promise<string[]> {
    const { paths } = this;
    const list = async (command: RouterOsCommand, key: string) => {
      const reply = await session.sendDuringCleanup(command);
      if (reply.error) throw reply.error;
      return parseJsonRecords(reply.output.replace(/\n/g, "")).map((r) => r.properties.get(key) ?? "");
    };
    const disks = await list(
      printJsonCommand("/disk", where.startsWith("slot", `doctor-${paths.tag}-`), ["slot"]),
      "slot",
    );
    const subvolumes = await list(
      printJsonCommand(
        "/disk/btrfs/subvolume",
        where.or(where.startsWith("fullname", paths.dir), where.startsWith("fullname", `/${paths.dir}`)),
        ["fullname"],
      ),
      "fullname",
    );
    const files = await list(
      printJsonCommand("/file", where.startsWith("name", paths.inPool()), ["name"]),
      "name",
    );
    const left = new Set<string>();
    for (const slot of disks) left.add(describe({ kind: "disk", slot }));
    const subvolumePaths = subvolumes.map((f) => f.replace(/^\/+/, ""));
    for (const fullname of subvolumePaths) left.add(describe({ kind: "subvolume", fullname }));
    const scratchFile = paths.inPool();
    for (const raw of files) {
      const name = raw.replace(/^\/+/, "");
      if (name !== scratchFile && !name.startsWith(`${scratchFile}/`)) continue;
      // A subvolume also shows as a directory in /file; it is reported once, as a subvolume.
      if (subvolumePaths.some((f) => `${paths.pool}/${f}` === name)) continue;
      left.add(describe({ kind: "file", path: name }));
    }
    // The root is recorded only when the doctor made it, as a subvolume or a directory.
    for (const o of this.#objects) {
      if (o.kind === "subvolume" && !(o.fullname === paths.dir || o.fullname.startsWith(`${paths.dir}/`))) {
        const condition = where.anyOf("fullname", [o.fullname, `/${o.fullname}`]);
        const found = await list(
          printJsonCommand("/disk/btrfs/subvolume", condition, ["fullname"]),
          "fullname",
        );
        if (found.length > 0) left.add(describe(o));
      }
      if (o.kind === "file" && o.path !== scratchFile && !o.path.startsWith(`${scratchFile}/`)) {
        const found = await list(printJsonCommand("/file", where.eq("name", o.path), ["name"]), "name");
        if (found.length > 0) left.add(describe(o));
      }
    }
    return [...left];
  }
}

/** The remove command of one recorded object; an absent object makes it a no-op. */
function removal(object: Tracked): RouterOsCommand {
  switch (object.kind) {
    case "disk":
      return removeCommand("/disk", findWhere(where.eq("slot", object.slot)));
    case "subvolume":
      return removeCommand(
        "/disk/btrfs/subvolume",
        findWhere(where.anyOf("fullname", [object.fullname, `/${object.fullname}`])),
      );
    case "file":
      return removeCommand("/file", findWhere(where.eq("name", object.path)));
  }
}

export function describe(object: Tracked): string {
  switch (object.kind) {
    case "disk":
      return `/disk slot=${object.slot}`;
    case "subvolume":
      return `/disk/btrfs/subvolume ${object.fullname}`;
    case "file":
      return `/file ${object.path}`;
  }
}
