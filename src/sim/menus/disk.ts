import { stat } from "node:fs/promises";
import path from "node:path";
import { copyFileData, createSizedFile, makeDirectories, pathKind, resizeFile } from "../backend/files.js";
import { RosError, rosErrors } from "../errors.js";
import type { ArgSpec, CommandSpec, Invocation, MenuSpec } from "../schema.js";
import type { DiskRecord } from "../state.js";
import { itemId, NIL, type RosValue, toText } from "../values.js";
import type { SimWorld } from "../world.js";
import { diskTable } from "./disk-items.js";
import { readCommands, targetItems } from "./list-commands.js";
import { monitorTrafficCommand } from "./monitor.js";
import { resolveTargets, type TableItem } from "./table.js";

const SETTABLE: readonly ArgSpec[] = [
  { name: "slot", kind: "string" },
  { name: "comment", kind: "string" },
  { name: "disabled", kind: "bool" },
  { name: "parent", kind: "string" },
  { name: "file-size", kind: "size", since: "7.17" },
  { name: "mount-filesystem", kind: "bool", since: "7.17" },
  { name: "mount-read-only", kind: "bool", since: "7.17" },
  { name: "mount-point-template", kind: "string", since: "7.17" },
  { name: "compress", kind: "bool", since: "7.18" },
  { name: "nvme-tcp-export", kind: "bool" },
  { name: "nvme-tcp-server-port", kind: "num", min: 1n, max: 65535n },
  { name: "nvme-tcp-server-nqn", kind: "string", since: "7.21" },
  { name: "nvme-tcp-server-allow-host-name", kind: "string" },
  { name: "nvme-tcp-server-password", kind: "string" },
  { name: "iscsi-export", kind: "bool" },
  { name: "nfs-sharing", kind: "bool" },
  { name: "smb-sharing", kind: "bool" },
  { name: "media-sharing", kind: "bool" },
  { name: "media-interface", kind: "string" },
  { name: "swap", kind: "bool", since: "7.17" },
];

const TYPES = [
  "raid",
  "nvme-tcp",
  "iscsi",
  "nfs",
  "smb",
  "partition",
  "tmpfs",
  "ramdisk",
  "crypted",
  "sshfs",
  { value: "file", since: "7.17" },
  "hardware",
];

const BOOL_FIELDS: ReadonlyArray<readonly [string, keyof DiskRecord]> = [
  ["disabled", "disabled"],
  ["mount-filesystem", "mountFilesystem"],
  ["mount-read-only", "mountReadOnly"],
  ["compress", "compress"],
  ["nvme-tcp-export", "nvmeTcpExport"],
  ["iscsi-export", "iscsiExport"],
  ["nfs-sharing", "nfsSharing"],
  ["smb-sharing", "smbSharing"],
  ["media-sharing", "mediaSharing"],
  ["swap", "swap"],
];

const fail = (text: string) => new RosError(text);

/** Applies the plain (non-file) properties of an `add`/`set` to a record. */
function applyProperties(record: DiskRecord, args: ReadonlyMap<string, RosValue>): void {
  for (const [arg, field] of BOOL_FIELDS) {
    const v = args.get(arg);
    if (v?.t === "bool") (record as unknown as Record<string, unknown>)[field] = v.v;
  }
  const text = (name: string) => (args.has(name) ? toText(args.get(name) as RosValue) : undefined);
  const comment = text("comment");
  if (comment !== undefined) {
    if (comment === "") delete record.comment;
    else record.comment = comment;
  }
  const port = args.get("nvme-tcp-server-port");
  if (port?.t === "num") record.nvmeTcpServerPort = Number(port.v);
  const nqn = text("nvme-tcp-server-nqn");
  if (nqn !== undefined) record.nvmeTcpServerNqn = nqn;
  const hosts = text("nvme-tcp-server-allow-host-name");
  if (hosts !== undefined) record.nvmeTcpServerAllowHostName = hosts;
  const password = text("nvme-tcp-server-password");
  if (password !== undefined) record.nvmeTcpServerPassword = password;
  const media = text("media-interface");
  if (media !== undefined) record.mediaInterface = media;
}

function newRecord(world: SimWorld, slot: string, filePath: string, size: bigint): DiskRecord {
  return {
    id: world.state.allocateId(),
    type: "file",
    slot,
    disabled: false,
    filePath,
    fileSize: size,
    fileOffset: 0n,
    mountFilesystem: true,
    mountReadOnly: false,
    compress: false,
    nvmeTcpExport: false,
    nvmeTcpServerPort: 4420,
    nvmeTcpServerAllowHostName: "",
    iscsiExport: false,
    nfsSharing: false,
    smbSharing: false,
    mediaSharing: false,
    mediaInterface: "none",
    swap: false,
  };
}

