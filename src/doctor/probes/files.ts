import {
  addCommand,
  batchCommand,
  printDetailCommand,
  printJsonCommand,
  putCommand,
  type RouterOsCommand,
  value,
  where,
} from "../../rds/command.js";
import { classifyReply } from "../../rds/index.js";
import { parseJsonRecords } from "../../rds/parse/json.js";
import { driverSays, firstLine, jsonText, type ProbeContext, requirement, settingCheck } from "../probe.js";
import type { CheckResult } from "../report.js";

/** Body of the probe files: a `;` and a `=` inside, as real file contents have. */
const PROBE_CONTENTS = "rds-csi doctor;probe=1";
/** Created in this order; listed back in it unless RouterOS sorts. */
const ORDER_NAMES = ["m", "a", "z"] as const;
/** Longer than the 512 columns the driver's login asks for, without spaces. */
const WRAP_PROBE_LENGTH = 700;

function mkdir(ctx: ProbeContext, inPool: string): RouterOsCommand {
  const name = ctx.facts.fileNameSlash ? `/${inPool}` : inPool;
  return addCommand("/file", [
    ["name", value.string(name)],
    ["type", value.word("directory")],
  ]);
}

/**
 * `/file add type=directory`, recorded first. The first one also finds out whether a name without a
 * leading slash is taken (`file_add_relative_path`): refused, it is made with the slash.
 */
export async function makeDirectory(ctx: ProbeContext, inPool: string): Promise<void> {
  ctx.scratch.track({ kind: "file", path: inPool });
  let reply = await ctx.session.send(mkdir(ctx, inPool));
  if (ctx.facts.relativePath === undefined) {
    if (reply.error) {
      const refusal = firstLine(reply.output);
      ctx.facts.fileNameSlash = true;
      reply = await ctx.session.send(mkdir(ctx, inPool));
      if (!reply.error)
        ctx.facts.relativePath = {
          observed: "refuse",
          note: `refused (${refusal}); /${inPool} with a leading slash worked`,
        };
    } else {
      ctx.facts.relativePath = { observed: "accept", note: `made ${inPool}` };
    }
  }
  if (reply.error) throw reply.error;
}

export function relativePathCheck(ctx: ProbeContext): CheckResult {
  const found = ctx.facts.relativePath;
  if (!found) throw new Error("no directory was made with /file add");
  return settingCheck(
    "file_add_relative_path",
    "/file add name= without a leading slash",
    found.observed,
    found.note,
  );
}

/** Whether a subvolume with this fullname (printed with or without a leading slash) exists. */
async function subvolumeExists(ctx: ProbeContext, fullname: string): Promise<boolean> {
  const reply = await ctx.session.send(
    printJsonCommand("/disk/btrfs/subvolume", where.anyOf("fullname", [fullname, `/${fullname}`]), [
      "fullname",
    ]),
  );
  if (reply.error) throw reply.error;
  return parseJsonRecords(jsonText(reply.output)).length > 0;
}

async function addSubvolumeAt(ctx: ProbeContext, fullname: string): Promise<boolean> {
  ctx.scratch.track({ kind: "subvolume", fullname });
  const reply = await ctx.session.send(
    addCommand("/disk/btrfs/subvolume", [
      ["fs", value.word(ctx.fsLabel)],
      ["name", value.string(fullname)],
    ]),
  );
  return reply.error === null;
}

/**
 * Makes `<root>` when it is missing, as the driver makes its layout folders (a subvolume), and the
 * scratch directory in it: a subvolume when the root is one (then every probe can nest subvolumes
 * in it, whatever RouterOS does under plain directories), else a plain directory.
 */
