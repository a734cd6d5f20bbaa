import { protocolError } from "./errors.js";
import type { PrintedItem } from "./parse/properties.js";
import {
  type ByteRange,
  parseBoolean,
  parseByteRange,
  parseInteger,
  parseRouterDate,
} from "./parse/values.js";

/**
 * Typed views of printed items. The same decoders read every output form: print detail (yes/no,
 * grouped and human sizes, flag letters), as-value and JSON (true/false, plain numbers, flags as
 * properties).
 */

export interface DiskInfo {
  /** Internal id (`*1F`); null from print detail, which shows print indexes instead. */
  id: string | null;
  slot: string;
  type: string | null;
  /** As printed, with the leading slash (`/pool/dir/disk.img`). */
  filePath: string | null;
  /** Exact bytes of the backing file. */
  fileSize: bigint | null;
  /** Exact bytes of the block device. */
  size: bigint | null;
  nvmeExport: boolean;
  nvmePort: number | null;
  nqn: string | null;
  /**
   * `nvme-tcp-server-allow-host-name` as printed ("" when empty or not printed: RouterOS prints
   * it only while the disk is exported, and an empty value lets every host connect).
   */
  allowHostName: string;
  disabled: boolean;
  comment: string | null;
}

export interface SubvolumeInfo {
  id: string | null;
  fs: string | null;
  /** Last path component. */
  name: string;
  /** Path from the filesystem root (`vols/pvc-…`). */
  fullname: string;
  uuid: string | null;
  /** The source subvolume of a snapshot, as RouterOS prints it; null when none. */
  parent: string | null;
  readOnly: boolean;
  snapshot: boolean;
  creationTime: Date | null;
}

export interface FileInfo {
  id: string | null;
  /** `/file` form, without a leading slash. */
  name: string;
  type: string | null;
  /** Exact bytes; null for directories, or when only a rounded figure was printed. */
  size: bigint | null;
  lastModified: Date | null;
}

export interface PoolCapacity {
  size: bigint;
  free: bigint;
}

export interface DecodeOptions {
  /** Offset of the router's clock from UTC, for its zone-less dates. */
  utcOffsetMinutes?: number;
}

function text(item: PrintedItem, key: string): string | null {
  return item.properties.get(key) ?? null;
}

function nonEmpty(item: PrintedItem, key: string): string | null {
  const v = text(item, key);
  return v === null || v === "" ? null : v;
}

function required(item: PrintedItem, key: string, what: string): string {
  const v = nonEmpty(item, key);
  if (v === null) throw protocolError(`${what} listing item has no ${key}`, describeItem(item));
  return v;
}

function describeItem(item: PrintedItem): string {
  return [...item.properties].map(([k, v]) => `${k}=${v}`).join(" ");
}

/** A flag may be printed as a letter (print detail) or as a boolean property (as-value, JSON). */
function flag(item: PrintedItem, property: string, letter: string): boolean {
  const v = text(item, property);
  if (v !== null) {
    const b = parseBoolean(v);
    if (b === null) throw protocolError(`${property}=${v} is not a boolean`, describeItem(item));
    return b;
  }
  return item.flagNames.includes(property) || item.flags.includes(letter);
}

function bytes(item: PrintedItem, key: string): ByteRange | null {
  const v = nonEmpty(item, key);
  if (v === null) return null;
  const r = parseByteRange(v);
  if (r === null) throw protocolError(`${key}=${v} is not a size`, describeItem(item));
  return r;
}

function exact(range: ByteRange | null): bigint | null {
  return range !== null && range.min === range.max ? range.min : null;
}

/**
 * print detail shows `file-size` rounded (`50.0GiB`) but the device `size` exactly; a file disk's
 * device is its file, so the exact `size` is the file size whenever it fits the rounded figure.
 * Without it the figure is taken at face value, which is exact for the whole-MiB sizes this
 * client creates.
 */
function exactFileSize(fileSize: ByteRange | null, size: bigint | null): bigint | null {
  if (fileSize === null) return null;
  if (fileSize.min === fileSize.max) return fileSize.min;
  if (size !== null && size >= fileSize.min && size <= fileSize.max) return size;
  return fileSize.nominal;
}

export function decodeDisk(item: PrintedItem): DiskInfo {
  const size = exact(bytes(item, "size"));
  const port = nonEmpty(item, "nvme-tcp-server-port");
  const portNumber = port === null ? null : parseInteger(port);
  return {
    id: nonEmpty(item, ".id"),
    slot: required(item, "slot", "disk"),
    type: nonEmpty(item, "type"),
    filePath: nonEmpty(item, "file-path"),
    fileSize: exactFileSize(bytes(item, "file-size"), size),
    size,
    nvmeExport: flag(item, "nvme-tcp-export", "t"),
    nvmePort: portNumber === null ? null : Number(portNumber),
    nqn: nonEmpty(item, "nvme-tcp-server-nqn"),
    allowHostName: nonEmpty(item, "nvme-tcp-server-allow-host-name") ?? "",
    disabled: flag(item, "disabled", "X"),
    comment: item.comment ?? nonEmpty(item, "comment"),
  };
}

function date(item: PrintedItem, key: string, options: DecodeOptions): Date | null {
  const v = nonEmpty(item, key);
  if (v === null) return null;
  const d = parseRouterDate(v, options.utcOffsetMinutes);
  if (d === null) throw protocolError(`${key}=${v} is not a date`, describeItem(item));
  return d;
}

export function decodeSubvolume(item: PrintedItem, options: DecodeOptions = {}): SubvolumeInfo {
  const printedName = nonEmpty(item, "name");
  const fullname = (nonEmpty(item, "fullname") ?? required(item, "name", "subvolume")).replace(/^\/+/, "");
  // `name` is the last component of `fullname` (reference §3.2): a listing may leave it out.
  const name = printedName ?? fullname.slice(fullname.lastIndexOf("/") + 1);
  if (name === "") throw protocolError("subvolume listing item has no name", describeItem(item));
  return {
    id: nonEmpty(item, ".id"),
    fs: nonEmpty(item, "fs"),
    name,
    fullname,
    uuid: nonEmpty(item, "uuid"),
    parent: nonEmpty(item, "parent"),
    readOnly: flag(item, "read-only", "r"),
    snapshot: flag(item, "snapshot", "S"),
    creationTime: date(item, "creation-time", options),
  };
}

export function decodeFile(item: PrintedItem, options: DecodeOptions = {}): FileInfo {
  return {
    id: nonEmpty(item, ".id"),
    name: required(item, "name", "file").replace(/^\/+/, ""),
    type: nonEmpty(item, "type"),
    size: exact(bytes(item, "size")),
    lastModified: date(item, "last-modified", options) ?? date(item, "creation-time", options),
  };
}

export function decodePoolCapacity(item: PrintedItem): PoolCapacity {
  const size = exact(bytes(item, "size"));
  const free = exact(bytes(item, "free"));
  if (size === null || free === null) {
    throw protocolError("pool disk does not show exact size and free", describeItem(item));
  }
  return { size, free };
}