function autoSlot(world: SimWorld): string {
  const used = new Set(world.state.disks.map((d) => d.slot));
  for (let n = 1; ; n++) if (!used.has(`file${n}`)) return `file${n}`;
}

/** Copies the template's settings (RouterOS's generic `copy-from`), except identity and file. */
function copyTemplate(target: DiskRecord, source: DiskRecord): void {
  const keep = { id: target.id, slot: target.slot, filePath: target.filePath, fileSize: source.fileSize };
  Object.assign(target, structuredClone({ ...source, pool: undefined }), keep);
  delete target.pool;
}

/** Checks the target path and parent directory; returns the host path and what is there now. */
async function prepareFile(world: SimWorld, filePath: string) {
  const s = world.settings();
  const host = world.paths.toHost(filePath);
  if (!host) throw fail(s.error_texts.missing_parent_dir);
  const parentKind = await pathKind(path.dirname(host));
  if (parentKind !== "directory") {
    if (!s.auto_create_parent_dirs || parentKind !== "missing") throw fail(s.error_texts.missing_parent_dir);
    await makeDirectories(path.dirname(host));
  }
  const kind = await pathKind(host);
  if (kind === "directory" || kind === "other") throw fail(s.error_texts.file_exists);
  if (world.state.disks.some((d) => d.filePath === filePath)) throw fail(s.error_texts.file_in_use);
  return { host, kind };
}

async function addDisk(world: SimWorld, inv: Invocation): Promise<RosValue> {
  const s = world.settings();
  const type = inv.args.get("type");
  if (type === undefined) throw rosErrors.missingArgs(["type"]);
  if (toText(type) !== "file")
    throw rosErrors.failure(`type=${toText(type)} is not supported by this emulator`);
  const filePathArg = inv.args.get("file-path");
  if (filePathArg === undefined) throw rosErrors.missingArgs(["file-path"]);
  const filePath = world.paths.normalize(toText(filePathArg));
  const slot = inv.args.has("slot") ? toText(inv.args.get("slot") as RosValue) : autoSlot(world);
  if (world.state.disks.some((d) => d.slot === slot)) throw fail(s.error_texts.duplicate_slot);
  const sizeArg = inv.args.get("file-size");
  const size = sizeArg?.t === "num" ? sizeArg.v : undefined;
  const source = await copySource(world, inv);
  const { host, kind } = await prepareFile(world, filePath);
  let finalSize: bigint;
  if (kind === "file") {
    const current = (await stat(host, { bigint: true })).size;
    if (size !== undefined && s.existing_file_with_size === "fail") throw fail(s.error_texts.file_exists);
    // Documented for an ISO image; for a disk image unknown (setting).
    if (size === undefined && s.attach_without_file_size === "refuse")
      throw rosErrors.missingArgs(["file-size"]);
    if (size !== undefined && size < current && !s.allow_shrink) throw fail(s.error_texts.shrink);
    if (size !== undefined && size !== current) await resizeFile(host, size);
    finalSize = size ?? current;
  } else {
    const wanted = size ?? source?.record.fileSize;
    if (wanted === undefined) throw rosErrors.missingArgs(["file-size"]);
    if (s.pool_full) throw fail(s.error_texts.no_space);
    if (source && s.copy_from_mode !== "metadata" && source.host) {
      await copyFileData(source.host, host, s.copy_from_mode);
      if (wanted !== source.record.fileSize) await resizeFile(host, wanted);
    } else {
      await createSizedFile(host, wanted, s.preallocate).catch(() => {
        throw fail(s.error_texts.no_space);
      });
    }
    finalSize = wanted;
  }
  const record = newRecord(world, slot, filePath, finalSize);
  if (source) copyTemplate(record, source.record);
  applyProperties(record, inv.args);
  world.state.disks.push(record);
  await world.state.save();
  world.log("disk,info", `disk ${slot} added (${filePath})`);
  return itemId(record.id);
}

async function copySource(world: SimWorld, inv: Invocation) {
  const value = inv.args.get("copy-from");
  if (value === undefined) return undefined;
  const table = diskTable(world);
  const all = await table.list(inv.ctx);
  const [item] = resolveTargets(all, value, inv.cols.get("copy-from") ?? 1);
  if (!item) throw rosErrors.noSuchItem();
  const record = world.state.disks.find((d) => d.id === item.id) as DiskRecord;
  world.log("disk,warning", `copy-from used on /disk (mode ${world.settings().copy_from_mode})`);
  return { record, host: record.filePath ? world.paths.toHost(record.filePath) : undefined };
}