export async function makeScratchDirectory(ctx: ProbeContext): Promise<CheckResult[]> {
  const { paths, session } = ctx;
  const rootPath = `${paths.pool}/${paths.root}`;
  const rootListed = await session.send(printJsonCommand("/file", where.eq("name", rootPath), ["name"]));
  if (rootListed.error) throw rootListed.error;
  const rootExists = parseJsonRecords(jsonText(rootListed.output)).length > 0;
  let rootIsSubvolume = rootExists && (await subvolumeExists(ctx, paths.root));
  if (!rootExists) {
    rootIsSubvolume = await addSubvolumeAt(ctx, paths.root);
    if (!rootIsSubvolume) await makeDirectory(ctx, rootPath);
  }
  ctx.facts.scratchIsSubvolume = rootIsSubvolume && (await addSubvolumeAt(ctx, paths.dir));
  if (!ctx.facts.scratchIsSubvolume) await makeDirectory(ctx, paths.inPool());
  ctx.facts.scratchReady = true;
  const root = rootExists
    ? `${rootPath} exists${rootIsSubvolume ? " (a subvolume)" : " (a plain directory)"}`
    : `made ${rootPath} as a ${rootIsSubvolume ? "subvolume" : "plain directory"}; removed at the end`;
  return [
    requirement(
      "scratch",
      "Scratch directory",
      "ok",
      `/${paths.inPool()}`,
      `${ctx.facts.scratchIsSubvolume ? "a subvolume" : "a plain directory"}; ${root}`,
    ),
  ];
}

/** Files listed without proplist: `contents`, the id form, the order within a folder. */
export async function checkFileListing(ctx: ProbeContext): Promise<CheckResult[]> {
  const { paths, scratch, session } = ctx;
  const dir = paths.inPool("order");
  await makeDirectory(ctx, dir);
  for (const n of ORDER_NAMES) {
    const name = `${dir}/${n}`;
    scratch.track({ kind: "file", path: name });
    const reply = await session.send(
      addCommand("/file", [
        ["name", value.string(ctx.facts.fileNameSlash ? `/${name}` : name)],
        ["contents", value.string(PROBE_CONTENTS)],
      ]),
    );
    if (reply.error) throw reply.error;
  }
  const reply = await session.send(printJsonCommand("/file", where.startsWith("name", `${dir}/`)));
  if (reply.error) throw reply.error;
  const records = parseJsonRecords(jsonText(reply.output));
  const names = records.map((r) =>
    (r.properties.get("name") ?? "").replace(/^\/+/, "").slice(dir.length + 1),
  );
  const ids = records.map((r) => r.properties.get(".id") ?? "");
  // The driver's own listing of the same files must find all three with their exact size.
  const size = BigInt(Buffer.byteLength(PROBE_CONTENTS));
  const driverReads = await driverSays(async () => {
    const listed = await ctx.rds.listFiles({ namePrefix: `${dir}/` });
    return ORDER_NAMES.every((n) =>
      listed.some(
        (f) => f.name.replace(/^\/+/, "") === `${dir}/${n}` && (f.size === null || f.size === size),
      ),
    );
  });
  const driverNote = driverReads ? "" : " The driver's listing of these files did not find them all.";
  const hasContents = records.some((r) => r.properties.has("contents"));
  const order =
    names.join(",") === ORDER_NAMES.join(",")
      ? "creation"
      : names.join(",") === [...ORDER_NAMES].sort().join(",")
        ? "alphabetical"
        : "other";
  const starHex = ids.length > 0 && ids.every((id) => /^\*[0-9A-Fa-f]+$/.test(id));
  return [
    settingCheck(
      "file_listing_contents",
      "/file listing carries contents",
      String(hasContents),
      hasContents
        ? "small files' bodies come with a listing without proplist=; the driver asks for the properties it reads"
        : "no contents property in a listing without proplist=",
      { driverCheck: driverReads },
    ),
    settingCheck(
      "file_id_form",
      "/file ids",
      starHex ? "star-hex" : "opaque",
      `e.g. ${ids[0] ?? "(none)"}${driverNote}`,
      {
        driverCheck: driverReads,
      },
    ),
    settingCheck(
      "file_print_order",
      "/file order within a folder",
      order,
      `created ${ORDER_NAMES.join(", ")}; listed ${names.join(", ")}`,
    ),
  ];
}

