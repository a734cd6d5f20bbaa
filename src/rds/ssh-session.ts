import ssh2, { type Client, type ConnectConfig } from "ssh2";
import { RdsError } from "./errors.js";
import { ExecCall, type ExecCallOptions, type ExecResult } from "./exec-call.js";
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

export type SessionExecOptions = ExecCallOptions;
export type { ExecResult } from "./exec-call.js";

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
      // Every exec is a few small SSH messages each way; with Nagle's algorithm on, each one can
      // wait for the peer's delayed ACK (up to 40 ms on Linux) before it is sent.
      client.setNoDelay(true);
    });
  }

  exec(line: string, options: SessionExecOptions): Promise<ExecResult> {
    if (this.closed) {
      return Promise.reject(new RdsError("connection", "the SSH connection is closed", { command: line }));
    }
    if (options.deadline <= Date.now()) {
      const err = new RdsError("transient", "deadline passed before the command was sent", {
        timedOut: true,
        notSent: true,
        command: line,
      });
      return Promise.reject(err);
    }
    const call = new ExecCall(line, options);
    try {
      this.client.exec(line, (err, channel) => {
        if (!err) {
          call.attach(channel, () => this.closed);
          return;
        }
        // A refused channel never carried the command; anything else may have.
        const refused = /channel open failure/i.test(err.message);
        call.fail(
          refused
            ? new RdsError("connection", `RouterOS refused an exec channel: ${err.message}`, {
                command: line,
              })
            : call.unknown(`exec failed: ${err.message}`),
        );
      });
    } catch (err) {
      const message = `cannot open an exec channel: ${(err as Error).message}`;
      call.fail(new RdsError("connection", message, { command: line }));
    }
    return call.result.finally(() => {
      this.lastActivity = Date.now();
    });
  }

  close(): void {
    this.draining = true;
    this.client.end();
    // end() waits for the server; a hung server must not keep the socket alive.
    setTimeout(() => this.client.destroy(), 2000).unref();
  }
}
