import net from "node:net";
import { broken, notReady } from "./errors.js";

/**
 * The loop transport's `nvme connect`: asks the emulator's NVMe target stand-in (src/sim/target.ts)
 * whether this host may connect to a volume, as a real target decides on connect. A refusal is
 * FAILED_PRECONDITION: the volume is not published to this node (ControllerPublishVolume first).
 */
export interface LoopConnect {
  socketPath: string;
  hostNqn: string;
  subsystem?: string | undefined;
  file: string;
  signal?: AbortSignal | undefined;
}

const ANSWER_TIMEOUT_MS = 10_000;

export async function connectThroughTarget(request: LoopConnect): Promise<void> {
  const line = JSON.stringify({
    op: "connect",
    host: request.hostNqn,
    ...(request.subsystem !== undefined ? { subsystem: request.subsystem } : { file: request.file }),
  });
  const reply = await ask(request.socketPath, line, request.signal);
  if (reply.ok !== true) {
    throw broken(`the emulator's NVMe target refused the request: ${String(reply.error)}`);
  }
  if (reply.admitted !== true) {
    throw notReady(
      `the RDS refused host ${request.hostNqn}: ${String(reply.reason)}; ` +
        "the volume is not published to this node",
    );
  }
}

/** Whether the target still counts this host as connected to the image `file`. */
export async function connectedThroughTarget(request: Omit<LoopConnect, "subsystem">): Promise<boolean> {
  const line = JSON.stringify({ op: "status", host: request.hostNqn, file: request.file });
  const reply = await ask(request.socketPath, line, request.signal);
  if (reply.ok !== true)
    throw broken(`the emulator's NVMe target refused the request: ${String(reply.error)}`);
  return reply.connected === true;
}

function ask(socketPath: string, line: string, signal?: AbortSignal): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const socket = net.createConnection(socketPath);
    let buffer = "";
    const fail = (why: string) => {
      socket.destroy();
      reject(broken(`the emulator's NVMe target at ${socketPath} did not answer: ${why}`));
    };
    const timer = setTimeout(() => fail(`no answer in ${ANSWER_TIMEOUT_MS} ms`), ANSWER_TIMEOUT_MS);
    const onAbort = () => fail("the call was cancelled");
    signal?.addEventListener("abort", onAbort, { once: true });
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    };
    socket.setEncoding("utf8");
    socket.on("connect", () => socket.write(`${line}\n`));
    socket.on("error", (err) => {
      done();
      fail(err.message);
    });
    socket.on("data", (chunk: string) => {
      buffer += chunk;
      const nl = buffer.indexOf("\n");
      if (nl < 0) return;
      done();
      socket.end();
      try {
        resolve(JSON.parse(buffer.slice(0, nl)) as Record<string, unknown>);
      } catch {
        reject(broken(`the emulator's NVMe target answered ${buffer.slice(0, 200)}`));
      }
    });
  });
}
