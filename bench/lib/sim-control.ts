import net from "node:net";

/**
 * The few operations of the emulator's control socket (`<data dir>/control.sock`, JSON lines; see
 * src/sim/README.md) the benchmarks need: the log of exec lines received over SSH, to count the
 * round trips of each CSI call, and `exec`, to time the emulator's own work without SSH.
 */

export interface CommandEntry {
  seq: number;
  line: string;
  outcome: "ok" | "error" | "fault";
}

function request(socketPath: string, body: Record<string, unknown>): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const socket = net.createConnection(socketPath);
    const chunks: string[] = [];
    socket.setEncoding("utf8");
    socket.on("connect", () => socket.write(`${JSON.stringify(body)}\n`));
    socket.on("data", (chunk: string) => {
      chunks.push(chunk);
      if (!chunk.includes("\n")) return;
      socket.end();
      const text = chunks.join("");
      const reply = JSON.parse(text.slice(0, text.indexOf("\n"))) as Record<string, unknown>;
      if (reply.ok === true) resolve(reply);
      else reject(new Error(`emulator control ${String(body.op)}: ${String(reply.error)}`));
    });
    socket.on("error", reject);
  });
}

export class SimControl {
  constructor(private readonly socketPath: string) {}

  /** Exec lines received over SSH after sequence number `since`, oldest first. */
  async commands(since = 0): Promise<CommandEntry[]> {
    const reply = await request(this.socketPath, { op: "commands", since });
    return (reply.entries as Array<CommandEntry & { output?: string }>).map(({ seq, line, outcome }) => ({
      seq,
      line,
      outcome,
    }));
  }

  /** Forgets logged commands (their outputs would otherwise pile up in the emulator's memory). */
  async clearCommands(): Promise<void> {
    await request(this.socketPath, { op: "clearLogs", which: "commands" });
  }

  /** Makes the emulator forget its cached Btrfs listing (after changes made behind its back). */
  async refresh(): Promise<void> {
    await request(this.socketPath, { op: "refresh" });
  }

  /** Changes emulator settings at runtime (e.g. the cost model). */
  async setSettings(settings: Record<string, unknown>): Promise<void> {
    await request(this.socketPath, { op: "setSettings", settings });
  }

  /** Runs a line inside the emulator, bypassing SSH; returns its output. */
  async exec(line: string): Promise<string> {
    const reply = await request(this.socketPath, { op: "exec", line, width: 512 });
    if (reply.error) throw new Error(`emulator exec ${line}: ${String(reply.error)}`);
    return String(reply.output ?? "");
  }
}
