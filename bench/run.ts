/**
 * `npm run bench`: starts `rds-csi sim` on a real Btrfs pool and `rds-csi all` against it, runs every
 * benchmark, and writes bench/results/latest.md and latest.json. `BENCH_QUICK=1` for a short smoke
 * run. Cleans up everything it started, also on failure and on Ctrl-C.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { emulatorBlocker } from "../src/demo/preflight.js";
import { BenchStack, forceCleanup } from "./lib/bench-stack.js";
import { collectMachine } from "./lib/machine.js";
import { type Plan, plans } from "./lib/plan.js";
import { writeResults } from "./lib/write-results.js";
import { runPhases } from "./phases/index.js";

const RESULTS_DIR = fileURLToPath(new URL("./results/", import.meta.url));

/**
 * `BENCH_COST_MODEL=1`: the emulator's cost model (src/sim/cost.ts) as measured on RouterOS 7.23 —
 * about 1 ms per request for a burst of 120–220, then 20 ms each — with the burst in the middle of
 * that range, and 5 ms per command for the exec itself (an assumption: SSH exec on an RDS over a LAN
 * has not been measured).
 */
const COST_MODEL = {
  cost_command_latency_ms: 5,
  cost_throttle_burst: 170,
  cost_throttle_fast_ms: 1,
  cost_throttle_slow_ms: 20,
};
const log = (line: string) => process.stdout.write(`${line}\n`);

async function main(): Promise<number> {
  const blocker = emulatorBlocker();
  if (blocker) {
    process.stderr.write(`bench: cannot start the RDS emulator: ${blocker}\n`);
    return 2;
  }
  const plan: Plan = process.env.BENCH_QUICK === "1" ? plans.quick : plans.full;
  const workDir = mkdtempSync(join(tmpdir(), "rds-csi-bench-"));
  const started = Date.now();
  const machine = collectMachine();
  log(`rds-csi bench (${plan.mode}) in ${workDir}; load average ${machine.loadAverageStart.join(" ")}`);

  let stack: BenchStack | undefined;
  let starting: Promise<BenchStack> | undefined;
  const pids = () => (stack ? [stack.driverPid, stack.simPid] : []);
  // Last resort: whatever happens, the processes, the mount, the loop device and the files go.
  const onExit = () => forceCleanup(workDir, pids());
  process.on("exit", onExit);
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = true;
    log(`\n${signal}: stopping the emulator and the driver …`);
    void (async () => {
      // Mid-start there is no handle on the processes yet: let the start finish (or fail, which
      // stops them itself), then stop what it started.
      stack ??= await starting?.catch(() => undefined);
      await stack?.stop();
      forceCleanup(workDir, pids());
      process.exit(130);
    })();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  try {
    starting = BenchStack.start({ workDir, poolSize: plan.poolSize, profileDir: join(workDir, "profiles") });
    stack = await starting;
    log(`emulator on 127.0.0.1:${stack.local.simPort}, driver pid ${stack.driverPid}`);
    const costModel = process.env.BENCH_COST_MODEL === "1" ? COST_MODEL : undefined;
    if (costModel) {
      await stack.control.setSettings(costModel);
      log(`emulator cost model on: ${JSON.stringify(costModel)}`);
    }
    const results = await runPhases(stack, plan, (line) =>
      log(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}`),
    );
    const problems = await stack.stop();
    for (const p of problems) log(`stop: ${p}`);
    const profiles = results.summarizeProfiles(join(workDir, "profiles"));
    machine.loadAverageEnd = collectMachine().loadAverageStart;
    const files = await writeResults(
      RESULTS_DIR,
      {
        ...results.data,
        ...(costModel ? { costModel } : {}),
        profiles,
        machine,
        mode: plan.mode,
        date: new Date(started).toISOString(),
        durationS: Math.round((Date.now() - started) / 1000),
      },
      costModel ? "latest-cost-model" : "latest",
    );
    log(`report: ${files.join(", ")}`);
    return 0;
  } catch (err) {
    if (interrupted) return 130;
    process.stderr.write(
      `bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    if (stack) process.stderr.write(`driver log tail:\n${stack.local.driver.tail(10)}\n`);
    return 1;
  } finally {
    if (!interrupted) {
      await stack?.stop();
      forceCleanup(workDir, pids());
      process.off("exit", onExit);
    }
  }
}

process.exit(await main());
