import type { InjectionEvent } from "./interpreter.js";

export interface CommandLogEntry {
  readonly seq: number;
  readonly time: string;
  readonly user: string;
  readonly line: string;
  /** Whether any command of the line ran (false: refused by a fault, parse error, or dropped before). */
  readonly ran: boolean;
  readonly outcome: "ok" | "error" | "fault";
  readonly error?: string;
  readonly fault?: string;
  /** The reply, cut after `OUTPUT_KEPT` bytes (`outputBytes` says how long it was). */
  readonly output: string;
  /** Bytes of the whole reply. */
  readonly outputBytes: number;
}

/** What the command log has seen since start (or the last clear), including entries no longer kept. */
export interface CommandCounters {
  readonly commands: number;
  readonly ok: number;
  readonly error: number;
  readonly fault: number;
  readonly outputBytes: number;
  /** Entries dropped from the front to keep the log within its bounds. */
  readonly dropped: number;
}

export interface InjectionLogEntry extends InjectionEvent {
  readonly seq: number;
  readonly time: string;
  /** The exec line whose value was evaluated. */
  readonly line: string;
}

/** Entries kept of each log (the tail). */
export const LOG_ENTRIES_KEPT = 20_000;
/** Bytes of one reply kept in its entry: enough for any test's assertion, not for a 2 MB listing. */
export const OUTPUT_KEPT = 64 * 1024;
/** Reply bytes the command log keeps in all; older entries go first. */
export const LOG_OUTPUT_BYTES_KEPT = 32 * 1024 * 1024;

const ZERO: CommandCounters = { commands: 0, ok: 0, error: 0, fault: 0, outputBytes: 0, dropped: 0 };

/**
 * Bounded in-memory logs the control channel exposes to tests: a tail of entries, each reply cut
 * at `OUTPUT_KEPT` bytes, all replies together within `LOG_OUTPUT_BYTES_KEPT`, and counters of
 * everything seen — so a long benchmark does not grow the emulator without bound.
 */
export class EventLog {
  private seq = 0;
  readonly commands: CommandLogEntry[] = [];
  readonly injections: InjectionLogEntry[] = [];
  private keptOutputBytes = 0;
  private counts: CommandCounters = ZERO;

  constructor(
    private readonly limits = {
      entries: LOG_ENTRIES_KEPT,
      outputBytes: LOG_OUTPUT_BYTES_KEPT,
      perOutput: OUTPUT_KEPT,
    },
  ) {}

  command(entry: Omit<CommandLogEntry, "seq" | "time" | "output" | "outputBytes">, output: string): void {
    const outputBytes = Buffer.byteLength(output, "utf8");
    const kept = outputBytes > this.limits.perOutput ? cut(output, this.limits.perOutput) : output;
    this.counts = {
      ...this.counts,
      commands: this.counts.commands + 1,
      [entry.outcome]: this.counts[entry.outcome] + 1,
      outputBytes: this.counts.outputBytes + outputBytes,
    };
    this.commands.push({
      ...entry,
      output: kept,
      outputBytes,
      seq: ++this.seq,
      time: new Date().toISOString(),
    });
    this.keptOutputBytes += kept.length;
    let drop = Math.max(0, this.commands.length - this.limits.entries);
    let bytes = this.keptOutputBytes;
    for (let i = 0; i < drop; i++) bytes -= this.commands[i]?.output.length ?? 0;
    while (bytes > this.limits.outputBytes && drop < this.commands.length - 1) {
      bytes -= this.commands[drop]?.output.length ?? 0;
      drop++;
    }
    if (drop > 0) {
      this.commands.splice(0, drop);
      this.keptOutputBytes = bytes;
      this.counts = { ...this.counts, dropped: this.counts.dropped + drop };
    }
  }

  /** Counters of every command logged since start or the last clear of the command log. */
  counters(): CommandCounters {
    return this.counts;
  }

  injection(line: string, event: InjectionEvent): void {
    push(this.injections, { ...event, line, seq: ++this.seq, time: new Date().toISOString() });
  }

  clear(which: "commands" | "injections" | "all"): void {
    if (which !== "injections") {
      this.commands.length = 0;
      this.keptOutputBytes = 0;
      this.counts = ZERO;
    }
    if (which !== "commands") this.injections.length = 0;
  }
}

function push<T>(list: T[], entry: T): void {
  list.push(entry);
  if (list.length > LOG_ENTRIES_KEPT) list.splice(0, list.length - LOG_ENTRIES_KEPT);
}

/** The first `bytes` bytes of a string (never a broken character), marked as cut. */
function cut(text: string, bytes: number): string {
  const head = Buffer.from(text, "utf8")
    .subarray(0, bytes)
    .toString("utf8")
    .replace(/\uFFFD$/, "");
  return `${head}…`;
}
