import {
  addCommand,
  findWhere,
  type RouterOsCommand,
  removeCommand,
  setCommand,
  value,
  where,
} from "./command.js";
import { invalidInput, protocolError, RdsError, type RdsErrorKind } from "./errors.js";
import { diskFilePath, fileName } from "./paths.js";
import { type Query, query } from "./queries.js";
import {
  MAX_COMMENT_LENGTH,
  validateId,
  validateLabel,
  validateNqn,
  validatePath,
  validatePort,
  validateText,
} from "./quote.js";
import type { DiskInfo, PoolCapacity, SubvolumeInfo } from "./records.js";
import { roundUpFileSize } from "./sizes.js";
import type { Feature } from "./version.js";

/**
 * Changes as values: the command, the RouterOS version it needs, and the read-back that says what
 * it did. `RdsClient.apply` sends the change and its read-back (and any other reads) in one exec
 * line; RouterOS stops at the change if it fails, so the reply is either the change's error or
 * the read-back.
 */
export interface Change<R> {
  readonly command: RouterOsCommand;
  /** Refused with `invalid-input`, nothing sent, when the router is known to lack it. */
  readonly requires?: { feature: Feature; what: string };
  readonly readBack?: Query<unknown>;
  /** Turns the read-back into the result, or throws when it does not show the change. */
  finish(readBack: unknown): R;
  /** Reads that explain a failure in words the classifier does not know (see `Diagnosis`). */
  readonly diagnose?: Diagnosis;
  /**
   * Another spelling of the same change, for a RouterOS that refuses this one (`when`); the client
   * remembers, by `key`, that the alternative worked and sends it first from then on.
   */
  readonly alternative?: { key: string; when(err: RdsError): boolean; change(): Change<R> };
}

/**
 * The wording of RouterOS's storage failures was never captured on hardware. When a change fails
 * with a `failure:` the classifier does not recognise, the client reads these and lets the state
 * say what happened: the item already there (`already-exists`), its parent or source missing
 * (`not-found`), the pool full (`no-space`), a directory still holding entries (`invalid-input`).
 * Undefined keeps the error as it was (`protocol`).
 */
export interface Diagnosis {
  readonly queries: readonly Query<unknown>[];
  explain(results: readonly unknown[]): { kind: RdsErrorKind; why: string } | undefined;
}

function withDiagnosis<R>(change: Change<R>, diagnose: Diagnosis): Change<R> {
  return { ...change, diagnose };
}

/** The folder holding a path (`pool/a/b` → `pool/a`), or undefined at the top. */
function parentOf(path: string): string | undefined {
  const parts = validatePath(path, "path");
  return parts.length > 1 ? parts.slice(0, -1).join("/") : undefined;
}

/** The pool a `/file` path lies in: its first component. */
function poolOf(path: string): string {
  return validatePath(path, "path")[0] as string;
}

const full = (capacity: unknown, needed = 1n): boolean =>
  capacity !== null && typeof capacity === "object" && (capacity as PoolCapacity).free < needed;

/** `/file add` of a file or directory: there already, parent missing, or pool full. */
function fileAddDiagnosis(path: string): Diagnosis {
  const parent = parentOf(path);
  return {
    queries: [query.file(path), ...(parent ? [query.file(parent)] : []), query.poolAt(poolOf(path))],
    explain: (results) => {
      const [self, ...rest] = results;
      const capacity = rest.pop();
      if (self !== null) return { kind: "already-exists", why: `${path} exists` };
      if (parent !== undefined && rest[0] === null)
        return { kind: "not-found", why: `${parent} does not exist` };
      if (full(capacity)) return { kind: "no-space", why: "the pool has no free space" };
      return undefined;
    },
  };
}

/** A subvolume add: there already, its source missing, or pool full. */
function subvolumeAddDiagnosis(fs: string, target: string, source?: string): Diagnosis {
  return {
    queries: [
      query.subvolume(target, { fs }),
      ...(source !== undefined ? [query.subvolume(source, { fs })] : []),
      query.poolLabelled(fs),
    ],
    explain: (results) => {
      const [self, ...rest] = results;
      const capacity = rest.pop();
      if (self !== null) return { kind: "already-exists", why: `subvolume ${target} exists` };
      if (source !== undefined && rest[0] === null)
        return { kind: "not-found", why: `subvolume ${source} does not exist` };
      if (full(capacity)) return { kind: "no-space", why: "the pool has no free space" };
      return undefined;
    },
  };
}

