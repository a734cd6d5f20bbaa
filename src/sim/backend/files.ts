import { constants } from "node:fs";
import { mkdir, open, stat } from "node:fs/promises";
import { run } from "./run.js";

export type PathKind = "missing" | "file" | "directory" | "other";

export async function pathKind(hostPath: string): Promise<PathKind> {
  const s = await stat(hostPath).catch(() => undefined);
  if (!s) return "missing";
  if (s.isFile()) return "file";
  if (s.isDirectory()) return "directory";
  return "other";
}

/** Creates a new file of `size` bytes: sparse (ftruncate) or preallocated (fallocate). */
export async function createSizedFile(hostPath: string, size: bigint, preallocate: boolean): Promise<void> {
  const handle = await open(hostPath, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o644);
  try {
    await handle.truncate(Number(size));
  } finally {
    await handle.close();
  }
  if (preallocate && size > 0n) await run("fallocate", ["-l", size.toString(), hostPath]);
}

export async function resizeFile(hostPath: string, size: bigint): Promise<void> {
  const handle = await open(hostPath, "r+");
  try {
    await handle.truncate(Number(size));
  } finally {
    await handle.close();
  }
}

export async function makeDirectories(hostPath: string): Promise<void> {
  await mkdir(hostPath, { recursive: true });
}

/** Copies a file's data: sharing extents (reflink) or byte for byte, keeping holes. */
export async function copyFileData(source: string, target: string, mode: "reflink" | "copy"): Promise<void> {
  const args = mode === "reflink" ? ["--reflink=always"] : ["--reflink=never", "--sparse=always"];
  await run("cp", [...args, "--", source, target]);
}
