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
  readonly output: string;
}

export interface InjectionLogEntry extends InjectionEvent {
  readonly seq: number;
  readonly time: string;
  /** The exec line whose value was evaluated. */
  readonly line: string;
}

const LIMIT = 20_000;

/** Bounded in-memory logs the control channel exposes to tests. */
export class EventLog {
  private seq = 0;
  readonly commands: CommandLogEntry[] = [];
  readonly injections: InjectionLogEntry[] = [];

  command(entry: Omit<CommandLogEntry, "seq" | "time">): void {
    push(this.commands, { ...entry, seq: ++this.seq, time: new Date().toISOString() });
  }

  injection(line: string, event: InjectionEvent): void {
    push(this.injections, { ...event, line, seq: ++this.seq, time: new Date().toISOString() });
  }

  clear(which: "commands" | "injections" | "all"): void {
    if (which !== "injections") this.commands.length = 0;
    if (which !== "commands") this.injections.length = 0;
  }
}

function push<T>(list: T[], entry: T): void {
  list.push(entry);
  if (list.length > LIMIT) list.splice(0, list.length - LIMIT);
}
