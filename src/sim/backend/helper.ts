import { type ChildProcess, spawn } from "node:child_process";
import { HELPER_PROGRAM } from "./helper-program.js";

/**
 * The emulator's command helper: one long-lived Perl process (helper-program.ts) started while the
 * emulator is small, which starts the system tools for it and reads subvolume records with an ioctl.
 * A process started by the emulator itself costs more as its heap grows (the kernel copies its page
 * tables, and Node waits for the exec); one started by the helper costs the same at any size.
 *
 * The helper is a convenience, never the truth, and its failures are handled here:
 * - it dies (killed, crashed): requests in flight that are safe to repeat (reads) are sent again to
 *   a fresh helper; the others fail as a killed command would, since their outcome is unknown;
 * - it hangs (stops answering): while requests are in flight it is pinged; when it has said nothing
 *   for `hangMs` it is killed and handled as dead;
 * - it answers garbage: killed and handled as dead;
 * - it cannot be started, or dies before answering anything, `maxStartFailures` times in a row: the
 *   emulator goes on without it (the caller starts its tools itself, as before the helper).
 */

export interface HelperOptions {
  /** The Perl program; tests substitute a broken one. */
  readonly program?: string;
  /** Silence after which a helper with requests in flight counts as hung (default 30 s). */
  readonly hangMs?: number;
  /** Consecutive failed starts after which the helper is given up (default 3). */
  readonly maxStartFailures?: number;
  /** Diagnostic lines. */
  readonly log?: (line: string) => void;
}

/** One answer of the helper (see helper-program.ts for the kinds and codes). */
export interface HelperAnswer {
  readonly kind: "exit" | "signal" | "noexec" | "info" | "pong" | "bad";
  readonly code: number;
  readonly out: Buffer;
  readonly err: Buffer;
}

/** The helper could not carry a request through; `outcomeUnknown` when it may have run. */
export class HelperFailed extends Error {
  constructor(
    message: string,
    readonly outcomeUnknown: boolean,
  ) {
    super(message);
    this.name = "HelperFailed";
  }
}

/** The helper is not used any more (it failed to start too often, or was closed). */
export class HelperUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = "HelperUnavailable";
  }
}

interface Pending {
  readonly line: string;
  readonly repeatable: boolean;
  attempts: number;
  resolve(answer: HelperAnswer): void;
  reject(error: Error): void;
}

const HEADER = /^R (\d{1,15}) (exit|signal|noexec|info|pong|bad) (\d{1,10}) (\d{1,10}) (\d{1,10})$/;
/** A header is short; this much without a line end is garbage. */
const MAX_HEADER = 128;

const hex = (s: string) => Buffer.from(s, "utf8").toString("hex");

export class CommandHelper {
  private readonly program: string;
  private readonly hangMs: number;
  private readonly maxStartFailures: number;
  private readonly log: (line: string) => void;
  private child: ChildProcess | undefined;
  /** The current child's requests in flight, by id. */
  private pending = new Map<number, Pending>();
  private nextId = 1;
  private startFailures = 0;
  /** The current child answered at least once (so its death is not a failed start). */
  private answered = false;
  private unavailable: string | undefined;
  private closed = false;
  private chunks: Buffer[] = [];
  private buffered = 0;
  private header:
    | { id: number; kind: HelperAnswer["kind"]; code: number; outLength: number; errLength: number }
    | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private lastHeard = 0;
  private pingSent = 0;
  /** Helpers started so far (tests read it to see a restart). */
  starts = 0;

  constructor(options: HelperOptions = {}) {
    this.program = options.program ?? HELPER_PROGRAM;
    this.hangMs = options.hangMs ?? 30_000;
    this.maxStartFailures = options.maxStartFailures ?? 3;
    this.log = options.log ?? (() => undefined);
  }

  /** Starts the helper now (while the emulator is small), rather than at the first request. */
  start(): void {
    if (!this.child && this.unavailable === undefined && !this.closed) this.spawnChild();
  }

  /** Process id of the running helper, if one is running. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Why the helper is not used any more, or undefined while it is. */
  get unavailableReason(): string | undefined {
    return this.unavailable;
  }