/** `print … as-value proplist=name`: is `.id` still printed? */
export async function checkProplistId(ctx: ProbeContext): Promise<CheckResult> {
  const reply = await ctx.session.send(
    printJsonCommand("/file", where.eq("name", ctx.paths.inPool("order")), ["name"]),
  );
  if (reply.error) throw reply.error;
  const record = parseJsonRecords(jsonText(reply.output))[0];
  if (!record) throw new Error("the scratch directory was not listed");
  const keeps = record.properties.has(".id");
  return settingCheck(
    "proplist_keeps_id",
    "as-value with proplist= keeps .id",
    String(keeps),
    `printed keys: ${[...record.properties.keys()].join(", ")}`,
  );
}

/** A print that matches nothing: empty, or a `Flags:` legend. The driver must read "not found" either way. */
export async function checkEmptyLegend(ctx: ProbeContext): Promise<CheckResult> {
  const slot = ctx.paths.slot("none");
  const reply = await ctx.session.send(printDetailCommand("/disk", where.eq("slot", slot)));
  if (reply.error) throw reply.error;
  const text = reply.output.trim();
  const legend = text.startsWith("Flags:");
  const driverReads = await driverSays(async () => (await ctx.rdsDetail.getDisk(slot)) === null);
  return settingCheck(
    "empty_print_legend",
    "Legend on an empty print",
    legend ? "true" : text === "" ? "false" : "other",
    text === "" ? "printed nothing" : `printed: ${shorten(firstLine(text), 60)}`,
    { driverCheck: driverReads },
  );
}

/** `a; <runtime error>; b` on one line: does `b` run? */
export async function checkLineErrorMode(ctx: ProbeContext): Promise<CheckResult> {
  const after = `doctor-${ctx.paths.tag}-after`;
  // Making the scratch directory again fails at run time (it exists) and changes nothing.
  const failing = mkdir(ctx, ctx.paths.inPool());
  const reply = await ctx.session.send(
    batchCommand([putCommand(`doctor-${ctx.paths.tag}-before`), failing, putCommand(after)]),
  );
  // With the rest of the line run, the error is neither the first nor the last line.
  const failed = reply.output.split("\n").some((line) => classifyReply(line) !== null);
  if (!failed) throw new Error("making an existing directory did not fail; cannot tell");
  const continued = reply.output.includes(after);
  return settingCheck(
    "line_error_mode",
    "A ;-joined line after a runtime error",
    continued ? "continue" : "stop",
    continued ? "the commands after the error ran" : "RouterOS stopped at the error",
  );
}

/** A `:put` longer than the session's width: wrapped mid-token, or one line. */
export async function checkPutWrap(ctx: ProbeContext): Promise<CheckResult> {
  let text = "";
  for (let i = 0; text.length < WRAP_PROBE_LENGTH; i++) text += `${i.toString(36)}x`;
  text = text.slice(0, WRAP_PROBE_LENGTH);
  const reply = await ctx.session.send(putCommand(text));
  if (reply.error) throw reply.error;
  const lines = reply.output.split("\n").filter((l) => l !== "");
  const wrapped = lines.length > 1;
  if (lines.join("") !== text)
    throw new Error(`:put printed something else: ${firstLine(reply.output).slice(0, 80)}`);
  return settingCheck(
    "put_wrap",
    ":put wraps long lines",
    String(wrapped),
    wrapped
      ? `a ${WRAP_PROBE_LENGTH}-character line came back as ${lines.length} lines of up to ${lines[0]?.length ?? 0}`
      : `a ${WRAP_PROBE_LENGTH}-character line came back whole`,
  );
}

function shorten(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