export interface AddFileDiskRequest {
  /** `/disk` slot (item name), e.g. `pvc-<uuid>`. */
  slot: string;
  /** Backing file, with or without the leading slash: `/<pool>/<root>/vols/pvc-<uuid>/disk.img`. */
  filePath: string;
  /** Size of a new file, rounded up to `FILE_SIZE_GRANULARITY`. Omit to attach an existing file at its size. */
  fileSize?: bigint;
  /**
   * NVMe/TCP port and NQN (NQN needs RouterOS 7.21+). Exported only with `exported: true`; a disk
   * added unexported is fenced until `setDiskExport` allows a host.
   */
  nvme?: { port: number; nqn: string; exported?: boolean };
  comment?: string;
}

/** What `setDiskExport` changes; an absent field is left as it is. */
export interface DiskExportChange {
  exported?: boolean;
  allowHosts?: readonly string[];
  /** A new `/disk` comment, set in the same command (what the driver remembers about the publish). */
  comment?: string;
}

function readBack<T, R>(
  command: RouterOsCommand,
  q: Query<T>,
  finish: (value: T) => R,
  requires?: Change<R>["requires"],
): Change<R> {
  return { command, readBack: q, finish: (v) => finish(v as T), ...(requires ? { requires } : {}) };
}

function noReadBack(command: RouterOsCommand): Change<void> {
  return { command, finish: () => undefined };
}

function diskOrNotFound(slot: string) {
  return (disk: DiskInfo | null): DiskInfo => {
    if (!disk) throw new RdsError("not-found", `disk ${slot} does not exist`, { retryable: false });
    return disk;
  };
}

function subvolumeListed(fullname: string) {
  return (subvolume: SubvolumeInfo | null): SubvolumeInfo => {
    if (!subvolume) throw protocolError(`subvolume ${fullname} was created but is not listed`);
    return subvolume;
  };
}

const SUBVOLUMES = {
  feature: "btrfsSubvolumes",
  what: "/disk/btrfs/subvolume (7.18 or later needed)",
} as const;

function subvolumeTarget(fullname: string, fs: string | undefined, uuid?: string) {
  const conditions = [where.pathIs("fullname", validatePath(fullname, "subvolume").join("/"))];
  if (fs !== undefined) conditions.unshift(where.fsIs(validateLabel(fs, "filesystem label")));
  if (uuid !== undefined) conditions.push(where.eq("uuid", validateUuid(uuid)));
  return findWhere(conditions.length === 1 ? conditions[0]! : where.and(...conditions));
}

function diskCondition(slot: string, comment: string | undefined) {
  const bySlot = where.eq("slot", slot);
  if (comment === undefined) return bySlot;
  return where.and(bySlot, where.eq("comment", validateText(comment, "comment", MAX_COMMENT_LENGTH)));
}

/**
 * The name `/file add` is given: with a leading slash, which the documentation shows
 * (`name=/flash/dir`); whether RouterOS also takes it without one is unknown.
 */
