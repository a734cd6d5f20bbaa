import type { CostModel } from "./cost.js";
import type { EventLog } from "./events.js";
import type { FaultInjector, FaultRule } from "./faults.js";
import type { Interpreter } from "./interpreter.js";
import type { Settings } from "./settings.js";
import type { ExecIO, ExecRequest } from "./ssh-server.js";

export interface ExecDeps {
  readonly interpreter: Interpreter;
  readonly faults: FaultInjector;
  readonly events: EventLog;
  readonly cost: CostModel;
  settings(): Settings;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** RouterOS output: every line ends with CRLF. */
export function outputText(lines: readonly string[]): string {
  return lines.map((l) => `${l}\r\n`).join("");
}

export function encodeOutput(lines: readonly string[]): Buffer {
  return Buffer.from(outputText(lines), "utf8");
}

/**
 * Runs one exec request with its fault rules applied: drop before running, delay, answer a failure
 * instead of running, delay the reply, drop after running, cut the reply after N bytes, or pad
 * the reply with N bytes (a very large or hostile RDS).
 */
export async function runExec(deps: ExecDeps, request: ExecRequest, io: ExecIO): Promise<void> {
  const rules = deps.faults.take(request.line);
  const first = (action: FaultRule["action"]) => rules.find((r) => r.action === action);
  const faultNames = rules.map((r) => r.action).join(",");
  const base = { user: request.user, line: request.line, ...(faultNames ? { fault: faultNames } : {}) };
  if (first("drop-before")) {
    deps.events.command({ ...base, ran: false, outcome: "fault" }, "");
    io.drop();
    return;
  }
  for (const rule of rules) if (rule.action === "delay") await sleep(rule.ms ?? 0);
  // What RouterOS would make this request wait (off by default); the reply then comes all at once.
  const cost = deps.cost.delayFor(deps.settings());
  if (cost > 0) await sleep(cost);
  const failRule = first("fail");
  let lines: string[];
  let ran: boolean;
  let error: string | undefined;
  if (failRule) {
    lines = [failRule.error ?? ""];
    ran = false;
    error = failRule.error;
  } else {
    const outcome = await deps.interpreter.executeLine(request.line, request.width);
    lines = outcome.lines;
    ran = outcome.ran;
    error = outcome.error;
  }
  for (const rule of rules) if (rule.action === "delay-reply") await sleep(rule.ms ?? 0);
  const pad = first("pad-reply");
  const text = outputText(lines);
  const reply = Buffer.from(text, "utf8");
  const output = pad ? Buffer.concat([reply, padding(pad.bytes ?? 0)]) : reply;
  deps.events.command(
    {
      ...base,
      ran,
      outcome: failRule ? "fault" : error === undefined ? "ok" : "error",
      ...(error !== undefined ? { error } : {}),
    },
    text,
  );
  if (first("drop-after")) {
    io.drop();
    return;
  }
  const cut = first("drop-after-bytes");
  if (cut) {
    io.write(output.subarray(0, cut.bytes ?? 0));
    io.drop();
    return;
  }
  io.write(output);
  io.finish(error !== undefined && deps.settings().strict_exit_codes ? 1 : 0);
}

/** `bytes` of printable filler in CRLF-terminated lines of at most 1 000 bytes, like a long listing. */
function padding(bytes: number): Buffer {
  const out = Buffer.alloc(bytes, 0x78);
  for (let end = 1000; end < bytes; end += 1000) {
    out[end - 2] = 0x0d;
    out[end - 1] = 0x0a;
  }
  return out;
}
