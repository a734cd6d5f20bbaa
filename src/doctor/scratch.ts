import { randomUUID } from "node:crypto";
import { isRdsError, type RdsClient } from "../rds/index.js";
import type { CleanupReport } from "./report.js";

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
   * Removes what was recorded, newest first, with the driver's own remove operations (each a no-op
   * when the object is absent), then lists what is still there under the scratch directory and the
   * run's slots. `deadline` bounds the whole cleanup.
   */
  async cleanup(rds: RdsClient, deadline: number): Promise<CleanupReport> {
    const report: CleanupReport = { removed: [], left: [] };
    const failures = new Map<string, string>();
    for (const object of [...this.#objects].reverse()) {
      const label = describe(object);
      try {
        await remove(rds, object, deadline);
        report.removed.push(label);
      } catch (err) {
        failures.set(label, err instanceof Error ? err.message : String(err));
      }
    }
    const remaining = await this.#stillThere(rds, deadline).catch((err: unknown) => {
      const message = err instanceof Error ? err.message : String(err);
      return [
        ...this.#objects.map(describe).map((label) => ({ label, error: `could not verify: ${message}` })),
      ];
    });
    for (const { label, error } of remaining) {
      report.left.push({ object: label, error: failures.get(label) ?? error });
    }
    report.removed = report.removed.filter((label) => !report.left.some((l) => l.object === label));
    return report;
  }

  /** Recorded objects RouterOS still lists (one listing per kind). */
  async #stillThere(rds: RdsClient, deadline: number): Promise<Array<{ label: string; error: string }>> {
    const { paths } = this;
    const call = { deadline };
    const [disks, subvolumes, files] = await Promise.all([
      rds.listDisks({ slotPrefix: `doctor-${paths.tag}-` }, call),
      rds.listSubvolumes({ fullnamePrefix: `${paths.dir}/` }, call),
      rds.listFiles({ namePrefix: paths.inPool() }, call),
    ]);
    const left: Array<{ label: string; error: string }> = [];
    const still = "still listed after removal";
    for (const d of disks) left.push({ label: describe({ kind: "disk", slot: d.slot }), error: still });
    for (const s of subvolumes)
      left.push({
        label: describe({ kind: "subvolume", fullname: s.fullname.replace(/^\/+/, "") }),
        error: still,
      });
    const scratchFile = paths.inPool();
    for (const f of files) {
      const name = f.name.replace(/^\/+/, "");
      if (name !== scratchFile && !name.startsWith(`${scratchFile}/`)) continue;
      // A subvolume also shows as a directory in /file; it is reported once, as a subvolume.
      if (subvolumes.some((s) => `${paths.pool}/${s.fullname.replace(/^\/+/, "")}` === name)) continue;
      left.push({ label: describe({ kind: "file", path: name }), error: still });
    }
    // The root directory is recorded only when the doctor made it; it is checked by name.
    for (const o of this.#objects) {
      if (o.kind !== "file" || o.path === scratchFile || o.path.startsWith(`${scratchFile}/`)) continue;
      const found = await rds.getFile(o.path, call);
      if (found) left.push({ label: describe(o), error: still });
    }
    return left;
  }
}

async function remove(rds: RdsClient, object: Tracked, deadline: number): Promise<void> {
  const call = { deadline };
  switch (object.kind) {
    case "disk":
      return rds.removeDisk(object.slot, call);
    case "subvolume":
      return rds.removeSubvolume(object.fullname, call);
    case "file":
      try {
        return await rds.removeFile(object.path, call);
      } catch (err) {
        // Gone with the subvolume that held it, or removed by a probe: nothing to do.
        if (isRdsError(err, "not-found")) return;
        throw err;
      }
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
