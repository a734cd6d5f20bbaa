import type { Logger } from "pino";
import {
  addCommand,
  type Condition,
  findWhere,
  getValueCommand,
  type Menu,
  removeCommand,
  setCommand,
  value,
  where,
} from "./command.js";
import { invalidInput, protocolError, RdsError } from "./errors.js";
import type { PrintedItem } from "./parse/properties.js";
import { parseInteger } from "./parse/values.js";
import { diskFilePath, fileName, fileNamePrefix, samePath } from "./paths.js";
import {
  MAX_COMMENT_LENGTH,
  validateId,
  validateIdPrefix,
  validateLabel,
  validateNqn,
  validatePath,
  validatePort,
  validateText,
} from "./quote.js";
import {
  type DecodeOptions,
  type DiskInfo,
  decodeDisk,
  decodeFile,
  decodePoolCapacity,
  decodeSubvolume,
  type FileInfo,
  type PoolCapacity,
  type SubvolumeInfo,
} from "./records.js";
import {
  type CallOptions,
  CommandRunner,
  type CommandTransport,
  type ListingForm,
  type RunnerOptions,
} from "./runner.js";
import { roundUpFileSize } from "./sizes.js";
import { parseRouterOsVersion, type RouterOsVersion, supports } from "./version.js";

export type { CallOptions, CommandTransport, ListingForm } from "./runner.js";

export interface RdsClientOptions extends RunnerOptions {
  /** Listing form; `auto` (default) asks the version once: JSON from 7.13, print detail before. */
  listingForm?: ListingForm | "auto";
  /** Offset of the router's clock from UTC, for creation times. Default 0. */
  utcOffsetMinutes?: number;
  logger?: Logger;
}

export interface AddFileDiskRequest {
  /** `/disk` slot (item name), e.g. `pvc-<uuid>`. */
  slot: string;
  /** Backing file, with or without the leading slash: `/<pool>/<root>/vols/pvc-<uuid>/disk.img`. */
  filePath: string;
  /** Size of a new file, rounded up to `FILE_SIZE_GRANULARITY`. Omit to attach an existing file at its size. */
  fileSize?: bigint;
  /** Export over NVMe/TCP on this port with this NQN (NQN needs RouterOS 7.21+). */
  nvme?: { port: number; nqn: string };
  comment?: string;
}

/**
 * Typed RouterOS operations for the controller: one method per operation, each a fixed, small
 * number of round trips (see src/rds/README.md for the exact commands). Changes are read back, so
 * what a method returns is what RouterOS reports, not what was asked.
 *
 * On an `outcome-unknown` error from a change, re-read with the matching get method before
 * deciding to repeat it; the client never re-sends a change on its own.
 */
export class RdsClient {
  readonly #runner: CommandRunner;
  readonly #decode: DecodeOptions;
  #version: RouterOsVersion | null = null;

  constructor(
    transport: CommandTransport,
    private readonly options: RdsClientOptions = {},
  ) {
    this.#runner = new CommandRunner(transport, options);
    this.#decode = { utcOffsetMinutes: options.utcOffsetMinutes ?? 0 };
  }

  // ---- system ----

  /** `:put [/system resource get version]` — 1 round trip, cached afterwards. */
  async routerOsVersion(call: CallOptions = {}): Promise<RouterOsVersion> {
    if (this.#version) return this.#version;
    const out = await this.#runner.run(getValueCommand("/system/resource", "version"), call);
    this.#version = parseRouterOsVersion(out);
    return this.#version;
  }

  /** Free and total bytes of the pool disk mounted at `mountPoint` — 1 round trip. */
  async poolCapacity(mountPoint: string, call: CallOptions = {}): Promise<PoolCapacity> {
    validateLabel(mountPoint, "pool mount point");
    const items = await this.#list("/disk", where.eq("mount-point", mountPoint), call);
    const pool = items.find((i) => i.properties.get("mount-point") === mountPoint);
    if (!pool) throw new RdsError("not-found", `no disk is mounted at ${mountPoint}`, { retryable: false });
    return decodePoolCapacity(pool);
  }

  // ---- disks ----

  /** `/disk add type=file …` then a read-back — 2 round trips. */
  async addFileDisk(request: AddFileDiskRequest, call: CallOptions = {}): Promise<DiskInfo> {
    const slot = validateId(request.slot, "disk slot");
    const size = request.fileSize === undefined ? undefined : roundUpFileSize(request.fileSize);
    if (request.nvme) {
      validatePort(request.nvme.port);
      validateNqn(request.nvme.nqn);
      if (this.#version && !supports(this.#version, "nvmeServerNqn")) {
        throw invalidInput(
          `RouterOS ${this.#version.text} cannot set an NVMe/TCP NQN (7.21 or later needed)`,
        );
      }
    }
    const comment =
      request.comment === undefined
        ? undefined
        : validateText(request.comment, "comment", MAX_COMMENT_LENGTH);
    const nvme = request.nvme;
    await this.#runner.run(
      addCommand("/disk", [
        ["type", value.word("file")],
        ["slot", value.id(slot, "disk slot")],
        ["file-path", value.string(diskFilePath(request.filePath), "file-path")],
        ["file-size", size === undefined ? undefined : value.integer(size, "file size")],
        ["mount-filesystem", value.bool(false)],
        ["nvme-tcp-export", nvme ? value.bool(true) : undefined],
        ["nvme-tcp-server-port", nvme ? value.integer(nvme.port, "port") : undefined],
        ["nvme-tcp-server-nqn", nvme ? value.string(nvme.nqn, "NQN") : undefined],
        ["comment", comment === undefined ? undefined : value.string(comment, "comment")],
      ]),
      call,
    );
    return this.#readBackDisk(slot, call);
  }

