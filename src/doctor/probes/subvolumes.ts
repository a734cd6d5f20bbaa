import { addCommand, findWhere, printJsonCommand, removeCommand, value, where } from "../../rds/command.js";
import { type FileInfo, isRdsError, type SubvolumeInfo } from "../../rds/index.js";
import { parseJsonRecords } from "../../rds/parse/json.js";
import type { PrintedItem } from "../../rds/parse/properties.js";
import { driverSays, firstLine, jsonText, type ProbeContext, settingCheck, skipped } from "../probe.js";
import type { CheckResult } from "../report.js";
import { addScratchDisk, diskFileSize, PROBE_DISK_BYTES } from "./disks.js";
import { makeDirectory } from "./files.js";

/** How a snapshot names its source: the full path, or (RouterOS resolving last names only) the run-unique last name. */
function parentOf(ctx: ProbeContext, fullname: string): string {
  return ctx.facts.parentByPath === false ? (fullname.split("/").pop() ?? fullname) : fullname;
}

const SUBVOLUME = "/disk/btrfs/subvolume";

/** `add fs=<label> name=<fullname> [parent=<p> read-only=yes|no]`, recorded before it is sent. */
async function addSubvolume(
  ctx: ProbeContext,
  fullname: string,
  snapshot?: { parent: string; readOnly: boolean },
) {
  ctx.scratch.track({ kind: "subvolume", fullname });
  return ctx.session.send(
    addCommand(SUBVOLUME, [
      ["fs", value.word(ctx.fsLabel)],
      ["parent", snapshot ? value.string(snapshot.parent) : undefined],
      ["name", value.string(fullname)],
      ["read-only", snapshot ? value.bool(snapshot.readOnly) : undefined],
    ]),
  );
}

/** The printed record of the subvolume with this (run-unique) last name. */
async function printed(ctx: ProbeContext, name: string): Promise<PrintedItem | undefined> {
  const reply = await ctx.session.send(printJsonCommand(SUBVOLUME, where.eq("name", name)));
  if (reply.error) throw reply.error;
  return parseJsonRecords(jsonText(reply.output))[0];
}

async function addFile(ctx: ProbeContext, path: string, contents: string) {
  ctx.scratch.track({ kind: "file", path });
  return ctx.session.send(
    addCommand("/file", [
      ["name", value.string(ctx.facts.fileNameSlash ? `/${path}` : path)],
      ["contents", value.string(contents)],
    ]),
  );
}

/**
 * A subvolume under the plain scratch directory (`name=` with `/` inside): every later subvolume
 * check nests inside it. Also how a subvolume prints: `fullname`, `fs`, `creation-time`.
 */
export async function checkSubvolumeBasics(ctx: ProbeContext): Promise<CheckResult[]> {
  const { paths } = ctx;
  const plain = paths.inPool("plain");
  await makeDirectory(ctx, plain);
  const nested = paths.rel("plain", paths.name("c"));
  const reply = await addSubvolume(ctx, nested);
  const slash = settingCheck(
    "subvolume_name_with_slash",
    "Subvolume name= with / under plain directories",
    reply.error ? "refuse" : "accept",
    reply.error
      ? `refused: ${firstLine(reply.output)}${ctx.facts.scratchIsSubvolume ? "; the checks below nest in the scratch subvolume" : ""}`
      : `made ${nested}`,
  );
  ctx.facts.nestingRefused = reply.error !== null;
  // Nesting in a subvolume is documented: where plain directories refuse it, the scratch subvolume serves.
  const container = reply.error ? (ctx.facts.scratchIsSubvolume ? paths.dir : undefined) : nested;
  if (!container) {
    // The driver nests its folders in its root; a plain-directory root leaves it nowhere to nest.
    const note = `${slash.note}; the root ${paths.root} is a plain directory, so the driver could not nest its folders in it: remove it (when empty) and let the driver make it as a subvolume`;
    return [{ ...slash, status: "unsupported", supported: false, note }];
  }
  ctx.facts.container = container;
  const containerName = container.split("/").pop() ?? container;
  const item = await printed(ctx, containerName);
  if (!item) throw new Error(`the subvolume ${container} is not listed`);
  const fullname = item.properties.get("fullname") ?? "";
  const fs = item.properties.get("fs") ?? "";
  const time = item.properties.get("creation-time") ?? "";
  const driverReads = await driverSays(async () => {
    const view = await ctx.rds.getSubvolume(container);
    return view !== null && view.creationTime !== null;
  });
  const driverNote = driverReads ? "" : "; the driver's read of it failed";
  const fsForm =
    fs === ctx.fsLabel
      ? "label"
      : /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(fs)
        ? "uuid"
        : "other";
  const timeForm = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/.test(time)
    ? "iso"
    : /^[a-z]{3}\/\d{2}\/\d{4} \d{2}:\d{2}:\d{2}$/.test(time)
      ? "routeros"
      : "other";
  const fullForm =
    fullname === container ? "no-leading-slash" : fullname === `/${container}` ? "leading-slash" : "other";
  return [
    slash,
    settingCheck(
      "subvolume_fullname_form",
      "Subvolume fullname",
      fullForm,
      `printed ${fullname}${driverNote}`,
      {
        driverCheck: driverReads,
      },
    ),
    settingCheck("subvolume_fs_form", "Subvolume fs", fsForm, `printed fs=${fs}`),
    settingCheck(
      "creation_time_format",
      "Subvolume creation-time",
      timeForm,
      `printed ${time}${driverNote}`,
      {
        driverCheck: driverReads,
      },
    ),
  ];
}

