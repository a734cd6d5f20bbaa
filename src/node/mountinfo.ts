import { readFile } from "node:fs/promises";

/** One line of /proc/self/mountinfo (see proc(5)). */
export interface MountEntry {
  mountId: number;
  parentId: number;
  /** "major:minor" of the filesystem's device. */
  device: string;
  /** Path inside the filesystem that is mounted here ("/" unless it is a bind of a subtree). */
  root: string;
  mountPoint: string;
  /** Per-mount options (ro/rw, nosuid, …). */
  mountOptions: string[];
  fsType: string;
  source: string;
  superOptions: string[];
}

// The kernel escapes space, tab, newline and backslash in paths as three-digit octal.
function unescapeOctal(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(Number.parseInt(oct, 8)));
}

/** Parses mountinfo text; malformed lines are skipped rather than guessed at. */
export function parseMountInfo(text: string): MountEntry[] {
  const entries: MountEntry[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    const fields = line.split(" ");
    const separator = fields.indexOf("-", 6);
    if (separator < 0 || fields.length < separator + 3) continue;
    const [id, parent, device, root, mountPoint, options] = fields;
    if (!id || !parent || !device || !root || !mountPoint || !options) continue;
    entries.push({
      mountId: Number(id),
      parentId: Number(parent),
      device,
      root: unescapeOctal(root),
      mountPoint: unescapeOctal(mountPoint),
      mountOptions: options.split(","),
      fsType: fields[separator + 1]!,
      source: unescapeOctal(fields[separator + 2]!),
      superOptions: (fields[separator + 3] ?? "").split(","),
    });
  }
  return entries;
}

/** A snapshot of the mount table with the lookups the node operations need. */
export class MountTable {
  constructor(readonly entries: readonly MountEntry[]) {}

  /** The top-most mount at `path` (the one a process sees), or undefined when none. */
  at(path: string): MountEntry | undefined {
    let found: MountEntry | undefined;
    for (const e of this.entries) if (e.mountPoint === path) found = e;
    return found;
  }

  /** How many mounts are stacked at `path`. */
  countAt(path: string): number {
    return this.entries.filter((e) => e.mountPoint === path).length;
  }

  /** Every mount of the block device "major:minor", wherever it is. */
  ofDevice(device: string): MountEntry[] {
    return this.entries.filter((e) => e.device === device);
  }
}

export const PROC_MOUNTINFO = "/proc/self/mountinfo";

export async function readMountTable(path: string = PROC_MOUNTINFO): Promise<MountTable> {
  return new MountTable(parseMountInfo(await readFile(path, "utf8")));
}

export function isReadOnly(entry: MountEntry): boolean {
  return entry.mountOptions.includes("ro");
}