function recordsOf(world: SimWorld, targets: readonly TableItem[]): DiskRecord[] {
  return targets.map((t) => world.state.disks.find((d) => d.id === t.id) as DiskRecord);
}

async function setDisks(world: SimWorld, inv: Invocation): Promise<RosValue> {
  const s = world.settings();
  const { targets } = await targetItems(inv, diskTable(world));
  for (const record of recordsOf(world, targets)) {
    const slot = inv.args.get("slot");
    if (slot !== undefined) {
      const name = toText(slot);
      if (world.state.disks.some((d) => d.slot === name && d.id !== record.id))
        throw fail(s.error_texts.duplicate_slot);
      record.slot = name;
    }
    const size = inv.args.get("file-size");
    if (size?.t === "num" && !record.pool) {
      // What `file-size=` does to an exported disk is unknown (setting).
      if (!record.nvmeTcpExport || s.exported_disk_file_size === "resize")
        await resize(world, record, size.v);
      else if (s.exported_disk_file_size === "refuse")
        throw rosErrors.failure("can not change file-size of an exported disk");
    }
    applyProperties(record, inv.args);
    world.nvmeSessions?.changed(record, world.settings());
  }
  await world.state.save();
  return NIL;
}

async function resize(world: SimWorld, record: DiskRecord, size: bigint): Promise<void> {
  const s = world.settings();
  const host = record.filePath ? world.paths.toHost(record.filePath) : undefined;
  if (!host) throw rosErrors.failure("file not found");
  const current = record.fileSize ?? 0n;
  if (size < current && !s.allow_shrink) throw fail(s.error_texts.shrink);
  if (size > current && s.pool_full && s.preallocate) throw fail(s.error_texts.no_space);
  await resizeFile(host, size);
  record.fileSize = size;
  world.log("disk,info", `disk ${record.slot} resized to ${size}`);
}

async function removeDisks(world: SimWorld, inv: Invocation): Promise<RosValue> {
  const s = world.settings();
  const { targets } = await targetItems(inv, diskTable(world));
  const records = recordsOf(world, targets);
  for (const record of records) {
    if (record.pool) throw rosErrors.failure("can not remove mounted disk");
    if (record.nvmeTcpExport && s.remove_exported_disk === "fail")
      throw rosErrors.failure("disk is exported");
  }
  const ids = new Set(records.map((r) => r.id));
  world.state.disks = world.state.disks.filter((d) => !ids.has(d.id));
  await world.state.save();
  for (const r of records) {
    world.nvmeSessions?.removed(r);
    world.log("disk,info", `disk ${r.slot} removed`);
  }
  return NIL;
}

async function setDisabled(world: SimWorld, inv: Invocation, disabled: boolean): Promise<RosValue> {
  const { targets } = await targetItems(inv, diskTable(world));
  for (const record of recordsOf(world, targets)) record.disabled = disabled;
  await world.state.save();
  return NIL;
}

const numbers: ArgSpec = { name: "numbers", kind: "items" };

export function diskMenu(world: SimWorld, submenus: readonly MenuSpec[]): MenuSpec {
  const table = diskTable(world);
  const commands: CommandSpec[] = [
    ...readCommands(table),
    monitorTrafficCommand(world, table),
    {
      name: "add",
      mutating: true,
      args: [
        { name: "type", kind: "enum", values: TYPES },
        { name: "file-path", kind: "string", since: "7.17" },
        { name: "file-offset", kind: "size", since: "7.17" },
        { name: "copy-from", kind: "items" },
        ...SETTABLE,
      ],
      run: (inv) => addDisk(world, inv),
    },
    {
      name: "set",
      mutating: true,
      args: [numbers, ...SETTABLE],
      unnamed: ["numbers"],
      run: (inv) => setDisks(world, inv),
    },
    {
      name: "remove",
      mutating: true,
      args: [numbers],
      unnamed: ["numbers"],
      run: (inv) => removeDisks(world, inv),
    },
    ...["format-drive", "format"].map(
      (name): CommandSpec => ({
        name,
        ...(name === "format" ? { since: "7.19" } : { until: "7.19" }),
        args: [numbers, { name: "file-system", kind: "string" }, { name: "label", kind: "string" }],
        unnamed: ["numbers"],
        run: async () => {
          throw rosErrors.failure("formatting is not supported by this emulator");
        },
      }),
    ),
    {
      name: "enable",
      mutating: true,
      args: [numbers],
      unnamed: ["numbers"],
      run: (i) => setDisabled(world, i, false),
    },
    {
      name: "disable",
      mutating: true,
      args: [numbers],
      unnamed: ["numbers"],
      run: (i) => setDisabled(world, i, true),
    },
  ];
  return { name: "disk", path: "/disk", menus: submenus, commands };
}
