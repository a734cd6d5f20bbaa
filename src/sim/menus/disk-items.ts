import { stat } from "node:fs/promises";
import type { FlagDef, PropStyle, PropValue, TableColumn } from "../printer.js";
import type { ExecContext } from "../schema.js";
import type { DiskRecord } from "../state.js";
import { bool, num, type RosValue, str } from "../values.js";
import { versionAtLeast } from "../version.js";
import type { SimWorld } from "../world.js";
import type { Table, TableItem } from "./table.js";

export const DISK_FLAGS: readonly FlagDef[] = [
  { letter: "X", name: "disabled" },
  { letter: "A", name: "acquired" },
  { letter: "E", name: "empty" },
  { letter: "B", name: "block-device" },
  { letter: "M", name: "mounted" },
  { letter: "F", name: "formatting" },
  { letter: "S", name: "swap-enabled" },
  { letter: "f", name: "raid-member-failed" },
  { letter: "r", name: "raid-member" },
  { letter: "c", name: "encrypted" },
  { letter: "g", name: "guid-partition-table" },
  { letter: "p", name: "partition" },
  { letter: "t", name: "nvme-tcp-export" },
  { letter: "i", name: "iscsi-export" },
  { letter: "s", name: "smb-sharing" },
  { letter: "n", name: "nfs-sharing" },
  { letter: "m", name: "media-sharing" },
];

const DISK_COLUMNS: readonly TableColumn[] = [
  { title: "SLOT", prop: "slot", align: "left" },
  { title: "MODEL", prop: "model", align: "left" },
  { title: "SERIAL", prop: "serial", align: "left" },
  { title: "INTERFACE", prop: "interface", align: "left" },
  { title: "SIZE", prop: "size", align: "right" },
  { title: "FREE", prop: "free", align: "right" },
  { title: "FS", prop: "fs", align: "left" },
];

export const DISK_PROPERTIES = [
  "type",
  "slot",
  "slot-default",
  "parent",
  "fs",
  "fs-label",
  "fs-uuid",
  "model",
  "size",
  "free",
  "use",
  "mount-point",
  "mount-filesystem",
  "mount-read-only",
  "compress",
  "sector-size",
  "raid-type",
  "raid-device-count",
  "raid-max-component-size",
  "raid-master",
  "state",
  "raid-uuid",
  "nvme-tcp-export",
  "nvme-tcp-server-port",
  "nvme-tcp-server-nqn",
  "nvme-tcp-server-allow-host-name",
  "iscsi-export",
  "nfs-sharing",
  "smb-sharing",
  "media-sharing",
  "media-interface",
  "swap",
  "file-path",
  "file-size",
  "file-offset",
  "comment",
  ...DISK_FLAGS.map((f) => f.name).filter((n) => n !== "nvme-tcp-export"),
];

const p = (name: string, value: RosValue, style: PropStyle): PropValue => ({ name, value, style });
const yesno = (name: string, v: boolean) => p(name, bool(v), "yesno");

function exportProps(d: DiskRecord, ctx: ExecContext): PropValue[] {
  if (!d.nvmeTcpExport) return [yesno("nvme-tcp-export", false)];
  return [
    yesno("nvme-tcp-export", true),
    p("nvme-tcp-server-port", num(d.nvmeTcpServerPort), "bare"),
    ...(versionAtLeast(ctx.version, "7.21")
      ? [p("nvme-tcp-server-nqn", str(d.nvmeTcpServerNqn ?? d.slot), "quoted")]
      : []),
    p("nvme-tcp-server-allow-host-name", str(d.nvmeTcpServerAllowHostName), "quoted"),
  ];
}

function sharingProps(d: DiskRecord): PropValue[] {
  return [
    yesno("iscsi-export", d.iscsiExport),
    yesno("nfs-sharing", d.nfsSharing),
    yesno("smb-sharing", d.smbSharing),
    yesno("media-sharing", d.mediaSharing),
    p("media-interface", str(d.mediaInterface), "bare"),
    yesno("swap", d.swap),
  ];
}

