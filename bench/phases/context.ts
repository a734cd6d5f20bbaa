import type { BenchStack } from "../lib/bench-stack.js";
import type { CallSample } from "../lib/measure.js";
import type { Plan } from "../lib/plan.js";
import type { BenchData, CommandTime, PhaseRecord } from "../lib/results.js";
import { median, type Summary } from "../lib/stats.js";

/** What every phase gets: the stack under test, the plan, the results being filled, a progress line. */
export interface PhaseContext {
  stack: BenchStack;
  plan: Plan;
  data: BenchData;
  progress: (line: string) => void;
}

export const round = (v: number) => Math.round(v * 100) / 100;

/** A summary with its numbers rounded for latest.json. */
export const kept = (s: Summary): Summary =>
  Object.fromEntries(Object.entries(s).map(([k, v]) => [k, round(v)])) as unknown as Summary;

const LISTING = /^:put \[:serialize to=json \[(.+?) print detail as-value(?: proplist=\S+)? where (.*)\]\]$/;
/** The driver's marker between the replies of several commands sent as one line. */
const REPLY_MARKER = /^:put "[^"]*"$/;

/**
 * A command line with ids replaced by placeholders (so the same command of different runs groups)
 * and listings shortened to `LIST <menu> where …`; a batch of commands sent as one exec keeps its
 * commands, joined by " ; ", without the markers between their replies.
 */
export function commandShape(line: string): string {
  return line
    .replace(/pvc-[0-9a-f-]{36}/g, "<volume>")
    .replace(/snap-[0-9a-f-]{36}/g, "<snapshot>")
    .split("; ")
    .filter((part) => !REPLY_MARKER.test(part))
    .map((part) => part.replace(LISTING, "LIST $1 where $2"))
    .join(" ; ");
}

/**
 * Runs one phase with a CPU profile of its own (the driver's and the emulator's) and records its
 * wall time, the CPU each process used, and memory at its end.
 */
export async function recordPhase(ctx: PhaseContext, name: string, work: () => Promise<void>): Promise<void> {
  const { stack } = ctx;
  ctx.progress(`${name} …`);
  await stack.cutProfiles();
  const driverBefore = stack.sample(stack.driverPid);
  const simBefore = stack.sample(stack.simPid);
  const clientBefore = process.cpuUsage();
  const started = Date.now();
  await work();
  const wallMs = Date.now() - started;
  const client = process.cpuUsage(clientBefore);
  const profileIndex = await stack.cutProfiles();
  const driver = stack.sample(stack.driverPid);
  const sim = stack.sample(stack.simPid);
  const record: PhaseRecord = {
    name,
    wallMs,
    driverCpuMs: driver.cpuMs - driverBefore.cpuMs,
    emulatorCpuMs: sim.cpuMs - simBefore.cpuMs,
    btrfsCpuMs: sim.childrenCpuMs - simBefore.childrenCpuMs,
    clientCpuMs: (client.user + client.system) / 1000,
    driverRssKiB: driver.rssKiB,
    driverPeakRssKiB: driver.hwmKiB,
    emulatorRssKiB: sim.rssKiB,
    ...(profileIndex !== undefined ? { profileIndex } : {}),
  };
  ctx.data.phases.push(record);
  ctx.progress(`${name}: ${(wallMs / 1000).toFixed(1)} s`);
}

/** The commands of repeated runs of one call, position by position, with the median time of each. */
export function commandTimes(runs: readonly CallSample[]): CommandTime[] {
  const positions = runs[0]?.commands.length ?? 0;
  const out: CommandTime[] = [];
  for (let i = 0; i < positions; i++) {
    const at = runs.map((r) => r.commands[i]).filter((c) => c !== undefined);
    out.push({ command: commandShape(at[0]!.line), medianMs: round(median(at.map((c) => c.ms))) });
  }
  return out;
}
