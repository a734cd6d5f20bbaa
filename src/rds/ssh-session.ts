import ssh2, { type Client, type ClientChannel, type ConnectConfig } from "ssh2";
import { RdsError } from "./errors.js";
import { type HostKeyCheck, type HostKeyPolicy, verifyHostKey } from "./host-key.js";

/**
 * One SSH connection to RouterOS and the exec channels on it. The connection owner
 * (connection.ts) decides when to open, use and retire sessions; this module turns ssh2 events
 * into results and typed errors, and decides what an interrupted command means:
 * - nothing reached the router (connect failed, channel refused) → `connection`;
 * - the command was sent but no complete reply came (timeout, drop, output cap) → `outcome-unknown`.
 */

export interface SessionConnectOptions {
  host: string;
  port: number;
  /** Login name including RouterOS console options (`admin+cet512w`). */
  loginName: string;
  privateKey: Buffer;
  passphrase?: string;
  hostKeyPolicy: HostKeyPolicy;
  /** Epoch ms by which the handshake must complete. */
  deadline: number;
  signal?: AbortSignal;
}

export interface SessionExecOptions {
  deadline: number;
  signal?: AbortSignal;
  mutating: boolean;
  maxOutputBytes: number;
}

export interface ExecResult {
  stdout: string;
  stderr: string;
  /** Exit status sent by the server; RouterOS sends 0 even when the command failed. */
  exitCode: number | null;
}

function connectError(err: Error & { level?: string }, target: string, check: HostKeyCheck | null): RdsError {
  if (check !== null && !check.ok) {
    return new RdsError(
      "connection",
      `host key verification failed for ${target}: the server presented ${check.presented}; ${check.reason}`,
      { retryable: false, cause: err },
    );
  }
  if (err.level === "client-authentication") {
    return new RdsError("connection", `SSH authentication to ${target} failed: the key was not accepted`, {
      retryable: false,
      cause: err,
    });
  }
  return new RdsError("connection", `cannot connect to ${target}: ${err.message}`, { cause: err });
}

export class SshSession {
  inFlight = 0;
  /** Set when the session must take no new commands (keepalive failed); it closes once idle. */
  draining = false;
  closed = false;
  lastActivity = Date.now();
  #closeListeners: Array<(err: Error | undefined) => void> = [];

