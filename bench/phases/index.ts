import { existsSync } from "node:fs";
import { join } from "node:path";
import type { BenchStack } from "../lib/bench-stack.js";
import { chartControllerMemoryLimitMiB } from "../lib/chart-limit.js";
import { idleMemoryKiB } from "../lib/idle-memory.js";
import type { Plan } from "../lib/plan.js";
import { summarizeProfile } from "../lib/profile-summary.js";
import { type BenchData, figure, type ProfilesByPhase } from "../lib/results.js";
import { CALLS, VOLUMES } from "../suites/concurrency.js";
import { PAGE_SIZE } from "../suites/listing.js";
import { VOLUME_SIZES } from "../suites/snapshot-ops.js";
import { concurrencyPhase } from "./concurrency.js";
import { type PhaseContext, recordPhase } from "./context.js";
import { floorPhase } from "./floor.js";
import { listingPhases } from "./listing.js";
import { snapshotOpsPhase } from "./snapshot-ops.js";

export interface PhaseResults {
  data: BenchData;
  /** Summaries of each phase's CPU profile of the driver and the emulator (read after they exit). */
  summarizeProfiles(dir: string): ProfilesByPhase;
}

function emptyData(stack: BenchStack, plan: Plan): BenchData {
  const limit = chartControllerMemoryLimitMiB();
  return {
    build: stack.build,
    ...(limit !== undefined ? { chartMemoryLimitMiB: limit } : {}),
    setup: {
      poolSize: plan.poolSize,
      volumeSizes: VOLUME_SIZES.map((s) => s.label),
      snapshotCounts: plan.listing.map((l) => l.snapshots),
      pageSize: PAGE_SIZE,
      concurrentCalls: CALLS,
      concurrencyVolumes: VOLUMES,
    },
    floor: { rdsConnectionMs: 0, emulatorOnlyMs: 0, transportMs: 0, readTransportMs: 0 },
    figures: [],
    transport: [],
    replay: [],
    breakdown: [],
    commands: {},
    listing: [],
    concurrency: [],
    phases: [],
  };
}

/** Every benchmark in order, on one stack: the floor first, memory last. */
export async function runPhases(
  stack: BenchStack,
  plan: Plan,
  progress: (line: string) => void,
): Promise<PhaseResults> {
  const ctx: PhaseContext = { stack, plan, data: emptyData(stack, plan), progress };
  const { figures } = ctx.data;
  // The benchmark's own `rds-csi all` runs with the CPU-profiler preload and a live SSH session, so
  // its idle figure is not the shipped program's; it is kept as data, and its peak (VmHWM, below) is
  // what the targets use it for.
  const idle = stack.sample(stack.driverPid);
  figures.push(
    figure(
      "memory.driverRss.start",
      "benchmark driver RSS after start-up (profiled, SSH session open)",
      "MiB",
      [idle.rssKiB / 1024],
    ),
  );

  // Each role alone, as shipped (the controller connected to the emulator, as a pod is to its RDS):
  // after start-up and after settling (bench/lib/idle-memory.ts).
  const alone = await idleMemoryKiB(stack.options.workDir, {
    port: stack.local.simPort,
    privateKeyPath: stack.local.privateKeyPath,
    hostKeyFingerprint: stack.local.hostKeyFingerprint,
  });
  for (const [role, key] of [
    ["controller", "controllerOnly"],
    ["node", "nodeOnly"],
    ["all", "allOnly"],
  ] as const) {
    const sample = alone[role];
    if (sample === undefined) continue;
    figures.push(
      figure(`memory.${key}.idle`, `\`rds-csi ${role}\` alone, idle after start-up`, "MiB", [
        sample.start / 1024,
      ]),
      figure(`memory.${key}.settled`, `\`rds-csi ${role}\` alone, after 30 s more idling`, "MiB", [
        sample.settled / 1024,
      ]),
    );
  }

  await recordPhase(ctx, "SSH floor", () => floorPhase(ctx));
  await recordPhase(ctx, "snapshot operations by volume size", () => snapshotOpsPhase(ctx));
  await recordPhase(ctx, "concurrent CreateSnapshot", () => concurrencyPhase(ctx));
  await listingPhases(ctx);

  const end = stack.sample(stack.driverPid);
  figures.push(
    figure("memory.driverRss.end", "controller RSS after all runs", "MiB", [end.rssKiB / 1024]),
    figure("memory.driverRss.peak", "controller peak RSS (VmHWM)", "MiB", [end.hwmKiB / 1024]),
  );
  progress(
    `done; controller RSS ${(end.rssKiB / 1024).toFixed(0)} MiB (peak ${(end.hwmKiB / 1024).toFixed(0)} MiB)`,
  );

  return {
    data: ctx.data,
    summarizeProfiles(dir: string): ProfilesByPhase {
      const out: ProfilesByPhase = {};
      for (const p of ctx.data.phases) {
        if (p.profileIndex === undefined) continue;
        const file = (pid: number) => join(dir, `${pid}.${p.profileIndex}.cpuprofile`);
        const driver = file(stack.driverPid);
        const emulator = file(stack.simPid);
        out[p.name] = {
          ...(existsSync(driver) ? { driver: summarizeProfile(driver) } : {}),
          ...(existsSync(emulator) ? { emulator: summarizeProfile(emulator) } : {}),
        };
      }
      return out;
    },
  };
}
