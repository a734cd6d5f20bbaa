import { posix } from "node:path";
import { badArgument } from "./errors.js";

/*
 * Every value that reaches an external command's argv passes through one of these checks first.
 * Commands run without a shell, so the concern is not quoting but a value that a tool would read
 * as an option ("-f") or that names something other than what the caller meant ("..").
 */

const CONTROL = /[\u0000-\u001f\u007f]/;
const MAX_PATH = 4096;

/** An absolute, normalised path without control characters, returned without a trailing slash. */
export function checkAbsolutePath(value: string, what: string): string {
  if (value.length === 0) throw badArgument(`${what} is empty`);
  if (value.length > MAX_PATH) throw badArgument(`${what} is longer than ${MAX_PATH} characters`);
  if (CONTROL.test(value)) throw badArgument(`${what} contains a control character`);
  if (!value.startsWith("/"))
    throw badArgument(`${what} must be an absolute path, got ${JSON.stringify(value)}`);
  if (value.split("/").some((part) => part === ".." || part === ".")) {
    throw badArgument(`${what} must not contain "." or ".." components: ${JSON.stringify(value)}`);
  }
  const normal = posix.normalize(value);
  return normal.length > 1 && normal.endsWith("/") ? normal.slice(0, -1) : normal;
}

const DEVICE = /^\/dev\/(loop\d{1,6}|nvme\d{1,6}n\d{1,6})$/;

/** Only the block devices this driver itself attaches: loop devices and NVMe namespaces. */
export function checkDevicePath(value: string): string {
  if (!DEVICE.test(value)) throw badArgument(`not a device this driver manages: ${JSON.stringify(value)}`);
  return value;
}

export const FS_TYPES = ["ext4", "xfs"] as const;
export type FsType = (typeof FS_TYPES)[number];

export function isFsType(value: string): value is FsType {
  return (FS_TYPES as readonly string[]).includes(value);
}

const MOUNT_OPTION = /^[A-Za-z0-9_][A-Za-z0-9_.:=/+@-]{0,254}$/;
// Options that would turn a filesystem mount into something else (another mount, a loop setup, a
// helper program) are not the StorageClass's to choose.
const REFUSED_OPTIONS = new Set([
  "bind",
  "rbind",
  "remount",
  "move",
  "loop",
  "offset",
  "sizelimit",
  "helper",
  "owner",
  "user",
  "users",
]);

/**
 * Mount flags from a volume capability (StorageClass `mountOptions`). Each entry may itself be a
 * comma-separated list. Returns the individual options, duplicates removed, order kept.
 */
export function checkMountFlags(flags: readonly string[]): string[] {
  const out: string[] = [];
  for (const entry of flags) {
    for (const option of entry.split(",")) {
      const trimmed = option.trim();
      if (trimmed === "") continue;
      if (!MOUNT_OPTION.test(trimmed))
        throw badArgument(`mount flag ${JSON.stringify(trimmed)} is not allowed`);
      const name = trimmed.split("=")[0]!.toLowerCase();
      if (REFUSED_OPTIONS.has(name) || name.startsWith("x-")) {
        throw badArgument(`mount flag ${JSON.stringify(trimmed)} is not allowed for a CSI volume`);
      }
      if (!out.includes(trimmed)) out.push(trimmed);
    }
  }
  return out;
}

const NQN = /^nqn\.\d{4}-\d{2}\.[A-Za-z0-9.-]+(:[A-Za-z0-9._:-]+)?$/;
const MAX_NQN = 223;

export function checkNqn(value: string): string {
  if (value.length > MAX_NQN || !NQN.test(value))
    throw badArgument(`not a valid NQN: ${JSON.stringify(value)}`);
  return value;
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const IPV6 = /^[0-9A-Fa-f:.]{2,45}$/;
const HOSTNAME =
  /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** An IPv4/IPv6 address or a DNS name for `nvme connect --traddr`. */
export function checkAddress(value: string): string {
  const ok = IPV4.test(value) || (value.includes(":") && IPV6.test(value)) || HOSTNAME.test(value);
  if (!ok) throw badArgument(`not a valid NVMe/TCP address: ${JSON.stringify(value)}`);
  return value;
}

export function checkPort(value: string): number {
  if (!/^\d{1,5}$/.test(value)) throw badArgument(`not a valid TCP port: ${JSON.stringify(value)}`);
  const port = Number(value);
  if (port < 1 || port > 65535) throw badArgument(`TCP port out of range: ${value}`);
  return port;
}

/** Volume ids are opaque, but they are log fields and lock keys: bounded and printable. */
export function checkVolumeId(value: string): string {
  if (value.length === 0) throw badArgument("volume_id is required");
  if (value.length > 256 || CONTROL.test(value))
    throw badArgument("volume_id is not a printable id of at most 256 characters");
  return value;
}