  private constructor(
    readonly id: number,
    private readonly client: Client,
    readonly hostKeyFingerprint: string,
  ) {
    const markClosed = (err?: Error) => {
      if (this.closed) return;
      this.closed = true;
      for (const listener of this.#closeListeners.splice(0)) listener(err);
    };
    client.on("error", (err) => markClosed(err));
    client.on("end", () => markClosed());
    client.on("close", () => markClosed());
  }

  onClose(listener: (err: Error | undefined) => void): void {
    if (this.closed) listener(undefined);
    else this.#closeListeners.push(listener);
  }

  static open(id: number, options: SessionConnectOptions): Promise<SshSession> {
    const target = `${options.host}:${options.port}`;
    return new Promise((resolve, reject) => {
      const client = new ssh2.Client();
      let check: HostKeyCheck | null = null;
      let settled = false;
      const timeoutMs = Math.max(1, options.deadline - Date.now());
      const fail = (err: RdsError) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        options.signal?.removeEventListener("abort", onAbort);
        client.destroy();
        reject(err);
      };
      const timer = setTimeout(
        () => fail(new RdsError("connection", `SSH handshake with ${target} timed out`, { timedOut: true })),
        timeoutMs,
      );
      const onAbort = () =>
        fail(new RdsError("transient", "cancelled while connecting", { retryable: false }));
      options.signal?.addEventListener("abort", onAbort, { once: true });
      client.once("ready", () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        options.signal?.removeEventListener("abort", onAbort);
        resolve(new SshSession(id, client, check?.presented ?? ""));
      });
      client.on("error", (err) => fail(connectError(err, target, check)));
      client.once("close", () =>
        fail(new RdsError("connection", `${target} closed the connection during the handshake`)),
      );
      const hostVerifier = (key: Buffer): boolean => {
        check = verifyHostKey(options.hostKeyPolicy, options.host, options.port, key);
        return check.ok;
      };
      const config: ConnectConfig = {
        host: options.host,
        port: options.port,
        username: options.loginName,
        privateKey: options.privateKey,
        passphrase: options.passphrase,
        hostVerifier,
        readyTimeout: timeoutMs + 1000,
        // RouterOS answers no keepalive@openssh.com requests (reference §6); liveness is checked with a command.
        keepaliveInterval: 0,
      };
      if (options.signal?.aborted) return onAbort();
      client.connect(config);
    });
  }

  exec(line: string, options: SessionExecOptions): Promise<ExecResult> {
    return new Promise((resolve, reject) => {
      const remaining = options.deadline - Date.now();
      if (this.closed) {
        reject(new RdsError("connection", "the SSH connection is closed", { command: line }));
        return;
      }
      if (remaining <= 0) {
        reject(
          new RdsError("transient", "deadline passed before the command was sent", {
            timedOut: true,
            command: line,
          }),
        );
        return;
      }
      let channel: ClientChannel | null = null;
      let settled = false;
      let exitCode: number | null = null;
      let sawExit = false;
      const stdout: Buffer[] = [];
      const stderr: Buffer[] = [];
      let bytes = 0;
      const unknown = (why: string, timedOut = false) =>
        new RdsError("outcome-unknown", `${why}; the command may or may not have run`, {
          command: line,
          timedOut,
        });
      const finish = (err: RdsError | null) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        options.signal?.removeEventListener("abort", onAbort);
        this.lastActivity = Date.now();
        if (err) {
          channel?.close();
          reject(err);
          return;
        }
        resolve({
          stdout: Buffer.concat(stdout).toString("utf8"),
          stderr: Buffer.concat(stderr).toString("utf8"),
          exitCode,
        });
      };
      const timer = setTimeout(
        () => finish(unknown(`no complete reply within ${remaining} ms`, true)),
        remaining,
      );
      const onAbort = () => finish(unknown("cancelled after the command was sent"));
      options.signal?.addEventListener("abort", onAbort, { once: true });
      const collect = (into: Buffer[]) => (chunk: Buffer) => {
        bytes += chunk.length;
        if (bytes <= options.maxOutputBytes) {
          into.push(chunk);
          return;
        }
        const why = `reply exceeded ${options.maxOutputBytes} bytes`;
        finish(options.mutating ? unknown(why) : new RdsError("protocol", why, { command: line }));
      };
      try {
        this.client.exec(line, (err, ch) => {
          if (err) {
            // A refused channel never carried the command; anything else may have.
            const refused = /channel open failure/i.test(err.message);
            finish(
              refused
                ? new RdsError("connection", `RouterOS refused an exec channel: ${err.message}`, {
                    command: line,
                  })
                : unknown(`exec failed: ${err.message}`),
            );
            return;
          }
          channel = ch;
          if (settled) {
            ch.close();
            return;
          }
          ch.on("data", collect(stdout));
          ch.stderr.on("data", collect(stderr));
          ch.on("exit", (code: unknown) => {
            sawExit = true;
            exitCode = typeof code === "number" ? code : null;
          });
          // ssh2 reports a dropped connection before it closes the channels; decide after it has.
          ch.on("close", () =>
            setImmediate(() =>
              finish(
                sawExit || !this.closed ? null : unknown("the connection dropped before the reply completed"),
              ),
            ),
          );
        });
      } catch (err) {
        finish(
          new RdsError("connection", `cannot open an exec channel: ${(err as Error).message}`, {
            command: line,
          }),
        );
      }
    });
  }

  close(): void {
    this.draining = true;
    this.client.end();
    // end() waits for the server; a hung server must not keep the socket alive.
    setTimeout(() => this.client.destroy(), 2000).unref();
  }
}
