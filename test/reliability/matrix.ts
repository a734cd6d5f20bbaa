/**
 * The fault matrix of one operation. A clean run, with the emulator's command log on, shows which
 * RouterOS commands the operation sends and what it changes in the pool. Then, for every command and
 * every fault kind, a fresh case (new names, same shape) is prepared, the fault is armed for exactly
 * that command, and the operation is retried the way the Kubernetes sidecars retry it. The case
 * passes when it ends where the clean run ended: the same response, the same changes to the pool
 * (so nothing leaked and nothing else was touched), no `$` evaluated by the emulator, and, wherever
 * a final error was answered on the way, a pool exactly as before that call.
 */
import { status } from "@grpc/grpc-js";
import { withoutAttemptToken } from "../controller/harness.js";
import type { SimFixture } from "../helpers/sim.js";
import type { ArmedFault, ControllerRig, Outcome } from "./controller-rig.js";
import type { ControllerMethod, Operation } from "./operations.js";
import { ChecksumCache, changes, maskIds, type PoolState, type Roles, readPoolState } from "./pool-state.js";

export type FaultKind =
  | "drop-before"
  | "drop-after"
  | "timeout"
  | "late"
  | "late-after-delete"
  | "fail"
  | "cut-reply";

/**
 * Every kind: the connection cut before or after the command ran; its reply held past the caller's
 * deadline (it ran in time); `late`, the command held before it even starts, so it runs after the
 * caller gave up, while the retries go on (an SSH exec whose channel was closed may still run on a
 * real RDS); a RouterOS failure; a reply cut off halfway (the full matrix only). Creates also get
 * `late-after-delete` (see `CREATE_KINDS`).
 */
export const FAULT_KINDS: readonly FaultKind[] = [
  "drop-before",
  "drop-after",
  "timeout",
  "late",
  "fail",
  "cut-reply",
];

/**
 * For a change of a create: held so long that it runs only after the retries succeeded and the CO
 * deleted what they made (DeleteVolume, DeleteSnapshot); the pool must end as before the create
 * once the controller's delete-mark sweep has passed.
 */
export const CREATE_KINDS: readonly FaultKind[] = ["late-after-delete"];

/** A command as a template: the case's ids replaced by `{role}`. */
export interface LearnedCommand {
  template: string;
  /** Which occurrence of this exact line within the operation (1 = first). */
  occurrence: number;
  /** Bytes of the clean run's reply to it. */
  replyBytes: number;
}

export interface Learned {
  commands: LearnedCommand[];
  /** The pool changes of the clean run, ids masked. */
  changes: string[];
  /** For a create: the pool changes once what it made was deleted again (none expected). */
  changesAfterDelete?: string[];
  /** The clean response, ids masked. */
  response: string;
}

export interface CaseResult {
  operation: string;
  index: number;
  command: LearnedCommand;
  kind: FaultKind;
  /** Status codes of the attempts, in order; the last is OK when the case converged. */
  codes: status[];
  /** Final errors after which the pool was checked to be as before. */
  rolledBack: number;
  problems: string[];
}

/** The codes the snapshotter and provisioner treat as "not final": they keep retrying, and keep the object's in-progress marker. */
const NOT_FINAL: ReadonlySet<status> = new Set([
  status.CANCELLED,
  status.DEADLINE_EXCEEDED,
  status.UNAVAILABLE,
  status.RESOURCE_EXHAUSTED,
  status.ABORTED,
]);

export const isFinal = (code: status) => code !== status.OK && !NOT_FINAL.has(code);

const MAX_ATTEMPTS = 6;
/** The caller's deadline expires this long after a timed-out command was sent... */
const TIMEOUT_DEADLINE_MS = 500;
/** ...while the emulator holds its reply back for this long. */
const TIMEOUT_HOLD_MS = 2_000;
/** A late command meant to run after the retries and the CO's delete are done. */
const AFTER_DELETE_HOLD_MS = 6_000;
/** A failure RouterOS could print that names no known cause: the client must take it as definite. */
export const INJECTED_FAILURE = "failure: operation could not be completed (injected)";