  /** `/disk set [find where slot=…] file-size=…` then a read-back — 2 round trips. Grows the file. */
  async setDiskFileSize(slot: string, bytes: bigint, call: CallOptions = {}): Promise<DiskInfo> {
    validateId(slot, "disk slot");
    const size = roundUpFileSize(bytes);
    await this.#runner.run(
      setCommand("/disk", findWhere(where.eq("slot", slot)), [
        ["file-size", value.integer(size, "file size")],
      ]),
      call,
    );
    const disk = await this.#readBackDisk(slot, call);
    if (disk.fileSize === null || disk.fileSize < size) {
      throw protocolError(
        `disk ${slot} reports file-size ${String(disk.fileSize)} after being set to ${size}`,
      );
    }
    return disk;
  }

  /** `/disk remove [find where slot=…]` — 1 round trip; a missing disk is not an error. Keeps the file. */
  async removeDisk(slot: string, call: CallOptions = {}): Promise<void> {
    validateId(slot, "disk slot");
    await this.#runner.run(removeCommand("/disk", findWhere(where.eq("slot", slot))), call);
  }

  /** The disk with this slot, or null — 1 round trip. */
  async getDisk(slot: string, call: CallOptions = {}): Promise<DiskInfo | null> {
    validateId(slot, "disk slot");
    const items = await this.#list("/disk", where.eq("slot", slot), call);
    return this.#decodeAll(items, decodeDisk).find((d) => d.slot === slot) ?? null;
  }

  /** Disks whose slot starts with `slotPrefix` — 1 round trip. */
  async listDisks(filter: { slotPrefix: string }, call: CallOptions = {}): Promise<DiskInfo[]> {
    const prefix = validateIdPrefix(filter.slotPrefix, "slot prefix");
    const items = await this.#list("/disk", where.startsWith("slot", prefix), call);
    return this.#decodeAll(items, decodeDisk).filter((d) => d.slot.startsWith(prefix));
  }

  // ---- subvolumes ----

  /** `/disk/btrfs/subvolume add fs=… name=…` then a read-back — 2 round trips. */
  async createSubvolume(
    request: { fs: string; fullname: string },
    call: CallOptions = {},
  ): Promise<SubvolumeInfo> {
    this.#requireSubvolumes();
    const fs = validateLabel(request.fs, "filesystem label");
    const fullname = validatePath(request.fullname, "subvolume").join("/");
    await this.#runner.run(
      addCommand("/disk/btrfs/subvolume", [
        ["fs", value.string(fs, "fs")],
        ["name", value.string(fullname, "name")],
      ]),
      call,
    );
    return this.#readBackSubvolume(fullname, fs, call);
  }

  /** `/disk/btrfs/subvolume add fs=… parent=<source> name=<target> read-only=…` then a read-back — 2 round trips. */
  async snapshotSubvolume(
    request: { fs: string; source: string; target: string; readOnly: boolean },
    call: CallOptions = {},
  ): Promise<SubvolumeInfo> {
    this.#requireSubvolumes();
    const fs = validateLabel(request.fs, "filesystem label");
    const source = validatePath(request.source, "source subvolume").join("/");
    const target = validatePath(request.target, "target subvolume").join("/");
    await this.#runner.run(
      addCommand("/disk/btrfs/subvolume", [
        ["fs", value.string(fs, "fs")],
        ["parent", value.string(source, "parent")],
        ["name", value.string(target, "name")],
        ["read-only", value.bool(request.readOnly)],
      ]),
      call,
    );
    return this.#readBackSubvolume(target, fs, call);
  }

  /** `/disk/btrfs/subvolume remove [find where fullname=…]` — 1 round trip; missing is not an error. */
  async removeSubvolume(fullname: string, options: { fs?: string } & CallOptions = {}): Promise<void> {
    const condition = this.#subvolumeCondition(
      where.eq("fullname", validatePath(fullname, "subvolume").join("/")),
      options.fs,
    );
    await this.#runner.run(removeCommand("/disk/btrfs/subvolume", findWhere(condition)), options);
  }

  /** The subvolume at `fullname`, or null — 1 round trip. */
  async getSubvolume(
    fullname: string,
    options: { fs?: string } & CallOptions = {},
  ): Promise<SubvolumeInfo | null> {
    const wanted = validatePath(fullname, "subvolume").join("/");
    const condition = this.#subvolumeCondition(where.eq("fullname", wanted), options.fs);
    const items = await this.#list("/disk/btrfs/subvolume", condition, options);
    return (
      this.#decodeAll(items, (i) => decodeSubvolume(i, this.#decode)).find((s) => s.fullname === wanted) ??
      null
    );
  }

  /** Subvolumes whose fullname starts with `fullnamePrefix` — 1 round trip. */
  async listSubvolumes(
    filter: { fullnamePrefix: string; fs?: string },
    call: CallOptions = {},
  ): Promise<SubvolumeInfo[]> {
    const prefix = fileNamePrefix(filter.fullnamePrefix);
    const condition = this.#subvolumeCondition(where.startsWith("fullname", prefix), filter.fs);
    const items = await this.#list("/disk/btrfs/subvolume", condition, call);
    return this.#decodeAll(items, (i) => decodeSubvolume(i, this.#decode)).filter((s) =>
      s.fullname.startsWith(prefix),
    );
  }

  // ---- files ----

  /** The file at `path` (either slash form), or null — 1 round trip (2 with print detail, for the exact size). */
  async getFile(path: string, call: CallOptions = {}): Promise<FileInfo | null> {
    const name = fileName(path);
    const items = await this.#list("/file", where.eq("name", name), call);
    const file = this.#decodeAll(items, (i) => decodeFile(i, this.#decode)).find((f) =>
      samePath(f.name, name),
    );
    if (!file || file.size !== null || file.type === "directory" || file.type === "disk") return file ?? null;
    // print detail rounds file sizes; `get` prints the exact number.
    const exact = await this.#runner.run(
      getValueCommand("/file", "size", findWhere(where.eq("name", name))),
      call,
    );
    return { ...file, size: parseInteger(exact) };
  }

  /** `/file remove [find where name=…]` — 1 round trip; a missing file is not an error. */
  async removeFile(path: string, call: CallOptions = {}): Promise<void> {
    await this.#runner.run(removeCommand("/file", findWhere(where.eq("name", fileName(path)))), call);
  }

  /** `/file add name=… type=directory` — 1 round trip. An existing directory is `already-exists`. */
  async addDirectory(path: string, call: CallOptions = {}): Promise<void> {
    await this.#runner.run(
      addCommand("/file", [
        ["name", value.string(fileName(path), "name")],
        ["type", value.word("directory")],
      ]),
      call,
    );
  }

  /** Files whose name starts with `namePrefix` — 1 round trip. With print detail, rounded sizes come back as null. */
  async listFiles(filter: { namePrefix: string }, call: CallOptions = {}): Promise<FileInfo[]> {
    const prefix = fileNamePrefix(filter.namePrefix);
    const items = await this.#list("/file", where.startsWith("name", prefix), call);
    return this.#decodeAll(items, (i) => decodeFile(i, this.#decode)).filter((f) =>
      f.name.startsWith(prefix),
    );
  }

  // ---- helpers ----

  /** Refuses early, once the version is known, instead of sending a command RouterOS cannot parse. */
  #requireSubvolumes(): void {
    if (this.#version && !supports(this.#version, "btrfsSubvolumes")) {
      throw invalidInput(
        `RouterOS ${this.#version.text} has no /disk/btrfs/subvolume (7.18 or later needed)`,
      );
    }
  }

  #subvolumeCondition(condition: Condition, fs: string | undefined): Condition {
    return fs === undefined
      ? condition
      : where.and(where.eq("fs", validateLabel(fs, "filesystem label")), condition);
  }

  async #listingForm(call: CallOptions): Promise<ListingForm> {
    const form = this.options.listingForm ?? "auto";
    if (form !== "auto") return form;
    return supports(await this.routerOsVersion(call), "serializeJson") ? "json" : "detail";
  }

  async #list(menu: Menu, condition: Condition, call: CallOptions): Promise<PrintedItem[]> {
    return this.#runner.list(menu, condition, await this.#listingForm(call), call);
  }

  #decodeAll<T>(items: PrintedItem[], decode: (item: PrintedItem) => T): T[] {
    return items.map(decode);
  }

  async #readBackDisk(slot: string, call: CallOptions): Promise<DiskInfo> {
    const disk = await this.getDisk(slot, call);
    if (!disk) throw new RdsError("not-found", `disk ${slot} does not exist`, { retryable: false });
    return disk;
  }

  async #readBackSubvolume(fullname: string, fs: string, call: CallOptions): Promise<SubvolumeInfo> {
    const subvolume = await this.getSubvolume(fullname, { ...call, fs });
    if (!subvolume) throw protocolError(`subvolume ${fullname} was created but is not listed`);
    return subvolume;
  }
}
