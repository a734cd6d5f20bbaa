import { createHash, randomBytes } from "node:crypto";
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";

/** Path (relative to the volume root) → sha256 hex. */
export type Manifest = Map<string, string>;

const sha256 = (data: Buffer) => createHash("sha256").update(data).digest("hex");

/**
 * Writes a known data set into a mounted volume: files of varied sizes (some larger than a
 * Btrfs extent, some tiny), in nested directories, with random content. Returns their checksums.
 */
export async function writeDataset(root: string, files = 24): Promise<Manifest> {
  const manifest: Manifest = new Map();
  for (let i = 0; i < files; i++) {
    const dir = join(root, "data", `d${i % 4}`);
    await mkdir(dir, { recursive: true });
    const size = [0, 1, 4095, 4096, 65_537, 1 << 20, 3 * (1 << 20) + 17][i % 7]!;
    const content = randomBytes(size);
    const path = join(dir, `file-${i}.bin`);
    await writeFile(path, content, { flush: true });
    manifest.set(relative(root, path), sha256(content));
  }
  return manifest;
}

/** Checksums of every regular file under root's `data` directory. */
export async function readManifest(root: string): Promise<Manifest> {
  const manifest: Manifest = new Map();
  const entries = await readdir(join(root, "data"), { recursive: true, withFileTypes: true });
  for (const e of entries) {
    if (!e.isFile()) continue;
    const path = join(e.parentPath, e.name);
    manifest.set(relative(root, path), sha256(await readFile(path)));
  }
  return manifest;
}

/** Overwrites half of the files and deletes a quarter, so a restore has something to undo. */
export async function mutateDataset(
  root: string,
  manifest: Manifest,
): Promise<{ changed: number; deleted: number }> {
  let changed = 0;
  let deleted = 0;
  let i = 0;
  for (const path of manifest.keys()) {
    if (i % 4 === 0) {
      await rm(join(root, path));
      deleted++;
    } else if (i % 2 === 1) {
      await writeFile(join(root, path), randomBytes(8192), { flush: true });
      changed++;
    }
    i++;
  }
  return { changed, deleted };
}

export interface Comparison {
  matching: number;
  missing: string[];
  different: string[];
  extra: string[];
}

export function compareManifests(expected: Manifest, actual: Manifest): Comparison {
  const result: Comparison = { matching: 0, missing: [], different: [], extra: [] };
  for (const [path, sum] of expected) {
    const got = actual.get(path);
    if (got === undefined) result.missing.push(path);
    else if (got !== sum) result.different.push(path);
    else result.matching++;
  }
  for (const path of actual.keys()) if (!expected.has(path)) result.extra.push(path);
  return result;
}

export const identical = (c: Comparison) => c.missing.length + c.different.length + c.extra.length === 0;