function faultOf(kind: FaultKind, line: string, command: LearnedCommand): ArmedFault {
  const { occurrence } = command;
  switch (kind) {
    case "drop-before":
    case "drop-after":
      return { line, occurrence, rule: { action: kind } };
    case "fail":
      return { line, occurrence, rule: { action: "fail", error: INJECTED_FAILURE } };
    case "timeout":
    case "late":
      // The reply held after the command ran, or the command itself held before it runs.
      return {
        line,
        occurrence,
        rule: { action: kind === "late" ? "delay" : "delay-reply", ms: TIMEOUT_HOLD_MS },
        deadlineAfterMs: TIMEOUT_DEADLINE_MS,
      };
    case "late-after-delete":
      return {
        line,
        occurrence,
        rule: { action: "delay", ms: AFTER_DELETE_HOLD_MS },
        deadlineAfterMs: TIMEOUT_DEADLINE_MS,
      };
    case "cut-reply":
      // Half of a batched reply is typically the change's answer without its read-back.
      return {
        line,
        occurrence,
        rule: { action: "drop-after-bytes", bytes: Math.floor(command.replyBytes / 2) },
      };
  }
}

export function instantiate(template: string, roles: Roles): string {
  let line = template;
  for (const [role, id] of Object.entries(roles)) line = line.split(`{${role}}`).join(id);
  return line;
}

/** The response with ids masked and the one field that differs between runs by nature. */
export function maskedResponse(response: Record<string, unknown> | undefined, roles: Roles): string {
  const text = JSON.stringify(response ?? null, (key, value: unknown) =>
    key === "creation_time" ? "<time>" : value,
  );
  return maskIds(text, roles);
}

export class MatrixRunner {
  readonly #sums = new ChecksumCache();
  #seq = 0;

  constructor(
    readonly sim: SimFixture,
    readonly rig: ControllerRig,
  ) {}

  state(): Promise<PoolState> {
    return readPoolState(this.sim, this.#sums);
  }

  /** Exec lines received since the last call, in arrival order, with the bytes of each reply. */
  async #newCommands(): Promise<Array<{ line: string; replyBytes: number }>> {
    const entries = await this.sim.control.commands(this.#seq);
    const last = entries.at(-1);
    if (last) this.#seq = last.seq;
    return entries.map((e) => ({ line: e.line, replyBytes: e.outputBytes }));
  }

  /**
   * The emulator logs a command when it replies, so a reply held back for a timeout is logged late;
   * waiting for it keeps it out of the next clean run's command list.
   */
  async #heldReplySent(line: string, fault: "delay-reply" | "delay" = "delay-reply"): Promise<void> {
    const until = Date.now() + AFTER_DELETE_HOLD_MS + 30_000;
    const shape = withoutAttemptToken(line);
    while (Date.now() < until) {
      const entries = await this.sim.control.commands(this.#seq);
      const ran = entries.some(
        (e) => withoutAttemptToken(e.line) === shape && (e.fault ?? "").split(",").includes(fault),
      );
      if (ran) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`the emulator never answered the held command ${line}`);
  }

  async #newInjections(): Promise<string[]> {
    return (await this.sim.control.injections(0)).map((e) => `${e.kind} ${e.source} in ${e.line}`);
  }

