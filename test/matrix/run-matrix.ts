/**
 * `npm run test:matrix`: csi-sanity, the fault matrix (test/controller/faults-*.test.ts) and the
 * metrics census (test/controller/census.test.ts) under combinations of emulator settings for
 * RouterOS behaviours that differ between versions or are unknown on hardware
 * (test/matrix/settings.ts). Each combination is written to a JSON file named
 * in RDS_CSI_SIM_SETTINGS, which every emulator the tests start takes as its base.
 *
 * MATRIX=each (default) runs the fewest combinations that give every setting each of its values
 * at least once, within CI's time; MATRIX=pairwise runs every pair of values of every two settings
 * (longer). MATRIX_ONLY=m2 runs one combination; MATRIX_SUITES=faults or sanity one kind of suite.
 * Exit code 1 when any run under any combination failed; a table of the runs is printed at the end.
 */
import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { MATRIX_SETTINGS_ENV } from "../helpers/matrix-settings.js";
import { eachValueCombinations, matrixCombinations } from "./settings.js";

const FAULT_SUITES = [
  "test/controller/faults-create.test.ts",
  "test/controller/faults-delete.test.ts",
  // The metrics census counts with RouterOS patterns; it varies the print settings itself too.
  "test/controller/census.test.ts",
];

interface Run {
  combination: string;
  suite: string;
  code: number;
  seconds: number;
}

function run(command: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((done) => {
    const child = spawn(command, args, { stdio: "inherit", env });
    child.on("exit", (code, signal) => done(code ?? (signal ? 128 : 1)));
    child.on("error", () => done(127));
  });
}

async function main(): Promise<number> {
  const mode = process.env.MATRIX ?? "each";
  if (mode !== "each" && mode !== "pairwise") throw new Error(`MATRIX=${mode}: expected each or pairwise`);
  const only = process.env.MATRIX_ONLY;
  const suites = (process.env.MATRIX_SUITES ?? "faults,sanity").split(",");
  const all = mode === "pairwise" ? matrixCombinations() : eachValueCombinations();
  const combinations = only ? all.filter((c) => c.name === only) : all;
  if (combinations.length === 0) throw new Error(`MATRIX_ONLY=${only}: no such combination in ${mode}`);
  const dir = resolve(".tmp", "matrix");
  mkdirSync(dir, { recursive: true });
  const runs: Run[] = [];
  for (const { name, settings } of combinations) {
    const file = resolve(dir, `${mode}-${name}.json`);
    writeFileSync(file, `${JSON.stringify(settings, null, 2)}\n`);
    process.stdout.write(`\n=== settings matrix ${mode} ${name}: ${JSON.stringify(settings)}\n`);
    const env = {
      ...process.env,
      SANITY_ACCESS_TYPES: process.env.SANITY_ACCESS_TYPES ?? "mount",
      [MATRIX_SETTINGS_ENV]: file,
      SANITY_JUNIT_DIR: resolve(dir, `${mode}-${name}`),
    };
    const timed = async (suite: string, command: string, args: readonly string[]) => {
      const started = Date.now();
      const code = await run(command, args, env);
      runs.push({ combination: name, suite, code, seconds: Math.round((Date.now() - started) / 1000) });
    };
    if (suites.includes("faults"))
      await timed("fault matrix", process.execPath, [
        "node_modules/vitest/vitest.mjs",
        "run",
        "--maxWorkers=1",
        ...FAULT_SUITES,
      ]);
    if (suites.includes("sanity"))
      // Mount volumes only: the block run differs in the node alone, which no setting touches.
      await timed("csi-sanity (mount)", process.execPath, ["--import", "tsx", "test/sanity/run-sanity.ts"]);
  }
  process.stdout.write(`\nsettings matrix (${mode}): ${combinations.length} combinations\n`);
  for (const r of runs) {
    process.stdout.write(
      `  ${r.combination.padEnd(4)} ${r.suite.padEnd(20)} ${r.code === 0 ? "passed" : `FAILED (exit ${r.code})`} ${r.seconds}s\n`,
    );
  }
  process.stdout.write(`settings of each combination: ${dir}/${mode}-<name>.json\n`);
  return runs.some((r) => r.code !== 0) ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`test:matrix: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
