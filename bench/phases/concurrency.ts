import { figure } from "../lib/results.js";
import { ConcurrencySuite } from "../suites/concurrency.js";
import type { PhaseContext } from "./context.js";

const MIXES = ["distinct", "pairs"] as const;
const LABELS = { distinct: "100 distinct names", pairs: "50 names, each sent twice at once" };

/** 100 CreateSnapshot calls at once, in both mixes, for the planned number of rounds. */
export async function concurrencyPhase(ctx: PhaseContext): Promise<void> {
  const { stack, plan, data } = ctx;
  const suite = new ConcurrencySuite(stack);
  await suite.prepare();
  for (let round = 0; round < plan.concurrencyRounds; round++) {
    for (const mix of MIXES) data.concurrency.push(await suite.run(mix, round));
    ctx.progress(`round ${round + 1}/${plan.concurrencyRounds}`);
  }
  await suite.finish();
  for (const mix of MIXES) {
    const runs = data.concurrency.filter((r) => r.mix === mix);
    const label = LABELS[mix];
    data.figures.push(
      figure(
        `concurrency.${mix}.total`,
        `${label}: total time`,
        "ms",
        runs.map((r) => r.totalMs),
      ),
      figure(
        `concurrency.${mix}.latency`,
        `${label}: per-call latency`,
        "ms",
        runs.flatMap((r) => r.latencies),
      ),
      figure(
        `concurrency.${mix}.unexpected`,
        `${label}: errors other than ABORTED on a repeated name`,
        "errors",
        runs.map((r) => r.unexpected),
        { text: "0", limit: 0 },
      ),
      figure(
        `concurrency.${mix}.aborted`,
        `${label}: ABORTED`,
        "calls",
        runs.map((r) => r.aborted),
      ),
    );
  }
}
