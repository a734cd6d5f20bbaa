import type { BenchStack } from "./bench-stack.js";

/** The driver's keepalive; sent on its own schedule, never part of an operation. */
export const KEEPALIVE = ":put 1";

/** One timed CSI call, with what it cost on the wire. */
export interface CallSample {
  /** Wall time seen by the CSI client, ms. */
  ms: number;
  /** Exec lines the emulator received over SSH during the call. */
  roundTrips: number;
  /** Sum of the driver's own timing of each RouterOS command (SSH + emulator), ms. */
  commandMs: number;
  /** The driver's handler time as it logged it (without gRPC transport), ms. */
  handlerMs: number;
  /** The command lines the emulator received. */
  lines: string[];
  /** Each command as the driver timed it, in the order sent. */
  commands: Array<{ line: string; ms: number }>;
}

/**
 * Times one CSI call made while nothing else runs, and counts the round trips it sent by the
 * emulator's command log taken before and after it.
 */
export async function measureCall(stack: BenchStack, call: () => Promise<unknown>): Promise<CallSample> {
  await stack.control.clearCommands();
  const logMark = stack.driverLog.length;
  const finishedBefore = stack.driverLog.filter((e) => e.msg === "done" || e.msg === "failed").length;
  const started = process.hrtime.bigint();
  await call();
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  await stack.driverCallsLogged(finishedBefore + 1);
  const lines = (await stack.control.commands()).map((c) => c.line).filter((l) => l !== KEEPALIVE);
  await stack.control.clearCommands();
  const logged = stack.driverLog.slice(logMark);
  const commands = logged
    .filter((e) => e.msg === "RouterOS command" && e.command !== KEEPALIVE)
    .map((e) => ({ line: e.command ?? "", ms: e.ms ?? 0 }));
  const commandMs = commands.reduce((sum, c) => sum + c.ms, 0);
  const handlerMs = logged.find((e) => e.msg === "done" || e.msg === "failed")?.durationMs ?? Number.NaN;
  return { ms, roundTrips: lines.length, commandMs, handlerMs, lines, commands };
}

/** Wall time of `work`, ms. */
export async function timeIt(work: () => Promise<unknown>): Promise<number> {
  const started = process.hrtime.bigint();
  await work();
  return Number(process.hrtime.bigint() - started) / 1e6;
}
