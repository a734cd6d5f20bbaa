import { randomUUID } from "node:crypto";
import {
  addCommand,
  findWhere,
  printJsonCommand,
  type RouterOsCommand,
  removeCommand,
  setCommand,
  value,
  where,
} from "../../rds/command.js";
import { fileName } from "../../rds/index.js";
import { parseJsonRecords } from "../../rds/parse/json.js";
import { driverSays, firstLine, jsonText, type ProbeContext, settingCheck, skipped } from "../probe.js";
import type { CheckResult } from "../report.js";

const MIB = 1024 * 1024;
/** Every disk the doctor makes: sparse, so it costs next to nothing, and bounded. */
export const PROBE_DISK_BYTES = 16 * MIB;

function sizeValue(ctx: ProbeContext, bytes: number) {
  return ctx.facts.plainBytes ? value.integer(bytes) : value.word(`${bytes / MIB}M`);
}

/** `/disk add type=file` of a scratch image, never exported; `bytes` undefined attaches an existing file. */
export function diskAdd(ctx: ProbeContext, slot: string, image: string, bytes?: number): RouterOsCommand {
  return addCommand("/disk", [
    ["type", value.word("file")],
    ["slot", value.id(slot)],
    ["file-path", value.string(`/${fileName(image)}`)],
    ["file-size", bytes === undefined ? undefined : sizeValue(ctx, bytes)],
    ["mount-filesystem", value.bool(false)],
    ["nvme-tcp-export", value.bool(false)],
  ]);
}

/** Records a disk and its image, then adds it; throws RouterOS's error. */
export async function addScratchDisk(
  ctx: ProbeContext,
  slot: string,
  image: string,
  bytes?: number,
): Promise<void> {
  ctx.scratch.track({ kind: "file", path: image });
  ctx.scratch.track({ kind: "disk", slot });
  const reply = await ctx.session.send(diskAdd(ctx, slot, image, bytes));
  if (reply.error) throw reply.error;
}

const bySlot = (slot: string) => findWhere(where.eq("slot", slot));

/**
 * The first scratch disk: whether `file-size=` takes plain bytes, and how `:serialize to=json`
 * prints its integers (`16777216.000000` or `16777216`), read back by the driver's own client.
 */
export async function checkDiskBasics(ctx: ProbeContext): Promise<CheckResult[]> {
  const slot = ctx.paths.slot("a");
  const image = ctx.paths.inPool("a.img");
  ctx.scratch.track({ kind: "file", path: image });
  ctx.scratch.track({ kind: "disk", slot });
  let reply = await ctx.session.send(diskAdd(ctx, slot, image, PROBE_DISK_BYTES));
  let plain = "accept";
  let refusal = "";
  if (reply.error) {
    refusal = firstLine(reply.output);
    ctx.facts.plainBytes = false;
    reply = await ctx.session.send(diskAdd(ctx, slot, image, PROBE_DISK_BYTES));
    if (reply.error) throw reply.error;
    plain = "refuse";
  }
  const plainCheck = settingCheck(
    "file_size_plain_bytes",
    "file-size= in plain bytes",
    plain,
    plain === "accept"
      ? `file-size=${PROBE_DISK_BYTES} made a 16 MiB disk`
      : `refused (${refusal}); file-size=16M worked`,
  );
  const json = await ctx.session.send(printJsonCommand("/disk", where.eq("slot", slot)));
  if (json.error) throw json.error;
  const m = /"(?:file-)?size":\s*(-?\d+(?:\.\d+)?)/.exec(jsonText(json.output));
  const printed = m?.[1];
  const form = printed === undefined ? "other" : /\.\d+$/.test(printed) ? "float" : "integer";
  let driverRead = "nothing";
  const decoded = await driverSays(async () => {
    const disk = await ctx.rds.getDisk(slot);
    driverRead = disk ? `${disk.fileSize} bytes` : "no disk";
    return disk?.fileSize === BigInt(PROBE_DISK_BYTES);
  });
  return [
    plainCheck,
    settingCheck(
      "json_integer_form",
      ":serialize to=json integers",
      form,
      `a 16 MiB disk's size printed as ${printed ?? "(no size)"}; the driver read ${driverRead}`,
      { driverCheck: decoded },
    ),
  ];
}