async function fileDiskItem(d: DiskRecord, world: SimWorld, ctx: ExecContext): Promise<TableItem> {
  const filePath = d.filePath ?? "";
  const host = world.paths.toHost(filePath);
  const live = host ? await stat(host, { bigint: true }).catch(() => undefined) : undefined;
  const size = live?.size ?? d.fileSize ?? 0n;
  const flags = new Set<string>();
  if (d.disabled) flags.add("disabled");
  else flags.add("block-device");
  if (d.nvmeTcpExport) flags.add("nvme-tcp-export");
  if (d.iscsiExport) flags.add("iscsi-export");
  if (d.smbSharing) flags.add("smb-sharing");
  if (d.nfsSharing) flags.add("nfs-sharing");
  if (d.mediaSharing) flags.add("media-sharing");
  if (d.swap) flags.add("swap-enabled");
  return {
    id: d.id,
    name: d.slot,
    flags,
    ...(d.comment !== undefined ? { comment: d.comment } : {}),
    props: [
      p("type", str("file"), "bare"),
      p("slot", str(d.slot), "quoted"),
      p("slot-default", str(""), "quoted"),
      p("parent", str(""), "bare"),
      p("fs", str("-"), "bare"),
      p("model", str(filePath), "quoted"),
      p("size", num(size), "grouped"),
      yesno("mount-filesystem", d.mountFilesystem),
      yesno("mount-read-only", d.mountReadOnly),
      yesno("compress", d.compress),
      p("sector-size", num(512), "bare"),
      p("raid-master", str("none"), "bare"),
      ...exportProps(d, ctx),
      ...sharingProps(d),
      p("file-path", str(filePath), "bare"),
      p("file-size", num(d.fileSize ?? size), "human"),
      p("file-offset", num(d.fileOffset), "bare"),
    ],
  };
}

async function poolDiskItem(d: DiskRecord, world: SimWorld, ctx: ExecContext): Promise<TableItem> {
  // Each pool disk shows its own filesystem; the slot is the pool's name.
  const pool = world.pools.find((x) => x.view.name === d.slot)?.view ?? world.pool;
  const { size, free: liveFree } = await pool.capacity();
  const full = ctx.settings.pool_full;
  const free = full ? 0n : liveFree;
  const use = size === 0n ? 0n : ((size - free) * 100n + size / 2n) / size;
  return {
    id: d.id,
    name: d.slot,
    flags: new Set(d.disabled ? ["disabled"] : ["block-device", "mounted"]),
    ...(d.comment !== undefined ? { comment: d.comment } : {}),
    props: [
      p("type", str("raid"), "bare"),
      p("slot", str(d.slot), "quoted"),
      p("slot-default", str(""), "quoted"),
      p("parent", str(""), "bare"),
      p("fs-label", str(pool.label), "quoted"),
      p("fs-uuid", str(pool.uuid), "quoted"),
      p("fs", str("btrfs"), "bare"),
      p("model", str("RAID1 mirrored"), "quoted"),
      p("size", num(size), "grouped"),
      p("free", num(free), "grouped"),
      p("use", num(use), "percent"),
      p("mount-point", str(pool.name), "quoted"),
      yesno("mount-filesystem", d.mountFilesystem),
      yesno("mount-read-only", d.mountReadOnly),
      yesno("compress", d.compress),
      p("sector-size", num(512), "bare"),
      p("raid-type", str("1"), "bare"),
      p("raid-device-count", num(2), "bare"),
      p("raid-max-component-size", str("none"), "bare"),
      p("raid-master", str("none"), "bare"),
      p("state", str("clean"), "quoted"),
      p("raid-uuid", str(d.raidUuid ?? ""), "quoted"),
      ...exportProps(d, ctx),
      ...sharingProps(d),
    ],
  };
}

/** The `/disk` table: the persistent records rendered with live sizes. */
export function diskTable(world: SimWorld): Table {
  return {
    flags: DISK_FLAGS,
    columns: DISK_COLUMNS,
    properties: DISK_PROPERTIES,
    list: (ctx) =>
      Promise.all(
        world.state.disks.map((d) => (d.pool ? poolDiskItem(d, world, ctx) : fileDiskItem(d, world, ctx))),
      ),
  };
}