  /** Runs the operation once without faults and learns its commands, changes and response. */
  async learn(op: Operation, tag: string): Promise<Learned> {
    const input = await op.prepare(this.rig, tag);
    const before = await this.state();
    await this.#newCommands();
    const outcome = await this.rig.attempt(input.method, input.request);
    if (outcome.code !== status.OK) {
      throw new Error(`clean ${op.name} failed: ${status[outcome.code]} ${outcome.message}`);
    }
    const seen = new Map<string, number>();
    const commands = (await this.#newCommands()).map(({ line, replyBytes }) => {
      const occurrence = (seen.get(line) ?? 0) + 1;
      seen.set(line, occurrence);
      return { template: maskIds(line, input.roles), occurrence, replyBytes };
    });
    await this.rig.sweep();
    const learned: Learned = {
      commands,
      changes: changes(before, await this.state(), input.roles),
      response: maskedResponse(outcome.response, input.roles),
    };
    const remove = deleteOf(input.method, outcome.response);
    if (remove !== undefined) {
      const deleted = await this.rig.attempt(remove.method, remove.request);
      if (deleted.code !== status.OK) {
        throw new Error(`clean ${remove.method} failed: ${status[deleted.code]} ${deleted.message}`);
      }
      await this.rig.sweep();
      learned.changesAfterDelete = changes(before, await this.state(), input.roles);
      await this.#newCommands();
    }
    return learned;
  }

  /**
   * The CO deletes what the create made, retrying as the sidecars do; problems are recorded.
   */
  async #deleteResult(method: ControllerMethod, outcome: Outcome, result: CaseResult): Promise<void> {
    const remove = deleteOf(method, outcome.response);
    if (remove === undefined) {
      result.problems.push("no id to delete in the response");
      return;
    }
    let deleted = await this.rig.attempt(remove.method, remove.request);
    for (let n = 1; deleted.code !== status.OK && n < MAX_ATTEMPTS; n++) {
      deleted = await this.rig.attempt(remove.method, remove.request);
    }
    if (deleted.code !== status.OK) {
      result.problems.push(`${remove.method} never succeeded: ${status[deleted.code]} ${deleted.message}`);
    }
  }

  /** One case: a fresh start, one fault at one command, then retries until OK (bounded). */
  async runCase(
    op: Operation,
    learned: Learned,
    index: number,
    kind: FaultKind,
    tag: string,
  ): Promise<CaseResult> {
    const command = learned.commands[index]!;
    const result: CaseResult = {
      operation: op.name,
      index,
      command,
      kind,
      codes: [],
      rolledBack: 0,
      problems: [],
    };
    const input = await op.prepare(this.rig, tag);
    const before = await this.state();
    const line = instantiate(command.template, input.roles);
    const fault = faultOf(kind, line, command);
    await this.#newCommands();
    let outcome: Outcome = await this.rig.attempt(input.method, input.request, fault);
    if (this.rig.transport.pending) result.problems.push("the operation never sent the faulted command");
    const leftRules = await this.sim.control.listFaults();
    if (leftRules.length > 0) {
      result.problems.push(`fault rule not used by the emulator: ${JSON.stringify(leftRules)}`);
      await this.sim.control.clearFaults();
    }
    result.codes.push(outcome.code);
    while (outcome.code !== status.OK && result.codes.length < MAX_ATTEMPTS) {
      if (isFinal(outcome.code)) await this.#checkFinal(op, kind, outcome, before, input.roles, result);
      outcome = await this.rig.attempt(input.method, input.request);
      result.codes.push(outcome.code);
    }
    if (outcome.code !== status.OK) {
      result.problems.push(
        `no success after ${MAX_ATTEMPTS} attempts: ${status[outcome.code]} ${outcome.message}`,
      );
    } else {
      const response = maskedResponse(outcome.response, input.roles);
      if (response !== learned.response) {
        result.problems.push(`response differs from the clean run:\n  ${response}\n  ${learned.response}`);
      }
    }
    let expected = learned.changes;
    if (kind === "late-after-delete") {
      expected = learned.changesAfterDelete ?? [];
      if (outcome.code === status.OK) await this.#deleteResult(input.method, outcome, result);
    }
    // A late command must have run before the pool is judged: what it does is the point.
    if (kind === "late" || kind === "late-after-delete") await this.#heldReplySent(line, "delay");
    // Once the late-command window has passed, as the controller's sweep then sees it.
    await this.rig.sweep();
    const got = changes(before, await this.state(), input.roles);
    const missing = expected.filter((c) => !got.includes(c));
    const extra = got.filter((c) => !expected.includes(c));
    if (missing.length > 0 || extra.length > 0) {
      result.problems.push(
        `pool differs from the clean run:${missing.map((c) => `\n  missing ${c}`).join("")}${extra
          .map((c) => `\n  extra   ${c}`)
          .join("")}`,
      );
    }
    if (kind === "timeout") await this.#heldReplySent(line);
    const injections = await this.#newInjections();
    if (injections.length > 0) result.problems.push(`emulator evaluated: ${injections.join("; ")}`);
    return result;
  }

  /**
   * A final error: the sidecar stops treating the operation as in progress. A lost or late reply
   * must never end that way, and a create or expansion that does must have undone its changes.
   * The CO still retries later (a PVC stays Pending, a VolumeSnapshot not ready), so the case goes on.
   */
  async #checkFinal(
    op: Operation,
    kind: FaultKind,
    outcome: Outcome,
    before: PoolState,
    roles: Roles,
    result: CaseResult,
  ): Promise<void> {
    const code = status[outcome.code];
    if (kind !== "fail") {
      result.problems.push(`a ${kind} ended in the final error ${code}: ${outcome.message}`);
    }
    if (!op.finalErrorRollsBack) return;
    const allowed = new Set(op.mayRemainAfterRollBack ?? []);
    const left = changes(before, await this.state(), roles).filter((line) => !allowed.has(line));
    if (left.length > 0) {
      result.problems.push(`final error ${code} left the pool changed:\n  ${left.join("\n  ")}`);
    } else {
      result.rolledBack++;
    }
  }
}

