import { rmSync } from "node:fs";
import net from "node:net";

/** One control request: `{"op": "...", ...}`; the reply is `{"ok": true, ...}` or `{"ok": false, "error"}`. */
export type ControlRequest = { readonly op: string } & Record<string, unknown>;
export type ControlHandler = (request: ControlRequest) => Promise<Record<string, unknown>>;

/**
 * The local test and fault-injection channel: a unix socket speaking JSON lines. It is never reachable
 * over the network and the driver never uses it.
 */
export class ControlServer {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();

  constructor(
    readonly socketPath: string,
    private readonly handler: ControlHandler,
  ) {
    this.server = net.createServer((socket) => this.onSocket(socket));
  }

  listen(): Promise<void> {
    rmSync(this.socketPath, { force: true });
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(this.socketPath, () => {
        this.server.off("error", reject);
        resolve();
      });
    });
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    await closed;
    rmSync(this.socketPath, { force: true });
  }

  private onSocket(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.on("close", () => this.sockets.delete(socket));
    socket.on("error", () => undefined);
    let buffer = "";
    let queue = Promise.resolve();
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      buffer += chunk;
      for (let nl = buffer.indexOf("\n"); nl >= 0; nl = buffer.indexOf("\n")) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        if (line.trim() === "") continue;
        queue = queue.then(() => this.answer(socket, line));
      }
    });
  }

  private async answer(socket: net.Socket, line: string): Promise<void> {
    let reply: Record<string, unknown>;
    try {
      const request = JSON.parse(line) as unknown;
      if (
        typeof request !== "object" ||
        request === null ||
        typeof (request as { op?: unknown }).op !== "string"
      ) {
        throw new Error('a request is a JSON object with an "op" string');
      }
      reply = { ok: true, ...(await this.handler(request as ControlRequest)) };
    } catch (e) {
      reply = { ok: false, error: e instanceof Error ? e.message : String(e) };
    }
    if (!socket.destroyed)
      socket.write(`${JSON.stringify(reply, (_k, v) => (typeof v === "bigint" ? v.toString() : v))}\n`);
  }
}