/** Failures that touch only the scratch disk and directory, to record RouterOS's wording. */
export async function provokeDiskErrors(ctx: ProbeContext): Promise<void> {
  const { paths, facts, session } = ctx;
  const slot = paths.slot("a");
  // The same slot again, on a new image (recorded in case RouterOS makes it anyway).
  const dupImage = paths.inPool("dup.img");
  ctx.scratch.track({ kind: "file", path: dupImage });
  const dup = await session.send(diskAdd(ctx, slot, dupImage, PROBE_DISK_BYTES));
  if (dup.error) facts.errorTexts.duplicate_slot = firstLine(dup.output);
  // An image in a directory that does not exist.
  const missingDir = paths.inPool("missing");
  const missingSlot = paths.slot("m");
  ctx.scratch.track({ kind: "file", path: missingDir });
  ctx.scratch.track({ kind: "file", path: `${missingDir}/x.img` });
  ctx.scratch.track({ kind: "disk", slot: missingSlot });
  const missing = await session.send(diskAdd(ctx, missingSlot, `${missingDir}/x.img`, PROBE_DISK_BYTES));
  if (missing.error) facts.errorTexts.missing_parent_dir = firstLine(missing.output);
  // A file that exists.
  const existing = paths.inPool("order", "m");
  const again = await session.send(
    addCommand("/file", [
      ["name", value.string(facts.fileNameSlash ? `/${existing}` : existing)],
      ["contents", value.string("again")],
    ]),
  );
  if (again.error) facts.errorTexts.file_exists = firstLine(again.output);
  // Shrinking the scratch disk (harmless if RouterOS allows it).
  const shrink = await session.send(
    setCommand("/disk", bySlot(slot), [["file-size", sizeValue(ctx, 8 * MIB)]]),
  );
  if (shrink.error) facts.errorTexts.shrink = firstLine(shrink.output);
  // A directory that holds files.
  const notEmpty = await session.send(
    removeCommand("/file", findWhere(where.eq("name", paths.inPool("order")))),
  );
  if (notEmpty.error) facts.errorTexts.directory_not_empty = firstLine(notEmpty.output);
}

/** `/file remove` of an image a `/disk` item uses. */
export async function checkFileRemoveInUse(ctx: ProbeContext): Promise<CheckResult> {
  const slot = ctx.paths.slot("f");
  const image = ctx.paths.inPool("f.img");
  await addScratchDisk(ctx, slot, image, PROBE_DISK_BYTES);
  const reply = await ctx.session.send(removeCommand("/file", findWhere(where.eq("name", image))));
  if (reply.error) ctx.facts.errorTexts.file_in_use = firstLine(reply.output);
  return settingCheck(
    "file_remove_in_use",
    "/file remove of a disk's image",
    reply.error ? "fail" : "allow",
    reply.error ? `refused: ${firstLine(reply.output)}` : "removed while its /disk item still used it",
  );
}

/**
 * `file-size=` on an exported disk. Only with --probe-exported-disk: the disk is exported for a
 * moment to one random host NQN no initiator has, then the export is turned off again.
 */
export async function checkExportedFileSize(ctx: ProbeContext): Promise<CheckResult> {
  const id = "exported_disk_file_size";
  const title = "file-size= on an exported disk";
  if (!ctx.probeExport)
    return {
      ...skipped(id, "setting", title, "exports a disk: run with --probe-exported-disk to check it"),
      status: "warning",
    };
  const slot = ctx.paths.slot("e");
  await addScratchDisk(ctx, slot, ctx.paths.inPool("e.img"), PROBE_DISK_BYTES);
  const nobody = `nqn.2014-08.org.nvmexpress:uuid:${randomUUID()}`;
  const exportOn = await ctx.session.send(
    setCommand("/disk", bySlot(slot), [
      ["nvme-tcp-server-allow-host-name", value.string(nobody)],
      ["nvme-tcp-server-port", value.integer(ctx.nvmePort)],
      ["nvme-tcp-server-nqn", value.string(`${ctx.nqnPrefix}:${slot}`)],
      ["nvme-tcp-export", value.bool(true)],
    ]),
  );
  if (exportOn.error) throw exportOn.error;
  try {
    const grow = await ctx.session.send(
      setCommand("/disk", bySlot(slot), [["file-size", sizeValue(ctx, 2 * PROBE_DISK_BYTES)]]),
    );
    const bytes = await diskFileSize(ctx, slot);
    const observed = grow.error ? "refuse" : bytes === 2 * PROBE_DISK_BYTES ? "resize" : "ignore";
    const note = grow.error
      ? `refused: ${firstLine(grow.output)}`
      : observed === "resize"
        ? "grew from 16 to 32 MiB while exported"
        : `answered nothing and the size stayed ${bytes} bytes`;
    return settingCheck(id, title, observed, note);
  } finally {
    await ctx.session.sendDuringCleanup(
      setCommand("/disk", bySlot(slot), [["nvme-tcp-export", value.bool(false)]]),
    );
  }
}

/** A scratch disk's `file-size` in bytes as RouterOS prints it in JSON (`16777216` or `16777216.000000`). */
export async function diskFileSize(ctx: ProbeContext, slot: string): Promise<number | null> {
  const reply = await ctx.session.send(printJsonCommand("/disk", where.eq("slot", slot)));
  if (reply.error) throw reply.error;
  const text = parseJsonRecords(jsonText(reply.output))[0]?.properties.get("file-size");
  const bytes = text === undefined ? Number.NaN : Number(text);
  return Number.isFinite(bytes) ? bytes : null;
}
