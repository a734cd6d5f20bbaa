/**
 * Restart safety: `rds-csi controller` is SIGKILLed in the middle of each mutating operation, right
 * after each change the operation makes has run on the RDS and before the controller has seen the
 * reply (the emulator holds the reply back, so the moment is exact). A new process with the same
 * flags then gets the same request, as the sidecar would send it again, and must complete the
 * operation, or clean up, on that call: the pool ends exactly as after an uninterrupted run.
 */
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, expect, it } from "vitest";
import { withoutAttemptToken } from "../controller/harness.js";
import { type SimFixture, startSim } from "../helpers/sim.js";
import { exactly } from "./controller-rig.js";
import { type CallOutcome, controllerArgs, DriverProcess } from "./driver-process.js";
import { FULL_MATRIX, instantiate, isFinal, maskedResponse } from "./matrix.js";
import {
  type CaseInput,
  type ControllerMethod,
  createOperations,
  type Driver,
  type Operation,
} from "./operations.js";
import { ChecksumCache, changes, maskIds, type PoolState, readPoolState } from "./pool-state.js";
import { describeCodes, describeCommand, formatTable, type Row } from "./report.js";

/** The emulator holds the reply of the command at the kill point this long; the kill lands inside it. */
const HOLD_MS = 2_000;
const MAX_ATTEMPTS = 6;
/** Lines the controller sends on its own (version probe, keepalive), not part of any operation. */
const BACKGROUND = new Set([":put [/system/resource get version]", ":put 1"]);

let sim: SimFixture;
let driver: DriverProcess;
const sums = new ChecksumCache();
const rows: Row[] = [];
let seq = 0;

const state = (): Promise<PoolState> => readPoolState(sim, sums);

async function newCommands(): Promise<string[]> {
  const entries = await sim.control.commands(seq);
  const last = entries.at(-1);
  if (last) seq = last.seq;
  return entries.map((e) => e.line).filter((l) => !BACKGROUND.has(l));
}

const callController = (method: ControllerMethod, request: object): Promise<CallOutcome> =>
  driver.attempt("Controller", method, request);

const gateway: Driver = {
  get sim() {
    return sim;
  },
  async call(method, request) {
    const outcome = await callController(method, request);
    if (outcome.code !== status.OK || !outcome.response) {
      throw new Error(`${method} failed: ${status[outcome.code]} ${outcome.message}`);
    }
    return outcome.response;
  },
};

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

interface Clean {
  templates: Array<{ template: string; first: boolean; change: boolean }>;
  changes: string[];
  response: string;
}

async function learn(op: Operation, tag: string): Promise<Clean> {
  const input = await op.prepare(gateway, tag);
  const before = await state();
  await newCommands();
  const outcome = await callController(input.method, input.request);
  expect(outcome.code, `clean ${op.name}: ${outcome.message}`).toBe(status.OK);
  const seen = new Set<string>();
  const templates = (await newCommands()).map((line) => {
    const first = !seen.has(line);
    seen.add(line);
    return { template: maskIds(line, input.roles), first, change: !line.startsWith(":put ") };
  });
  return {
    templates,
    changes: changes(before, await state(), input.roles),
    response: maskedResponse(outcome.response, input.roles),
  };
}

