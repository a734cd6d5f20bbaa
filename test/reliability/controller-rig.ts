/**
 * The Controller service in this process, over a real RouterOS client and SSH connection to a real
 * emulator, with one addition: the transport under the client can arm an emulator fault rule just
 * before a chosen command goes out. The emulator matches rules by line, so a line sent twice in one
 * operation (a `/disk` listing before a create and again as its read-back) could otherwise only be
 * faulted at its first occurrence; arming at the moment of sending targets any occurrence, and the
 * fault itself still happens in the emulator, on the wire.
 */
import { status } from "@grpc/grpc-js";
import { pino } from "pino";
import { toStatusError } from "../../src/csi/errors.js";
import { KeyedLocks } from "../../src/csi/locks.js";
import type { RequestContext, ServiceHandlers } from "../../src/csi/pipeline.js";
import {
  type CommandTransport,
  type ExecOptions,
  type ExecResult,
  RdsClient,
  RdsConnection,
} from "../../src/rds/index.js";
import { type Storage, type SweepReport, TombstoneSweep } from "../../src/storage/index.js";
import { controllerServiceFor, exactLine, storageFor, withoutAttemptToken } from "../controller/harness.js";
import type { SimFaultRule, SimFixture } from "../helpers/sim.js";
import type { ControllerMethod, Driver } from "./operations.js";

/** A regular expression matching exactly this line (see `exactLine`). */
export const exactly = exactLine;

interface Armed {
  line: string;
  occurrence: number;
  rule: Omit<SimFaultRule, "match" | "times">;
  onArmed: () => void;
}

/** Passes commands through, counting each line, and arms one fault rule before a chosen occurrence. */
export class ArmingTransport implements CommandTransport {
  readonly #counts = new Map<string, number>();
  #armed: Armed | undefined;

  constructor(
    private readonly inner: CommandTransport,
    private readonly sim: SimFixture,
  ) {}

  /** Starts counting occurrences afresh (one test case). */
  reset(): void {
    this.#counts.clear();
    this.#armed = undefined;
  }

  /** Before `line` is sent for the `occurrence`-th time since `reset`, the emulator gets `rule` for it. */
  arm(line: string, occurrence: number, rule: Armed["rule"], onArmed: () => void = () => {}): void {
    this.#armed = { line, occurrence, rule, onArmed };
  }

  /** Whether an armed rule is still waiting for its command. */
  get pending(): boolean {
    return this.#armed !== undefined;
  }

  async exec(line: string, options: ExecOptions): Promise<ExecResult> {
    const shape = withoutAttemptToken(line);
    const n = (this.#counts.get(shape) ?? 0) + 1;
    this.#counts.set(shape, n);
    const armed = this.#armed;
    if (armed !== undefined && withoutAttemptToken(armed.line) === shape && armed.occurrence === n) {
      this.#armed = undefined;
      await this.sim.control.addFault({ ...armed.rule, match: exactly(line), times: 1 });
      armed.onArmed();
    }
    return this.inner.exec(line, options);
  }
}

export interface Outcome {
  /** gRPC status the caller would receive; 0 = OK. */
  code: status;
  message: string;
  response?: Record<string, unknown>;
}

/** A fault for one command of the next call. */
export interface ArmedFault {
  line: string;
  /** Which occurrence of `line` within the call (1 = first). */
  occurrence: number;
  rule: Omit<SimFaultRule, "match" | "times">;
  /**
   * The caller's deadline runs out this many ms after the command was sent; the call is cancelled
   * as the gRPC pipeline cancels one whose deadline passed, and the status mapped the same way.
   */
  deadlineAfterMs?: number;
}

/** How long a call may take when no fault shortens it: the sidecars' default --timeout. */
const CALL_DEADLINE_MS = 60_000;

export class ControllerRig implements Driver {
  readonly connection: RdsConnection;
  readonly transport: ArmingTransport;
  readonly client: RdsClient;
  readonly service: ServiceHandlers;
  readonly storage: Storage;
  readonly locks = new KeyedLocks();

  constructor(readonly sim: SimFixture) {
    this.connection = new RdsConnection({
      host: sim.host,
      port: sim.port,
      username: sim.user,
      privateKey: { path: sim.privateKeyPath },
      hostKey: { fingerprint: sim.hostKeyFingerprint },
      reconnectBackoff: { initialMs: 20, maxMs: 200 },
      keepaliveIntervalMs: 0,
    });
    this.transport = new ArmingTransport(this.connection, sim);
    this.client = new RdsClient(this.transport, { retryBackoff: { initialMs: 20, maxMs: 200 } });
    this.storage = storageFor(sim, this.client);
    this.service = controllerServiceFor(sim, this.client, { storage: this.storage, locks: this.locks });
  }

  /**
   * One pass of the controller's delete-mark sweep, as it runs once the late-command window has
   * passed: what a late command re-created after a delete is removed, and every mark dropped.
   */
  async sweep(): Promise<SweepReport> {
    const sweep = new TombstoneSweep({
      storage: this.storage,
      locks: this.locks,
      windowMs: 0,
      logger: pino({ level: "silent" }),
    });
    return sweep.pass();
  }

  /** One call, run as the gRPC pipeline runs it, ending in the status the caller would see. */
  async attempt(method: ControllerMethod, request: object, fault?: ArmedFault): Promise<Outcome> {
    const handler = this.service[method];
    if (!handler) throw new Error(`no handler ${method}`);
    const abort = new AbortController();
    let deadlinePassed = false;
    let timer: NodeJS.Timeout | undefined;
    this.transport.reset();
    if (fault !== undefined) {
      this.transport.arm(fault.line, fault.occurrence, fault.rule, () => {
        if (fault.deadlineAfterMs === undefined) return;
        timer = setTimeout(() => {
          deadlinePassed = true;
          abort.abort(new Error("deadline exceeded"));
        }, fault.deadlineAfterMs);
      });
    }
    const ctx: RequestContext = {
      requestId: "fault-matrix",
      method,
      log: pino({ level: "silent" }),
      deadline: Date.now() + CALL_DEADLINE_MS,
      signal: abort.signal,
    };
    try {
      const response = (await handler(request, ctx)) as Record<string, unknown>;
      return { code: status.OK, message: "", response };
    } catch (err) {
      const mapped = toStatusError(err, deadlinePassed);
      return { code: mapped.code, message: mapped.message };
    } finally {
      if (timer) clearTimeout(timer);
      abort.abort(new Error("call finished"));
    }
  }

  /** A call that must succeed (test setup). */
  async call(method: ControllerMethod, request: object): Promise<Record<string, unknown>> {
    const outcome = await this.attempt(method, request);
    if (outcome.code !== status.OK || !outcome.response) {
      throw new Error(`${method} failed: ${status[outcome.code]} ${outcome.message}`);
    }
    return outcome.response;
  }

  close(): void {
    this.connection.close();
  }
}
