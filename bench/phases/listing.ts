import type { ListingStep } from "../lib/plan.js";
import { figure } from "../lib/results.js";
import { median } from "../lib/stats.js";
import { type ListingSamples, ListingSuite, PAGE_SIZE, type SnapshotOpsSamples } from "../suites/listing.js";
import { commandShape, commandTimes, type PhaseContext, recordPhase, round } from "./context.js";

/**
 * CreateSnapshot and DeleteSnapshot on the listing volumes with none present (a phase); then for
 * each planned snapshot count: make the snapshots (a phase), then measure CreateSnapshot and
 * DeleteSnapshot again the same way, and listing (another). The scale target divides the two
 * snapshot-operation figures, so they differ only in the snapshots present: same volumes, same
 * procedure (`ListingSuite.snapshotOps`), same number of runs.
 */
export async function listingPhases(ctx: PhaseContext): Promise<void> {
  const suite = new ListingSuite(ctx.stack);
  await suite.prepare();
  await recordPhase(ctx, "CreateSnapshot and DeleteSnapshot with no snapshots present", async () => {
    const ops = await suite.snapshotOps(ctx.plan.scaleOpsRuns);
    ctx.data.figures.push(...opsFigures("list.none", "no snapshots present", ops));
    ctx.data.listingBaseline = {
      createSnapshotCommands: commandTimes(ops.createSnapshot),
      deleteSnapshotCommands: commandTimes(ops.deleteSnapshot),
    };
  });
  const largest = Math.max(...ctx.plan.listing.map((l) => l.snapshots));
  for (const step of ctx.plan.listing) {
    let populateMs = 0;
    await recordPhase(ctx, `make ${step.snapshots} snapshots directly`, async () => {
      populateMs = await suite.populate(step.snapshots);
    });
    await recordPhase(ctx, `ListSnapshots with ${step.snapshots} snapshots`, async () => {
      const ops = await suite.snapshotOps(ctx.plan.scaleOpsRuns);
      const samples = await suite.measure(step, populateMs);
      addFigures(ctx, step, samples, ops, step.snapshots === largest);
    });
  }
}

/** CreateSnapshot and DeleteSnapshot figures, `<key>.createSnapshot` and `<key>.deleteSnapshot`. */
function opsFigures(key: string, present: string, ops: SnapshotOpsSamples) {
  return [
    figure(
      `${key}.createSnapshot`,
      `CreateSnapshot with ${present}`,
      "ms",
      ops.createSnapshot.map((s) => s.ms),
    ),
    figure(
      `${key}.deleteSnapshot`,
      `DeleteSnapshot with ${present}`,
      "ms",
      ops.deleteSnapshot.map((s) => s.ms),
    ),
  ];
}

function addFigures(
  ctx: PhaseContext,
  step: ListingStep,
  r: ListingSamples,
  ops: SnapshotOpsSamples,
  isTarget: boolean,
): void {
  const count = step.snapshots;
  const key = `list.${count}`;
  const name = `ListSnapshots, ${count} snapshots`;
  const walk = r.walk[0];
  ctx.data.listing.push({
    snapshots: count,
    populateMs: r.populateMs,
    walkPages: walk?.pages ?? 0,
    ...(walk?.sampledPages !== undefined ? { walkSampledPages: walk.sampledPages } : {}),
    firstPageCommands: r.pageReplay.map((c) => ({
      command: commandShape(c.line),
      replyBytes: c.replyBytes,
      overSshMs: round(median(c.overSsh)),
      emulatorOnlyMs: round(median(c.emulatorOnly)),
    })),
    createSnapshotCommands: commandTimes(ops.createSnapshot),
    deleteSnapshotCommands: commandTimes(ops.deleteSnapshot),
  });
  const sampled = walk?.sampledPages ? " (estimated from sampled pages)" : "";
  ctx.data.figures.push(
    figure(
      `${key}.firstPage`,
      `${name}: first page of ${PAGE_SIZE}`,
      "ms",
      r.firstPage.map((s) => s.ms),
      isTarget ? { text: "< 100 ms", limit: 100 } : undefined,
    ),
    figure(
      `${key}.firstPage.roundTrips`,
      `${name}: first page, round trips`,
      "round trips",
      r.firstPage.map((s) => s.roundTrips),
      { text: "≤ 2", limit: 2 },
    ),
    figure(
      `${key}.walk`,
      `${name}: full walk, pages of ${PAGE_SIZE}${sampled}`,
      "ms",
      r.walk.map((w) => w.ms),
      isTarget ? { text: "< 1 s", limit: 1000 } : undefined,
    ),
    figure(
      `${key}.walk.roundTrips`,
      `${name}: full walk, round trips`,
      "round trips",
      r.walk.map((w) => w.roundTrips),
    ),
    figure(
      `${key}.walk.page`,
      `${name}: one page of the walk`,
      "ms",
      r.walk.flatMap((w) => w.pageMs),
    ),
    figure(
      `${key}.oneCall`,
      `${name}: all in one call (max_entries 0)`,
      "ms",
      r.oneCall.map((s) => s.ms),
    ),
    ...opsFigures(key, `${count} snapshots present`, ops),
  );
}
