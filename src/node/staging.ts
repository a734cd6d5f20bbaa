import { mkdir, readFile, rename, rm, rmdir, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import * as v from "valibot";
import { broken } from "./errors.js";
import { isMissing } from "./sysfs.js";
import { FS_TYPES } from "./validate.js";

/*
 * What NodeStageVolume leaves in the staging directory the CO gave it:
 *
 *   <staging>/rds-csi-volume.json   which volume is staged here and how to reach it again
 *   <staging>/fs/                   the filesystem mount (mount volumes)
 *   <staging>/block                 a bind of the device node (block volumes)
 *
 * NodeUnstageVolume receives no volume_context; the record is how it finds the transport and the
 * device to detach, even after a restart or a half-finished earlier attempt. It is written before
 * the attach and removed after the detach, so every state in between is recoverable.
 */

export const RECORD_FILE = "rds-csi-volume.json";

export interface StagingLayout {
  dir: string;
  record: string;
  fsDir: string;
  blockFile: string;
}

export function stagingLayout(stagingPath: string): StagingLayout {
  return {
    dir: stagingPath,
    record: join(stagingPath, RECORD_FILE),
    fsDir: join(stagingPath, "fs"),
    blockFile: join(stagingPath, "block"),
  };
}

const nonEmpty = v.pipe(v.string(), v.minLength(1));

const targetSchema = v.variant("transport", [
  v.object({ transport: v.literal("loop"), backingFile: nonEmpty }),
  v.object({
    transport: v.literal("nvme-tcp"),
    address: nonEmpty,
    port: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(65535)),
    nqn: nonEmpty,
  }),
]);

const recordSchema = v.object({
  version: v.literal(1),
  volumeId: nonEmpty,
  target: targetSchema,
  accessType: v.picklist(["mount", "block"]),
  /** The filesystem on the volume, once known. */
  fsType: v.optional(v.picklist(FS_TYPES)),
  readOnly: v.boolean(),
});

export type StagingRecord = v.InferOutput<typeof recordSchema>;

export async function readRecord(layout: StagingLayout): Promise<StagingRecord | undefined> {
  let text: string;
  try {
    text = await readFile(layout.record, "utf8");
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw err;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw broken(`${layout.record} is not valid JSON; remove it only after checking what is staged there`);
  }
  const parsed = v.safeParse(recordSchema, json);
  if (!parsed.success) throw broken(`${layout.record} is not a staging record: ${parsed.issues[0].message}`);
  return parsed.output;
}

/** Written to a temporary name and renamed, so a crash never leaves half a record. */
export async function writeRecord(layout: StagingLayout, record: StagingRecord): Promise<void> {
  await mkdir(layout.dir, { recursive: true });
  const temp = `${layout.record}.tmp`;
  await writeFile(temp, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
  await rename(temp, layout.record);
}

/** Removes what staging created inside the directory; the directory itself belongs to the CO. */
export async function removeStagingFiles(layout: StagingLayout): Promise<void> {
  await rmdir(layout.fsDir).catch(ignoreMissing);
  await unlink(layout.blockFile).catch(ignoreMissing);
  await rm(`${layout.record}.tmp`, { force: true });
  await unlink(layout.record).catch(ignoreMissing);
}

function ignoreMissing(err: unknown): void {
  if (!isMissing(err)) throw err;
}
