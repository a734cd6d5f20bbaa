import type { Logger } from "pino";
import { pino } from "pino";
import { type AddFileDiskRequest, type Change, change, type DiskExportChange } from "./changes.js";
import { countCommand, findWhere, getValueCommand, type RouterOsCommand, where } from "./command.js";
import { invalidInput, isRdsError, RdsError } from "./errors.js";
import { parseInteger } from "./parse/values.js";
import { fileName } from "./paths.js";
import { type Query, type QueryResults, query } from "./queries.js";
import { validateLabel } from "./quote.js";
import {
  type DecodeOptions,
  type DiskInfo,
  decodePoolCapacity,
  type FileInfo,
  type PoolCapacity,
  type SubvolumeInfo,
} from "./records.js";
import {
  type CallOptions,
  CommandRunner,
  type CommandTransport,
  type ListingForm,
  listCommand,
  parseListing,
  type RunnerOptions,
} from "./runner.js";
import { parseRouterOsVersion, type RouterOsVersion, supports } from "./version.js";

export type { AddFileDiskRequest, DiskExportChange } from "./changes.js";
export type { CallOptions, CommandTransport, ListingForm } from "./runner.js";

export interface RdsClientOptions extends RunnerOptions {
  /** Listing form; `auto` (default) asks the version once: JSON from 7.13, print detail before. */
  listingForm?: ListingForm | "auto";
  /** Offset of the router's clock from UTC, for creation times. Default 0. */
  utcOffsetMinutes?: number;
  logger?: Logger;
}

type Queries = readonly Query<unknown>[];

/** What `#diagnose` returns is always an RdsError; typed so. */
function asRdsError(err: unknown): RdsError {
  return err instanceof RdsError ? err : new RdsError("protocol", String(err));
}

/** A change sent after another in the same line (see `RdsClient.apply`). */
export interface FollowUp {
  readonly change: Change<void>;
  /** "done", the error it failed with, or "not-run" when a read before it failed. */
  outcome(result: "done" | "not-run" | RdsError): void;
}

/**
 * Typed RouterOS operations for the controller (see src/rds/README.md for the exact commands).
 * A change travels with its read-back in one exec line, so what a method returns is what RouterOS
 * reports, not what was asked, at the cost of one round trip. `read` sends several listings in
 * one line; `apply` a change, its read-back and further listings.
 *
 * On an `outcome-unknown` error from a change, re-read with the matching get method before
 * deciding to repeat it; the client never re-sends a change on its own.
 */
export class RdsClient {
  readonly #runner: CommandRunner;
  readonly #decode: DecodeOptions;
  readonly #logger: Logger;
  /** Keys of changes whose alternative spelling RouterOS took (see `Change.alternative`). */
  readonly #alternatives = new Set<string>();
  #version: RouterOsVersion | null = null;

  constructor(
    transport: CommandTransport,
    private readonly options: RdsClientOptions = {},
  ) {
    this.#runner = new CommandRunner(transport, options);
    this.#decode = { utcOffsetMinutes: options.utcOffsetMinutes ?? 0 };
    this.#logger = options.logger ?? pino({ level: "silent" });
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
    const form = await this.#listingForm(call);
    const items = await this.#runner.list("/disk", where.eq("mount-point", mountPoint), form, call);
    const pool = items.find((i) => i.properties.get("mount-point") === mountPoint);
    if (!pool) throw new RdsError("not-found", `no disk is mounted at ${mountPoint}`, { retryable: false });
    return decodePoolCapacity(pool);
  }

  // ---- batches ----

