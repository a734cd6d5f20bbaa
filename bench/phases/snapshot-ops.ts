import { figure } from "../lib/results.js";
import { median } from "../lib/stats.js";
import { measureSnapshotOps, OPERATIONS, type SizeSamples, VOLUME_SIZES } from "../suites/snapshot-ops.js";
import { commandTimes, type PhaseContext, round } from "./context.js";

/** Snapshot, restore, clone and the deletes at each volume size: figures, breakdowns, commands sent. */
export async function snapshotOpsPhase(ctx: PhaseContext): Promise<void> {
  const { stack, plan, data } = ctx;
  const samples = await measureSnapshotOps(stack, plan.sizeRounds, ctx.progress);
  const floorMs = data.floor.rdsConnectionMs;
  const createMedians: number[] = [];
  for (const size of VOLUME_SIZES) {
    for (const op of OPERATIONS) {
      const runs = samples[size.label]![op];
      const key = `ops.${op}.${size.label}`;
      const isCreate = op === "CreateSnapshot";
      const isSnapshotOp = isCreate || op === "DeleteSnapshot";
      data.figures.push(
        figure(
          `${key}.latency`,
          `${op}, ${size.label}`,
          "ms",
          runs.map((r) => r.ms),
          isCreate
            ? { text: `≤ 1.5 × floor (${(1.5 * floorMs).toFixed(1)} ms)`, limit: 1.5 * floorMs }
            : undefined,
        ),
        figure(
          `${key}.roundTrips`,
          `${op}, ${size.label}: round trips`,
          "round trips",
          runs.map((r) => r.roundTrips),
          isSnapshotOp ? { text: "≤ 2", limit: 2 } : undefined,
        ),
      );
      data.breakdown.push({
        operation: op,
        size: size.label,
        totalMs: round(median(runs.map((r) => r.ms))),
        handlerMs: round(median(runs.map((r) => r.handlerMs))),
        commandMs: round(median(runs.map((r) => r.commandMs))),
        roundTrips: median(runs.map((r) => r.roundTrips)),
      });
      if (isCreate) createMedians.push(median(runs.map((r) => r.ms)));
    }
  }
  // "Flat across sizes": the slowest size's median over the fastest's.
  data.figures.push(
    figure(
      "ops.CreateSnapshot.flatness",
      `CreateSnapshot: slowest size median ÷ fastest (${VOLUME_SIZES.map((s) => s.label).join(", ")})`,
      "ratio",
      [Math.max(...createMedians) / Math.min(...createMedians)],
      { text: "≤ 1.20 (flat)", limit: 1.2 },
    ),
  );
  recordCommands(ctx, samples);
}

/** The commands each operation sent at the smallest size, in order, with the driver's median time. */
function recordCommands(ctx: PhaseContext, samples: SizeSamples): void {
  for (const op of OPERATIONS) ctx.data.commands[op] = commandTimes(samples[VOLUME_SIZES[0]!.label]![op]);
}
