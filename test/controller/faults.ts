/**
 * Fault injection at every RouterOS command of one controller operation. The operation is run once
 * cleanly to learn its commands and the state it produces; then, for each command it sends, the
 * emulator is told to fail it (RouterOS answers with an error), or to cut the connection before or
 * after running it (the driver cannot know whether it ran). The same request is retried until it
 * succeeds, and the emulator must then hold exactly what the clean run left: nothing leaked,
 * nothing missing.
 */
import { status } from "@grpc/grpc-js";
import { expect } from "vitest";
import { toStatusError } from "../../src/csi/errors.js";
import type { SimFaultRule } from "../helpers/sim.js";
import { exactLine, type Harness, type RdsState, rdsState } from "./harness.js";

export interface Scenario {
  /** Brings the emulator to the state the operation starts from (may repeat work already done). */
  setup(): Promise<void>;
  /** The operation under test; the same request every time. */
  run(): Promise<Record<string, unknown>>;
  /** Undoes the operation's effect, back to the starting state. */
  undo(): Promise<void>;
  /**
   * A create: after a definite failure (RouterOS answered with an error) nothing it made may be left
   * when the error returns. Deletes cannot be undone and only promise that the retry finishes.
   */
  rollsBack?: boolean;
  /**
   * Entries of `RdsState.files` or `RdsState.subvolumes` a rolled-back create may leave: the new
   * volume's empty snapshot directory, which the undo keeps (a late remove of it could meet
   * snapshots taken since), or a snapshot folder made a subvolume on the way to the snapshot.
   */
  leftByRollBack?: readonly string[];
  /** Response fields that legitimately differ between runs (e.g. a new snapshot's creation time). */
  unstable?: (response: Record<string, unknown>) => Record<string, unknown>;
}

const MAX_ATTEMPTS = 6;

const isChange = (line: string) => !line.startsWith(":put ");

export interface FaultReport {
  /** Distinct command lines of a clean run. */
  lines: string[];
  /** Every injected fault, with the status codes of the failed attempts before success. */
  runs: Array<{ line: string; action: SimFaultRule["action"]; failures: number[] }>;
}

/**
 * Runs the scenario cleanly, then once per (command, fault) pair, checking the final state each
 * time. Only the first occurrence of a command line can be targeted (the emulator matches lines,
 * not positions).
 */
export async function injectEveryStep(h: Harness, scenario: Scenario): Promise<FaultReport> {
  const stable = scenario.unstable ?? ((r) => r);
  await scenario.setup();
  const start = await rdsState(h);
  const from = await lastSeq(h);
  const clean = stable(await scenario.run());
  const to = await lastSeq(h);
  const done = await rdsState(h);
  // A line RouterOS refused in the clean run (a spelling the client then replaced, remembered for
  // later runs) is no step of the operation: faulting it changes nothing.
  const lines = [
    ...new Set(
      (await h.sim.control.commands(from))
        .filter((c) => c.seq <= to && c.outcome !== "error")
        .map((c) => c.line),
    ),
  ];
  expect(lines.length).toBeGreaterThan(0);
  await scenario.undo();
  expect(await rdsState(h), "undo restores the starting state").toEqual(start);

  const report: FaultReport = { lines, runs: [] };
  for (const line of lines) {
    const actions: SimFaultRule["action"][] = isChange(line)
      ? ["fail", "drop-before", "drop-after"]
      : ["fail"];
    for (const action of actions) {
      const failures = await runWithFault(h, scenario, { line, action, clean, start });
      const where = `${action} at ${line}`;
      expect(await rdsState(h), where).toEqual(done);
      report.runs.push({ line, action, failures });
      await scenario.undo();
      expect(await rdsState(h), `undo after ${where}`).toEqual(start);
      await scenario.setup();
    }
  }
  return report;
}

interface FaultRun {
  line: string;
  action: SimFaultRule["action"];
  /** The clean run's response, with unstable fields masked. */
  clean: Record<string, unknown>;
  /** The state before the operation. */
  start: RdsState;
}

async function runWithFault(h: Harness, scenario: Scenario, run: FaultRun): Promise<number[]> {
  const { line, action, clean, start } = run;
  const stable = scenario.unstable ?? ((r) => r);
  const where = `${action} at ${line}`;
  await h.sim.control.addFault({
    match: exactLine(line),
    action,
    times: 1,
    ...(action === "fail" ? { error: "failure: injected fault" } : {}),
  });
  const failures: number[] = [];
  let response: Record<string, unknown> | undefined;
  try {
    for (let attempt = 1; response === undefined; attempt++) {
      try {
        response = await scenario.run();
      } catch (err) {
        const { code, message } = toStatusError(err);
        failures.push(code);
        if (attempt === 1 && action === "fail" && scenario.rollsBack) {
          const left = await rdsState(h);
          const allowed = new Set(scenario.leftByRollBack ?? []);
          const files = left.files.filter((f) => !allowed.has(f));
          const subvolumes = left.subvolumes.filter((s) => !allowed.has(s));
          expect({ ...left, files, subvolumes }, `${where}: left something behind`).toEqual(start);
        }
        if (attempt === MAX_ATTEMPTS)
          throw new Error(`${where}: still failing after ${MAX_ATTEMPTS} attempts: ${message}`);
      }
    }
    // The fault was reached: the rule is used up, and it made an attempt fail.
    expect(await h.sim.control.listFaults(), where).toEqual([]);
  } finally {
    await h.sim.control.clearFaults();
  }
  expect(stable(response), where).toEqual(clean);
  expect(failures.length, `${where} made no attempt fail`).toBeGreaterThan(0);
  // Only "try again" answers: a retry that met its own leftovers must not look like a conflict.
  for (const code of failures) expect([status.INTERNAL, status.UNAVAILABLE], where).toContain(code);
  return failures;
}

async function lastSeq(h: Harness): Promise<number> {
  return (await h.sim.control.commands()).at(-1)?.seq ?? 0;
}