/**
 * `parent=<full path>` with two subvolumes of the same last name: which one is snapshotted? Each
 * holds a marker file, so the snapshot shows which source RouterOS took.
 */
export async function checkParentResolution(ctx: ProbeContext): Promise<CheckResult> {
  const id = "snapshot_parent_resolution";
  const title = "Snapshot parent= by full path";
  const { container } = ctx.facts;
  if (!container) return skipped(id, "setting", title, "no subvolume could be made in the scratch directory");
  const twin = ctx.paths.name("t");
  for (const side of ["p1", "p2"]) {
    const holder = await addSubvolume(ctx, `${container}/${side}`);
    if (holder.error) throw holder.error;
    const made = await addSubvolume(ctx, `${container}/${side}/${twin}`);
    if (made.error) throw made.error;
    const marker = await addFile(ctx, `${ctx.paths.pool}/${container}/${side}/${twin}/${side}`, side);
    if (marker.error) throw marker.error;
  }
  const snap = `${container}/${ctx.paths.name("p")}`;
  const reply = await addSubvolume(ctx, snap, { parent: `${container}/p2/${twin}`, readOnly: true });
  ctx.facts.parentByPath = false;
  if (reply.error) {
    return lastName(
      ctx,
      settingCheck(id, title, "last-name", `a full path is not a parent: ${firstLine(reply.output)}`),
    );
  }
  const listed = await ctx.session.send(
    printJsonCommand("/file", where.startsWith("name", `${ctx.paths.pool}/${snap}/`), ["name"]),
  );
  if (listed.error) throw listed.error;
  const names = parseJsonRecords(jsonText(listed.output)).map((f) =>
    (f.properties.get("name") ?? "").split("/").pop(),
  );
  if (names.includes("p2")) {
    ctx.facts.parentByPath = true;
    return settingCheck(id, title, "path", "the snapshot holds the named subvolume's files");
  }
  return lastName(
    ctx,
    settingCheck(
      id,
      title,
      "last-name",
      `the snapshot holds ${names.join(", ") || "nothing"}: RouterOS took the other subvolume of the same name`,
    ),
  );
}

/**
 * `parent=` by last name is supported, except together with no subvolumes under plain directories:
 * the driver's per-volume snapshot folders would then have to be subvolumes named like their
 * volumes, and `parent=<volume id>` would be ambiguous (src/storage/README.md).
 */
function lastName(ctx: ProbeContext, check: CheckResult): CheckResult {
  if (!ctx.facts.nestingRefused) return check;
  return {
    ...check,
    status: "unsupported",
    supported: false,
    note: `${check.note}; together with subvolume_name_with_slash=refuse the driver cannot take snapshots (parent= by a volume's id would be ambiguous)`,
  };
}

/**
 * The driver's own steps on a volume-like subvolume: an image in it, a read-only snapshot (timed),
 * a writable snapshot of that (a restore) attached without `file-size=`, the listing (timed), and
 * what removing the subvolume under a `/disk` item does.
 */