function fileAddName(path: string): string {
  return `/${fileName(path)}`;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function validateUuid(text: string): string {
  if (!UUID.test(text))
    throw new RdsError("invalid-input", `not a subvolume uuid: ${JSON.stringify(text)}`, {
      retryable: false,
    });
  return text;
}

export const change = {
  /** `/disk add type=file …`, read back by slot. */
  addFileDisk(request: AddFileDiskRequest): Change<DiskInfo> {
    const slot = validateId(request.slot, "disk slot");
    const size = request.fileSize === undefined ? undefined : roundUpFileSize(request.fileSize);
    const nvme = request.nvme;
    if (nvme) {
      validatePort(nvme.port);
      validateNqn(nvme.nqn);
    }
    const comment =
      request.comment === undefined
        ? undefined
        : validateText(request.comment, "comment", MAX_COMMENT_LENGTH);
    const command = addCommand("/disk", [
      ["type", value.word("file")],
      ["slot", value.id(slot, "disk slot")],
      ["file-path", value.string(diskFilePath(request.filePath), "file-path")],
      ["file-size", size === undefined ? undefined : value.size(size, "file size")],
      ["mount-filesystem", value.bool(false)],
      ["nvme-tcp-export", nvme ? value.bool(nvme.exported ?? true) : undefined],
      ["nvme-tcp-server-port", nvme ? value.integer(nvme.port, "port") : undefined],
      ["nvme-tcp-server-nqn", nvme ? value.string(nvme.nqn, "NQN") : undefined],
      ["comment", comment === undefined ? undefined : value.string(comment, "comment")],
    ]);
    const requires = nvme
      ? { feature: "nvmeServerNqn" as const, what: "an NVMe/TCP NQN (7.21 or later needed)" }
      : undefined;
    const file = fileName(request.filePath);
    const folder = parentOf(file);
    return withDiagnosis(readBack(command, query.disk(slot), diskOrNotFound(slot), requires), {
      queries: [query.disk(slot), ...(folder ? [query.file(folder)] : []), query.poolAt(poolOf(file))],
      explain: (results) => {
        const [disk, ...rest] = results;
        const capacity = rest.pop();
        if (disk !== null) return { kind: "already-exists", why: `disk ${slot} exists` };
        if (folder !== undefined && rest[0] === null)
          return { kind: "not-found", why: `${folder} does not exist` };
        if (full(capacity, size ?? 1n))
          return { kind: "no-space", why: "the pool has too little free space" };
        return undefined;
      },
    });
  },

  /** `/disk set [find where slot=…] file-size=…`, read back; smaller than asked is `protocol`. */
  setDiskFileSize(slot: string, bytes: bigint): Change<DiskInfo> {
    validateId(slot, "disk slot");
    const size = roundUpFileSize(bytes);
    const command = setCommand("/disk", findWhere(where.eq("slot", slot)), [
      ["file-size", value.size(size, "file size")],
    ]);
    return readBack(command, query.disk(slot), (found: DiskInfo | null) => {
      const disk = diskOrNotFound(slot)(found);
      if (disk.fileSize === null || disk.fileSize < size) {
        throw protocolError(
          `disk ${slot} reports file-size ${String(disk.fileSize)} after being set to ${size}`,
        );
      }
      return disk;
    });
  },

  /**
   * `/disk remove [find where slot=…]`; a missing disk is not an error. Keeps the file. With
   * `comment`, only the item that still carries exactly that comment is removed: a remove that
   * RouterOS runs late cannot take an item that was changed (claimed) meanwhile.
   */
  removeDisk(slot: string, options: { comment?: string } = {}): Change<void> {
    validateId(slot, "disk slot");
    return noReadBack(removeCommand("/disk", findWhere(diskCondition(slot, options.comment))));
  },

  /**
   * `/disk set [find where slot=… and comment=<was>] comment=<now>`, read back. The read-back
   * shows whether this change won: a disk gone meanwhile is `not-found`, one that carries another
   * comment was changed by someone else (`transient`: read again and decide).
   */
  setDiskComment(slot: string, was: string, now: string): Change<DiskInfo> {
    validateId(slot, "disk slot");
    const next = validateText(now, "comment", MAX_COMMENT_LENGTH);
    const command = setCommand("/disk", findWhere(diskCondition(slot, was)), [
      ["comment", value.string(next, "comment")],
    ]);
    return readBack(command, query.disk(slot), (found: DiskInfo | null) => {
      const disk = diskOrNotFound(slot)(found);
      if ((disk.comment ?? "") !== next) {
        throw new RdsError(
          "transient",
          `disk ${slot} was changed meanwhile (comment ${JSON.stringify(disk.comment)})`,
          { retryable: false },
        );
      }
      return disk;
    });
  },

  /**
   * `/disk set [find where slot=…]` of the export: `nvme-tcp-export` and/or
   * `nvme-tcp-server-allow-host-name` (host NQNs joined with commas), read back. A read-back
   * that does not show what was set is `transient` (someone changed it meanwhile: read again).
   */
  setDiskExport(slot: string, wanted: DiskExportChange): Change<DiskInfo> {
    validateId(slot, "disk slot");
    const hosts = wanted.allowHosts?.map((h) => {
      validateNqn(h);
      if (h.includes(","))
        throw new RdsError("invalid-input", `host NQN ${JSON.stringify(h)} contains a comma`, {
          retryable: false,
        });
      return h;
    });
    const allow = hosts?.join(",");
    const comment =
      wanted.comment === undefined ? undefined : validateText(wanted.comment, "comment", MAX_COMMENT_LENGTH);
    if (wanted.exported === undefined && allow === undefined)
      throw new Error("setDiskExport changes nothing");
    const command = setCommand("/disk", findWhere(where.eq("slot", slot)), [
      ["nvme-tcp-server-allow-host-name", allow === undefined ? undefined : value.string(allow, "host NQNs")],
      ["nvme-tcp-export", wanted.exported === undefined ? undefined : value.bool(wanted.exported)],
      ["comment", comment === undefined ? undefined : value.string(comment, "comment")],
    ]);
    return readBack(command, query.disk(slot), (found: DiskInfo | null) => {
      const disk = diskOrNotFound(slot)(found);
      const exportShown = wanted.exported === undefined || disk.nvmeExport === wanted.exported;
      // The allow list is printed only while exported; unexported, only the flag can be checked.
      const allowShown = allow === undefined || !disk.nvmeExport || disk.allowHostName === allow;
      const commentShown = comment === undefined || (disk.comment ?? "") === comment;
      if (!exportShown || !allowShown || !commentShown) {
        throw new RdsError(
          "transient",
          `disk ${slot} shows nvme-tcp-export=${disk.nvmeExport} allow-host-name=${JSON.stringify(disk.allowHostName)} after the change`,
          { retryable: false },
        );
      }
      return disk;
    });
  },

  /** `/disk/btrfs/subvolume add fs=… name=…`, read back. */
  createSubvolume(request: { fs: string; fullname: string }): Change<SubvolumeInfo> {
    const fs = validateLabel(request.fs, "filesystem label");
    const fullname = validatePath(request.fullname, "subvolume").join("/");
    const command = addCommand("/disk/btrfs/subvolume", [
      ["fs", value.string(fs, "fs")],
      ["name", value.string(fullname, "name")],
    ]);
    return withDiagnosis(
      readBack(command, query.subvolume(fullname, { fs }), subvolumeListed(fullname), SUBVOLUMES),
      subvolumeAddDiagnosis(fs, fullname),
    );
  },

  /**
   * `/disk/btrfs/subvolume add fs=… parent=<source> name=<target> read-only=…`, read back.
   * Whether `parent=` takes the source's path or only its last name is unknown: the path is sent,
   * and when RouterOS refuses the value of `parent`, the last name (unique in this layout:
   * `pvc-<uuid>`, `snap-<uuid>`) — with `parentByName`, the last name from the start.
   */
  snapshotSubvolume(request: {
    fs: string;
    source: string;
    target: string;
    readOnly: boolean;
    parentByName?: boolean;
  }): Change<SubvolumeInfo> {
    const fs = validateLabel(request.fs, "filesystem label");
    const sourcePath = validatePath(request.source, "source subvolume");
    const source = sourcePath.join("/");
    const target = validatePath(request.target, "target subvolume").join("/");
    const parent = request.parentByName ? (sourcePath[sourcePath.length - 1] as string) : source;
    const command = addCommand("/disk/btrfs/subvolume", [
      ["fs", value.string(fs, "fs")],
      ["parent", value.string(parent, "parent")],
      ["name", value.string(target, "name")],
      ["read-only", value.bool(request.readOnly)],
    ]);
    const made = withDiagnosis(
      readBack(command, query.subvolume(target, { fs }), subvolumeListed(target), SUBVOLUMES),
      subvolumeAddDiagnosis(fs, target, source),
    );
    if (request.parentByName || sourcePath.length === 1) return made;
    return {
      ...made,
      alternative: {
        key: "subvolume-parent-by-name",
        when: (err) => err.kind === "invalid-input" && /\bparent\b/.test(err.routerText ?? ""),
        change: () => change.snapshotSubvolume({ ...request, parentByName: true }),
      },
    };
  },

  /**
   * `/disk/btrfs/subvolume remove [find where …fullname=…]`; missing is not an error. With `uuid`,
   * only that instance: a remove that runs late cannot take a subvolume made again under the name.
   */
  removeSubvolume(fullname: string, options: { fs?: string; uuid?: string } = {}): Change<void> {
    return noReadBack(
      removeCommand("/disk/btrfs/subvolume", subvolumeTarget(fullname, options.fs, options.uuid)),
    );
  },

  /**
   * `/file remove [find where name=…]`; a missing file is not an error. A directory that still
   * holds entries is refused (`invalid-input`), whatever words RouterOS uses.
   */
  removeFile(path: string): Change<void> {
    const name = fileName(path);
    return withDiagnosis(noReadBack(removeCommand("/file", findWhere(where.eq("name", name)))), {
      queries: [query.files({ namePrefix: `${name}/` })],
      explain: ([inside]) =>
        Array.isArray(inside) && inside.length > 0
          ? { kind: "invalid-input", why: `${name} is not empty` }
          : undefined,
    });
  },

  /**
   * `/file remove [find where name="a" or name="b" …]`: several files in one command; missing ones
   * are not an error.
   */
  removeFiles(paths: readonly string[]): Change<void> {
    if (paths.length === 0) throw invalidInput("no file to remove");
    return noReadBack(
      removeCommand(
        "/file",
        findWhere(
          where.anyOf(
            "name",
            paths.map((p) => fileName(p)),
          ),
        ),
      ),
    );
  },

  /** `/file add name=… type=file`: an empty file; an existing one is `already-exists`. */
  addFile(path: string): Change<void> {
    return withDiagnosis(
      noReadBack(
        addCommand("/file", [
          ["name", value.string(fileAddName(path), "name")],
          ["type", value.word("file")],
        ]),
      ),
      fileAddDiagnosis(fileName(path)),
    );
  },

  /** `/file add name=… type=directory`; an existing directory is `already-exists`. */
  addDirectory(path: string): Change<void> {
    return withDiagnosis(
      noReadBack(
        addCommand("/file", [
          ["name", value.string(fileAddName(path), "name")],
          ["type", value.word("directory")],
        ]),
      ),
      fileAddDiagnosis(fileName(path)),
    );
  },
};