/**
 * Which fault kinds hit command `index` in the default run: both drops, fail or timeout in turn,
 * and, for a change, running late.
 */
export function defaultKinds(index: number, isChange: boolean, isCreate: boolean): FaultKind[] {
  const kinds: FaultKind[] = ["drop-before", "drop-after", index % 2 === 0 ? "fail" : "timeout"];
  if (!isChange) return kinds;
  return isCreate ? [...kinds, "late", ...CREATE_KINDS] : [...kinds, "late"];
}

/** The delete that undoes a create, from its response; undefined for other operations. */
function deleteOf(
  method: ControllerMethod,
  response: Record<string, unknown> | undefined,
): { method: ControllerMethod; request: object } | undefined {
  if (method === "CreateVolume") {
    const id = (response?.volume as { volume_id?: string } | undefined)?.volume_id;
    return id === undefined ? undefined : { method: "DeleteVolume", request: { volume_id: id, secrets: {} } };
  }
  if (method === "CreateSnapshot") {
    const id = (response?.snapshot as { snapshot_id?: string } | undefined)?.snapshot_id;
    return id === undefined
      ? undefined
      : { method: "DeleteSnapshot", request: { snapshot_id: id, secrets: {} } };
  }
  return undefined;
}

export const FULL_MATRIX = process.env.RDS_CSI_FULL_FAULT_MATRIX === "1";

/** Runs every (command, kind) case of one operation. */
export async function runMatrix(runner: MatrixRunner, key: string, op: Operation): Promise<CaseResult[]> {
  const learned = await runner.learn(op, `${key}-clean`);
  const results: CaseResult[] = [];
  const isCreate = learned.changesAfterDelete !== undefined;
  for (const [index, command] of learned.commands.entries()) {
    const isChange = !command.template.startsWith(":put ");
    const kinds = FULL_MATRIX
      ? [...FAULT_KINDS, ...(isCreate && isChange ? CREATE_KINDS : [])]
      : defaultKinds(index, isChange, isCreate);
    for (const kind of kinds) {
      results.push(await runner.runCase(op, learned, index, kind, `${key}-${index + 1}-${kind}`));
    }
  }
  return results;
}