export async function checkSnapshotPath(ctx: ProbeContext): Promise<CheckResult[]> {
  const { container } = ctx.facts;
  const titles = {
    subvolume_parent_format: "Snapshot parent printed as",
    attach_without_file_size: "/disk add of an existing image without file-size=",
    subvolume_remove_in_use: "Subvolume remove while a /disk uses it",
    snapshot: "Snapshot (read-only, of a subvolume with an image)",
    listing: "Listing (driver, subvolumes and files)",
  };
  if (!container) {
    const why = "no subvolume could be made in the scratch directory";
    return [
      skipped("subvolume_parent_format", "setting", titles.subvolume_parent_format, why),
      skipped("attach_without_file_size", "setting", titles.attach_without_file_size, why),
      skipped("subvolume_remove_in_use", "setting", titles.subvolume_remove_in_use, why),
      skipped("snapshot", "measurement", titles.snapshot, why),
      skipped("listing", "measurement", titles.listing, why),
    ];
  }
  const { paths } = ctx;
  const vol = `${container}/${paths.name("v")}`;
  const made = await addSubvolume(ctx, vol);
  if (made.error) throw made.error;
  await addScratchDisk(ctx, paths.slot("v"), `${paths.pool}/${vol}/disk.img`, PROBE_DISK_BYTES);
  const again = await addSubvolume(ctx, vol);
  if (again.error) ctx.facts.errorTexts.subvolume_exists = firstLine(again.output);

  const snap = `${container}/${paths.name("s")}`;
  const started = performance.now();
  const taken = await addSubvolume(ctx, snap, { parent: parentOf(ctx, vol), readOnly: true });
  const snapshotMs = Math.round(performance.now() - started);
  if (taken.error) throw taken.error;
  const snapItem = await printed(ctx, paths.name("s"));
  const parent = (snapItem?.properties.get("parent") ?? "").replace(/^\/+/, "");
  const parentForm = parent === paths.name("v") ? "name" : parent === vol ? "fullname" : "other";

  const readOnly = await addFile(ctx, `${paths.pool}/${snap}/written`, "x");
  if (readOnly.error) ctx.facts.errorTexts.read_only = firstLine(readOnly.output);

  const restore = `${container}/${paths.name("w")}`;
  const restored = await addSubvolume(ctx, restore, { parent: parentOf(ctx, snap), readOnly: false });
  if (restored.error) throw restored.error;
  const attach = await checkAttachRestored(ctx, restore, titles.attach_without_file_size);
  // Everything made under the scratch directory (the container is the directory itself where nesting is refused).
  const listing = await measureListing(
    ctx,
    [container, vol, snap, restore].filter((f) => f.startsWith(`${paths.dir}/`)),
    titles.listing,
  );

  const removal = await ctx.session.send(
    removeCommand(SUBVOLUME, findWhere(where.eq("name", paths.name("v")))),
  );
  if (removal.error) ctx.facts.errorTexts.subvolume_in_use = firstLine(removal.output);

  return [
    settingCheck(
      "subvolume_parent_format",
      titles.subvolume_parent_format,
      parentForm,
      `printed parent=${parent || '""'}`,
    ),
    attach,
    settingCheck(
      "subvolume_remove_in_use",
      titles.subvolume_remove_in_use,
      removal.error ? "fail" : "allow",
      removal.error ? `refused: ${firstLine(removal.output)}` : "removed while a /disk item used its image",
    ),
    {
      id: "snapshot",
      kind: "measurement",
      title: titles.snapshot,
      status: "ok",
      observed: `${snapshotMs} ms`,
      supported: true,
      note: "one /disk/btrfs/subvolume add parent= read-only=yes of a subvolume holding a 16 MiB image",
      ms: snapshotMs,
    },
    listing,
  ];
}

/** A restored image attached with `/disk add` and no `file-size=`, as the driver restores and clones. */
async function checkAttachRestored(ctx: ProbeContext, restore: string, title: string): Promise<CheckResult> {
  const id = "attach_without_file_size";
  const slot = ctx.paths.slot("w");
  try {
    await addScratchDisk(ctx, slot, `${ctx.paths.pool}/${restore}/disk.img`);
  } catch (err) {
    // Only RouterOS's own answer is a finding; a lost connection is a failed check.
    if (!isRdsError(err) || err.routerText === undefined) throw err;
    return settingCheck(id, title, "refuse", `refused: ${err.routerText}`);
  }
  const bytes = await diskFileSize(ctx, slot);
  return settingCheck(id, title, "accept", `attached the restored image, ${bytes ?? "?"} bytes`);
}

/** The driver's listing of the scratch directory, timed; it must find every subvolume made there. */
async function measureListing(
  ctx: ProbeContext,
  expected: readonly string[],
  title: string,
): Promise<CheckResult> {
  const { paths } = ctx;
  const started = performance.now();
  let subvolumes: SubvolumeInfo[] = [];
  let files: FileInfo[] = [];
  const listed = await driverSays(async () => {
    [subvolumes, files] = await Promise.all([
      ctx.rds.listSubvolumes({ fullnamePrefix: `${paths.dir}/` }),
      ctx.rds.listFiles({ namePrefix: `${paths.inPool()}/` }),
    ]);
    return true;
  });
  const ms = Math.round(performance.now() - started);
  const found = listed
    ? expected.filter((f) => subvolumes.some((s) => s.fullname.replace(/^\/+/, "") === f)).length
    : 0;
  const complete = found === expected.length;
  return {
    id: "listing",
    kind: "measurement",
    title,
    status: complete ? "ok" : "unsupported",
    observed: `${ms} ms`,
    supported: complete,
    note: listed
      ? `the driver listed ${subvolumes.length} subvolumes and ${files.length} files in the scratch directory${
          complete ? "" : `; it missed ${expected.length - found} of the subvolumes made there`
        }`
      : "the driver's listing of the scratch directory failed",
    ms,
  };
}