  /**
   * Several listings in one exec line — 1 round trip (from print detail, one more when a file
   * query needs exact sizes). Results come back in the order of the queries.
   */
  async read<const Q extends Queries>(queries: Q, call: CallOptions = {}): Promise<QueryResults<Q>> {
    if (queries.length === 0) return [] as unknown as QueryResults<Q>;
    const form = await this.#listingForm(call);
    const commands = queries.map((q) => queryCommand(q, form));
    const { replies } = await this.#runner.batch(commands, call);
    return (await this.#decodeReplies(queries, replies, form, call)) as QueryResults<Q>;
  }

  /**
   * A change, its read-back and `queries`, in one exec line — 1 round trip. RouterOS stops at the
   * change when it fails, so its error is thrown as from a single command; the line is never
   * re-sent after an unknown outcome. If the change succeeded but a read after it failed, the
   * reads are sent again on their own.
   *
   * `then` is a second change that depends on the first, sent last in the same line (still 1
   * round trip): where RouterOS stops a line at an error it runs only after `wanted` succeeded;
   * where it runs the rest of a line anyway, it must be harmless after a failed `wanted`. Its
   * outcome is reported to `then.outcome`, never thrown, and only when `wanted` succeeded.
   */
  async apply<R, const Q extends Queries>(
    wanted: Change<R>,
    queries: Q,
    call: CallOptions = {},
    then?: FollowUp,
  ): Promise<[R, ...QueryResults<Q>]> {
    const alternative = wanted.alternative;
    if (!alternative) return this.#apply(wanted, queries, call, then);
    if (this.#alternatives.has(alternative.key))
      return this.#apply(alternative.change(), queries, call, then);
    try {
      return await this.#apply(wanted, queries, call, then);
    } catch (err) {
      if (!isRdsError(err) || !alternative.when(err)) throw err;
      const result = await this.#apply(alternative.change(), queries, call, then);
      this.#logger.info(
        { alternative: alternative.key },
        "RouterOS takes another spelling of a change; using it",
      );
      this.#alternatives.add(alternative.key);
      return result;
    }
  }

  async #apply<R, const Q extends Queries>(
    wanted: Change<R>,
    queries: Q,
    call: CallOptions,
    then: FollowUp | undefined,
  ): Promise<[R, ...QueryResults<Q>]> {
    const form = await this.#listingForm(call);
    if (wanted.requires && this.#version && !supports(this.#version, wanted.requires.feature)) {
      throw invalidInput(`RouterOS ${this.#version.text} lacks ${wanted.requires.what}`);
    }
    const reads: Queries = wanted.readBack ? [wanted.readBack, ...queries] : queries;
    const commands = [wanted.command, ...reads.map((q) => queryCommand(q, form))];
    if (then) commands.push(then.change.command);
    const reply = await this.#runner.batch(commands, call).catch(async (err: unknown) => {
      throw await this.#diagnose(wanted, err, call);
    });
    const last = commands.length - 1;
    if (then) {
      // Failed itself (the reads before it answered), ran, or was cut off by a failed read.
      const failure = reply.failure;
      then.outcome(failure === undefined ? "done" : failure.index === last ? failure.error : "not-run");
    }
    let values: unknown[];
    if (reply.failure && !(then && reply.failure.index === last)) {
      this.#logger.info(
        { command: wanted.command.line, kind: reply.failure.error.kind },
        "a change succeeded but the reads after it failed; reading again",
      );
      values = reads.length === 0 ? [] : ((await this.read(reads, call)) as unknown[]);
    } else {
      values = await this.#decodeReplies(reads, reply.replies.slice(1), form, call);
    }
    const result = wanted.finish(wanted.readBack ? values[0] : undefined);
    return [result, ...(wanted.readBack ? values.slice(1) : values)] as [R, ...QueryResults<Q>];
  }

  /**
   * Reads, then a change with its read-back (and `then`, as in `apply`), in one exec line — 1 round
   * trip. The reads come before the change, so they answer whatever the change does; a change that
   * fails for good comes back as `{ error }` (explained by the state as in `apply`), not thrown, so
   * the caller decides with the reads in hand. For a change without an alternative spelling.
   */
  async readThenApply<const Q extends Queries, R>(
    queries: Q,
    wanted: Change<R>,
    call: CallOptions = {},
    then?: FollowUp,
  ): Promise<{ reads: QueryResults<Q>; change: { result: R } | { error: RdsError } }> {
    const form = await this.#listingForm(call);
    if (wanted.requires && this.#version && !supports(this.#version, wanted.requires.feature)) {
      throw invalidInput(`RouterOS ${this.#version.text} lacks ${wanted.requires.what}`);
    }
    const n = queries.length;
    const commands = [...queries.map((q) => queryCommand(q, form)), wanted.command];
    if (wanted.readBack) commands.push(queryCommand(wanted.readBack, form));
    if (then) commands.push(then.change.command);
    const last = commands.length - 1;
    const { replies, failure } = await this.#runner.batch(commands, call, { readsFirst: true });
    const reads = (await this.#decodeReplies(queries, replies.slice(0, n), form, call)) as QueryResults<Q>;
    if (failure?.index === n) {
      then?.outcome("not-run");
      return { reads, change: { error: asRdsError(await this.#diagnose(wanted, failure.error, call)) } };
    }
    then?.outcome(
      failure === undefined ? "done" : failure.index === last && then ? failure.error : "not-run",
    );
    let readBack: unknown;
    if (wanted.readBack) {
      const answered = failure === undefined || failure.index > n + 1;
      readBack = answered
        ? (await this.#decodeReplies([wanted.readBack], [replies[n + 1] ?? ""], form, call))[0]
        : (await this.read([wanted.readBack], call))[0];
    }
    return { reads, change: { result: wanted.finish(readBack) } };
  }

  // ---- disks ----

  /** `/disk add type=file …` with its read-back — 1 round trip. */
  async addFileDisk(request: AddFileDiskRequest, call: CallOptions = {}): Promise<DiskInfo> {
    return (await this.apply(change.addFileDisk(request), [], call))[0];
  }

  /** `/disk set [find where slot=…] file-size=…` with its read-back — 1 round trip. Grows the file. */
  async setDiskFileSize(slot: string, bytes: bigint, call: CallOptions = {}): Promise<DiskInfo> {
    return (await this.apply(change.setDiskFileSize(slot, bytes), [], call))[0];
  }

  /**
   * `/disk remove [find where slot=…]` — 1 round trip; a missing disk is not an error. Keeps the
   * file. With `comment`, only while the item still carries exactly that comment.
   */
  async removeDisk(slot: string, call: CallOptions & { comment?: string } = {}): Promise<void> {
    await this.#change(change.removeDisk(slot, call), call);
  }

  /** Replaces the comment of the disk that still carries `was`, with its read-back — 1 round trip. */
  async setDiskComment(slot: string, was: string, now: string, call: CallOptions = {}): Promise<DiskInfo> {
    return (await this.apply(change.setDiskComment(slot, was, now), [], call))[0];
  }

  /** Changes a disk's NVMe/TCP export or allowed hosts, with its read-back — 1 round trip. */
  async setDiskExport(slot: string, wanted: DiskExportChange, call: CallOptions = {}): Promise<DiskInfo> {
    return (await this.apply(change.setDiskExport(slot, wanted), [], call))[0];
  }

  /** The disk with this slot, or null — 1 round trip. */
  async getDisk(slot: string, call: CallOptions = {}): Promise<DiskInfo | null> {
    return (await this.read([query.disk(slot)], call))[0];
  }

  /** Disks whose slot starts with `slotPrefix` — 1 round trip. */
  async listDisks(filter: { slotPrefix: string }, call: CallOptions = {}): Promise<DiskInfo[]> {
    return (await this.read([query.disks(filter)], call))[0];
  }

  // ---- subvolumes ----

  /** `/disk/btrfs/subvolume add fs=… name=…` with its read-back — 1 round trip. */
  async createSubvolume(
    request: { fs: string; fullname: string },
    call: CallOptions = {},
  ): Promise<SubvolumeInfo> {
    return (await this.apply(change.createSubvolume(request), [], call))[0];
  }

  /** `/disk/btrfs/subvolume add fs=… parent=<source> name=<target> read-only=…` with its read-back — 1 round trip. */
  async snapshotSubvolume(
    request: { fs: string; source: string; target: string; readOnly: boolean },
    call: CallOptions = {},
  ): Promise<SubvolumeInfo> {
    return (await this.apply(change.snapshotSubvolume(request), [], call))[0];
  }

  /** `/disk/btrfs/subvolume remove [find where fullname=…]` — 1 round trip; missing is not an error. */
  async removeSubvolume(
    fullname: string,
    options: { fs?: string; uuid?: string } & CallOptions = {},
  ): Promise<void> {
    await this.#change(change.removeSubvolume(fullname, options), options);
  }

  /** The subvolume at `fullname`, or null — 1 round trip. */
  async getSubvolume(
    fullname: string,
    options: { fs?: string } & CallOptions = {},
  ): Promise<SubvolumeInfo | null> {
    return (await this.read([query.subvolume(fullname, options)], options))[0];
  }

  /** Subvolumes whose fullname starts with `fullnamePrefix` — 1 round trip. */
  async listSubvolumes(
    filter: { fullnamePrefix: string; fs?: string },
    call: CallOptions = {},
  ): Promise<SubvolumeInfo[]> {
    return (await this.read([query.subvolumes(filter)], call))[0];
  }

  // ---- files ----

  /** The file at `path` (either slash form), or null — 1 round trip (2 with print detail, for the exact size). */
  async getFile(path: string, call: CallOptions = {}): Promise<FileInfo | null> {
    return (await this.read([query.file(path)], call))[0];
  }

  /** `/file remove [find where name=…]` — 1 round trip; a missing file is not an error. */
  async removeFile(path: string, call: CallOptions = {}): Promise<void> {
    await this.#change(change.removeFile(path), call);
  }

  /** `/file add name=… type=directory` — 1 round trip. An existing directory is `already-exists`. */
  async addDirectory(path: string, call: CallOptions = {}): Promise<void> {
    await this.#change(change.addDirectory(path), call);
  }

  /** Files whose name starts with `namePrefix` — 1 round trip. With print detail, rounded sizes come back as null. */
  async listFiles(filter: { namePrefix: string }, call: CallOptions = {}): Promise<FileInfo[]> {
    return (await this.read([query.files(filter)], call))[0];
  }

  // ---- helpers ----

  /** A change without read-back, on its own — 1 round trip (more only to explain a failure). */
  async #change(wanted: Change<unknown>, call: CallOptions): Promise<void> {
    try {
      await this.#runner.run(wanted.command, call);
    } catch (err) {
      throw await this.#diagnose(wanted, err, call);
    }
  }

  /**
   * A failure in words the classifier does not know (`protocol` from a `failure:` line) is
   * explained by reading the state (`Change.diagnose`), so that unknown wording never turns an
   * idempotent or retriable case into a final error. Any other error, or one the reads cannot
   * explain, is returned as it was.
   */
  async #diagnose(wanted: Change<unknown>, err: unknown, call: CallOptions): Promise<unknown> {
    const diagnosis = wanted.diagnose;
    if (!diagnosis || !isRdsError(err, "protocol") || !/^failure:/i.test(err.routerText ?? "")) return err;
    let results: unknown[];
    try {
      results = (await this.read(diagnosis.queries, call)) as unknown[];
    } catch (readErr) {
      // Unexplained: the attempt fails, and a retry looks again. Not with the read's own error: a
      // caller takes `protocol` (or `not-found`) as the change's answer and acts on it — e.g. a
      // folder's remove refused in unknown words is tried as a subvolume — and would act on the
      // failed read instead. Transient: the caller's next attempt may well succeed (nothing here
      // re-sends it; the runner's retries are over once a change has failed).
      this.#logger.debug({ err: readErr }, "could not read the state to explain a failure");
      return new RdsError(
        "transient",
        `RouterOS: ${err.routerText} (the state could not be read to explain it: ${(readErr as Error).message})`,
        { command: wanted.command.line, routerText: err.routerText, cause: readErr },
      );
    }
    const found = diagnosis.explain(results);
    if (!found) return err;
    this.#logger.info(
      { command: wanted.command.line, routerText: err.routerText, kind: found.kind },
      "RouterOS failed in unrecognised words; the state explains it",
    );
    return new RdsError(found.kind, `RouterOS: ${err.routerText} (${found.why})`, {
      command: wanted.command.line,
      routerText: err.routerText,
      retryable: found.kind === "transient",
    });
  }

  async #listingForm(call: CallOptions): Promise<ListingForm> {
    const form = this.options.listingForm ?? "auto";
    if (form !== "auto") return form;
    return supports(await this.routerOsVersion(call), "serializeJson") ? "json" : "detail";
  }

  async #decodeReplies(
    queries: Queries,
    replies: readonly string[],
    form: ListingForm,
    call: CallOptions,
  ): Promise<unknown[]> {
    const values = queries.map((q, i) =>
      q.countOnly
        ? q.decode([], { ...this.#decode, count: countOf(replies[i] ?? "") })
        : q.decode(parseListing(replies[i] ?? "", form), this.#decode),
    );
    if (form !== "detail") return values;
    // print detail rounds file sizes; `get` prints the exact number. One more round trip for all.
    const rounded: string[] = [];
    queries.forEach((q, i) => {
      if (q.exactSizes) for (const f of filesIn(values[i])) if (roundedSize(f)) rounded.push(f.name);
    });
    if (rounded.length === 0) return values;
    const sizes = await this.#exactSizes(rounded, call);
    return values.map((v, i) => (queries[i]?.exactSizes ? withSizes(v, sizes) : v));
  }

  /** `:put [/file get [find where name=…] size]` for each file, in one line. */
  async #exactSizes(names: readonly string[], call: CallOptions): Promise<Map<string, bigint>> {
    const commands: RouterOsCommand[] = names.map((n) =>
      getValueCommand("/file", "size", findWhere(where.eq("name", fileName(n)))),
    );
    const { replies } = await this.#runner.batch(commands, call);
    const sizes = new Map<string, bigint>();
    names.forEach((n, i) => {
      const size = parseInteger(replies[i] ?? "");
      if (size !== null) sizes.set(n, size);
    });
    return sizes;
  }
}

/** The listing of a query, or its count. */
function queryCommand(q: Query<unknown>, form: ListingForm): RouterOsCommand {
  return q.countOnly ? countCommand(q.menu, q.condition) : listCommand(q.menu, q.condition, form, q.proplist);
}

/** The number a count printed; a reply that is not one is a protocol error, not a zero. */
function countOf(reply: string): number {
  const n = parseInteger(reply.trim());
  if (n === null)
    throw new RdsError("protocol", `expected a count, got ${JSON.stringify(reply.slice(0, 80))}`);
  return Number(n);
}

function roundedSize(file: FileInfo): boolean {
  return file.size === null && file.type !== "directory" && file.type !== "disk";
}

function filesIn(value: unknown): FileInfo[] {
  if (value === null || value === undefined) return [];
  return (Array.isArray(value) ? value : [value]) as FileInfo[];
}

function withSizes(value: unknown, sizes: ReadonlyMap<string, bigint>): unknown {
  const fix = (f: FileInfo): FileInfo => {
    const size = sizes.get(f.name);
    return size === undefined ? f : { ...f, size };
  };
  if (value === null || value === undefined) return value;
  return Array.isArray(value) ? (value as FileInfo[]).map(fix) : fix(value as FileInfo);
}