  /**
   * Runs `file` with `args` through the helper. `repeatable`: safe to run twice (a read), so it is
   * sent again to a fresh helper when the helper dies with it in flight.
   */
  runCommand(file: string, args: readonly string[], repeatable: boolean): Promise<HelperAnswer> {
    return this.request(["run", hex(file), ...args.map(hex)].join(" "), repeatable);
  }

  /** The BTRFS_IOC_GET_SUBVOL_INFO answer for `path` (a read: always repeatable). */
  subvolumeInfo(path: string): Promise<HelperAnswer> {
    return this.request(`info ${hex(path)}`, true);
  }

  ping(): Promise<HelperAnswer> {
    return this.request("ping", true);
  }

  /** Ends the helper: closes its input (it exits; commands still running finish), killed if it lingers. */
  async close(): Promise<void> {
    this.closed = true;
    this.unavailable = "closed";
    const child = this.child;
    if (!child) return;
    // A command still in flight may have run: its caller must not start it again.
    this.fail(child, new HelperFailed("the command helper was closed", true), false);
    await new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const kill = setTimeout(() => child.kill("SIGKILL"), 2_000);
      child.once("exit", () => {
        clearTimeout(kill);
        resolve();
      });
    });
  }

  private request(body: string, repeatable: boolean): Promise<HelperAnswer> {
    if (this.unavailable !== undefined)
      return Promise.reject(new HelperUnavailable(`command helper not available: ${this.unavailable}`));
    return new Promise((resolve, reject) => {
      this.send({ line: body, repeatable, attempts: 0, resolve, reject });
    });
  }

  private send(p: Pending): void {
    if (this.unavailable !== undefined) {
      p.reject(new HelperUnavailable(`command helper not available: ${this.unavailable}`));
      return;
    }
    if (!this.child) this.spawnChild();
    const child = this.child as ChildProcess;
    const id = this.nextId++;
    p.attempts++;
    this.pending.set(id, p);
    if (this.pending.size === 1) this.armWatchdog();
    child.stdin?.write(`${id} ${p.line}\n`);
  }

  private spawnChild(): void {
    this.starts++;
    // Its own process group: a terminal's Ctrl-C reaches the emulator, which then stops it in order.
    const child = spawn("perl", ["-e", this.program], {
      stdio: ["pipe", "pipe", "pipe"],
      cwd: "/",
      detached: true,
    });
    this.child = child;
    this.answered = false;
    this.chunks = [];
    this.buffered = 0;
    this.header = undefined;
    this.lastHeard = Date.now();
    this.pingSent = 0;
    child.unref();
    child.stdin?.on("error", () => undefined);
    child.stdout?.on("data", (b: Buffer) => this.receive(child, b));
    const stderr: Buffer[] = [];
    child.stderr?.on("data", (b: Buffer) => {
      if (stderr.length < 16) stderr.push(b);
    });
    child.on("error", (e) => {
      // Also emitted when a kill fails; only a child that never started is handled here.
      if (child.pid !== undefined) return;
      // Perl cannot be started at all (not installed): nothing was sent anywhere, and retrying is
      // pointless; the caller starts its tools itself, as it did before the helper (said nowhere:
      // a setup failure that follows must stay the one line it is).
      this.unavailable = `cannot start perl: ${e.message}`;
      this.fail(child, new HelperUnavailable(`command helper not available: ${this.unavailable}`), false);
    });
    child.on("exit", (code, signal) => {
      const why = signal ? `killed by ${signal}` : `exited with ${code}`;
      const said = Buffer.concat(stderr).toString("utf8").trim().slice(0, 500);
      this.fail(child, new HelperFailed(`command helper ${why}${said ? `: ${said}` : ""}`, true), true);
    });
  }

  /** Drops a failed child; requests in flight are repeated on a fresh one or rejected. */
  private fail(child: ChildProcess, error: HelperFailed | HelperUnavailable, mayRestart: boolean): void {
    if (this.child !== child) return;
    this.child = undefined;
    this.disarmWatchdog();
    child.stdout?.removeAllListeners("data");
    child.stdin?.end();
    if (child.exitCode === null && child.signalCode === null && !this.closed && child.pid !== undefined)
      child.kill("SIGKILL");
    if (mayRestart && !this.closed) {
      if (this.answered) this.startFailures = 0;
      else if (++this.startFailures >= this.maxStartFailures) {
        this.unavailable = `it failed ${this.startFailures} times in a row (${error.message})`;
        this.log(`not using the command helper any more: ${this.unavailable}`);
      }
      if (this.unavailable === undefined) this.log(`${error.message}; a fresh one takes over`);
    }
    const inFlight = [...this.pending.values()];
    this.pending = new Map();
    for (const p of inFlight) {
      if (mayRestart && p.repeatable && p.attempts < 2 && !this.closed) this.send(p);
      else p.reject(error);
    }
  }

  private receive(child: ChildProcess, data: Buffer): void {
    this.lastHeard = Date.now();
    this.chunks.push(data);
    this.buffered += data.length;
    while (this.child === child) {
      if (!this.header && !this.readHeader(child)) return;
      const h = this.header as NonNullable<CommandHelper["header"]>;
      if (this.buffered < h.outLength + h.errLength) return;
      const all = this.joined();
      const body = all.subarray(0, h.outLength + h.errLength);
      this.chunks = [all.subarray(body.length)];
      this.buffered = all.length - body.length;
      this.header = undefined;
      this.answered = true;
      this.startFailures = 0;
      this.deliver(h, body);
    }
  }

  /** Reads the next answer's header when its line is complete; false when it is not (or garbage). */
  private readHeader(child: ChildProcess): boolean {
    const all = this.joined();
    const end = all.indexOf(10);
    if (end < 0) {
      if (all.length > MAX_HEADER) this.garbage(child, all);
      return false;
    }
    const m = HEADER.exec(all.subarray(0, end).toString("latin1"));
    if (!m || (m[2] !== "bad" && !this.pending.has(Number(m[1])))) {
      this.garbage(child, all);
      return false;
    }
    this.header = {
      id: Number(m[1]),
      kind: m[2] as HelperAnswer["kind"],
      code: Number(m[3]),
      outLength: Number(m[4]),
      errLength: Number(m[5]),
    };
    this.chunks = [all.subarray(end + 1)];
    this.buffered = all.length - end - 1;
    return true;
  }

  /** What has been received and not yet delivered, as one buffer. */
  private joined(): Buffer {
    const all = this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks);
    this.chunks = [all];
    return all;
  }

  private deliver(h: NonNullable<CommandHelper["header"]>, body: Buffer): void {
    const p = this.pending.get(h.id);
    if (!p) return;
    this.pending.delete(h.id);
    if (this.pending.size === 0) this.disarmWatchdog();
    // Copies: the answer must not keep the whole read buffer alive.
    const answer: HelperAnswer = {
      kind: h.kind,
      code: h.code,
      out: Buffer.from(body.subarray(0, h.outLength)),
      err: Buffer.from(body.subarray(h.outLength)),
    };
    if (h.kind === "bad") p.reject(new HelperFailed("command helper did not understand a request", false));
    else p.resolve(answer);
  }

  private garbage(child: ChildProcess, sample: Buffer): void {
    this.fail(
      child,
      new HelperFailed(
        `command helper answered garbage: ${JSON.stringify(sample.subarray(0, 40).toString("latin1"))}`,
        true,
      ),
      true,
    );
  }

  /**
   * While requests are in flight: a ping every third of `hangMs` (answered at once by a live helper
   * even while its commands run), and the verdict "hung" after `hangMs` of silence.
   */
  private armWatchdog(): void {
    this.disarmWatchdog();
    const every = Math.max(10, Math.floor(this.hangMs / 3));
    this.lastHeard = Date.now();
    this.watchdog = setInterval(() => this.check(), every);
    this.watchdog.unref();
  }

  private disarmWatchdog(): void {
    if (this.watchdog) clearInterval(this.watchdog);
    this.watchdog = undefined;
    this.pingSent = 0;
  }

  private check(): void {
    const child = this.child;
    if (!child) return;
    const now = Date.now();
    if (now - this.lastHeard < this.hangMs) {
      if (this.pingSent <= this.lastHeard) {
        this.pingSent = now;
        // The pong is an answer like any other; it only needs to arrive.
        void this.ping().catch(() => undefined);
      }
      return;
    }
    // Its answer may already wait in the pipe while this process was busy: look once more after
    // the pending input has been read.
    setImmediate(() => {
      if (this.child === child && Date.now() - this.lastHeard >= this.hangMs)
        this.fail(
          child,
          new HelperFailed(`command helper stopped answering for ${this.hangMs} ms`, true),
          true,
        );
    });
  }
}