/** Kill after the command at `index` ran; then restart and send the request again. */
async function killCase(op: Operation, clean: Clean, index: number, input: CaseInput): Promise<Row> {
  const { template } = clean.templates[index]!;
  const line = instantiate(template, input.roles);
  const problems: string[] = [];
  const before = await state();
  await newCommands();
  await sim.control.addFault({ match: exactly(line), action: "delay-reply", ms: HOLD_MS, times: 1 });
  const interrupted = callController(input.method, input.request);
  await until(`the emulator to receive ${line}`, async () => (await sim.control.listFaults()).length === 0);
  await driver.kill();
  const codes = [(await interrupted).code];
  // The held command has run; wait for its reply to go nowhere before the new process starts.
  await until(`the held reply of ${line}`, async () =>
    (await sim.control.commands(seq)).some(
      (e) => withoutAttemptToken(e.line) === withoutAttemptToken(line) && e.fault?.includes("delay-reply"),
    ),
  );
  await driver.start();
  let outcome = await callController(input.method, input.request);
  codes.push(outcome.code);
  if (outcome.code !== status.OK)
    problems.push(`the first call after the restart failed: ${outcome.message}`);
  while (outcome.code !== status.OK && codes.length < MAX_ATTEMPTS) {
    if (isFinal(outcome.code) && op.finalErrorRollsBack) {
      const allowed = new Set(op.mayRemainAfterRollBack ?? []);
      const left = changes(before, await state(), input.roles).filter((l) => !allowed.has(l));
      if (left.length > 0) problems.push(`final ${status[outcome.code]} left:\n  ${left.join("\n  ")}`);
    }
    outcome = await callController(input.method, input.request);
    codes.push(outcome.code);
  }
  if (outcome.code === status.OK) {
    const response = maskedResponse(outcome.response, input.roles);
    if (response !== clean.response) problems.push(`response differs:\n  ${response}\n  ${clean.response}`);
  } else {
    problems.push(`no success after ${MAX_ATTEMPTS} attempts: ${outcome.message}`);
  }
  const got = changes(before, await state(), input.roles);
  const missing = clean.changes.filter((c) => !got.includes(c));
  const extra = got.filter((c) => !clean.changes.includes(c));
  for (const c of missing) problems.push(`missing ${c}`);
  for (const c of extra) problems.push(`extra   ${c}`);
  const injections = await sim.control.injections(0);
  if (injections.length > 0)
    problems.push(`emulator evaluated ${injections.map((e) => e.source).join(", ")}`);
  return {
    cells: [op.name, String(index + 1), describeCommand(template, 1), describeCodes(codes, 0)],
    passed: problems.length === 0,
    problems,
  };
}

beforeAll(async () => {
  sim = await startSim();
  driver = new DriverProcess(controllerArgs(sim));
  await driver.start();
  // The first create makes the base directories; every later case starts from a settled layout.
  const warm = await createOperations().CreateVolume!.prepare(gateway, "warm-up");
  await gateway.call(warm.method, warm.request);
});

afterAll(async () => {
  if (rows.length > 0) {
    console.log(
      formatTable(
        "restart safety (SIGKILL after each change)",
        ["operation", "#", "ran before the kill", "attempts"],
        rows,
      ),
    );
  }
  await driver?.stop();
  await sim?.stop();
});

const operations = createOperations();
const keys = [
  "CreateVolume",
  "CreateSnapshot",
  "restore",
  "clone",
  "expand",
  "DeleteVolume",
  "DeleteVolumeWithSnapshot",
  "DeleteSnapshot",
  ...(FULL_MATRIX ? ["DeleteSnapshotOfLiveVolume"] : []),
];

for (const key of keys) {
  const op = operations[key]!;
  it(`${op.name}: a controller killed after any change finishes the job after a restart`, {
    timeout: 900_000,
  }, async () => {
    const clean = await learn(op, `restart-${key}-clean`);
    // Killing after a read leaves the pool as after the change before it, so by default the kill
    // points are the changes; a line sent twice can only be held at its first occurrence.
    const points = clean.templates
      .map((t, index) => ({ ...t, index }))
      .filter((t) => t.first && (FULL_MATRIX || t.change));
    expect(points.length).toBeGreaterThan(0);
    const mine: Row[] = [];
    for (const point of points) {
      const input = await op.prepare(gateway, `restart-${key}-${point.index + 1}`);
      mine.push(await killCase(op, clean, point.index, input));
    }
    rows.push(...mine);
    const failed = mine
      .filter((r) => !r.passed)
      .map((r) => `${r.cells.join(" | ")}: ${r.problems.join("; ")}`);
    expect(failed).toEqual([]);
  });
}
