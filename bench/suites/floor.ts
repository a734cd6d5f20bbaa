import { readFileSync } from "node:fs";
import ssh2 from "ssh2";
import { RdsConnection } from "../../src/rds/index.js";
import type { BenchStack } from "../lib/bench-stack.js";
import { timeIt } from "../lib/measure.js";

/**
 * The floor: one SSH exec round trip of `/system identity print` on a connection that is already
 * open and warm — through RdsConnection (the driver's real path), through a bare ssh2 client, and
 * inside the emulator without SSH at all (its share of the floor).
 */

export interface FloorSamples {
  rdsConnection: number[];
  bareSsh2: number[];
  emulatorOnly: number[];
}

const LINE = "/system identity print";
const WARMUP = 5;

function bareClient(stack: BenchStack): Promise<ssh2.Client> {
  return new Promise((resolve, reject) => {
    const client = new ssh2.Client();
    client
      .on("ready", () => resolve(client))
      .on("error", reject)
      .connect({
        host: "127.0.0.1",
        port: stack.local.simPort,
        username: "admin",
        privateKey: readFileSync(stack.local.privateKeyPath),
        readyTimeout: 20_000,
      });
  });
}

function bareExec(client: ssh2.Client, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    client.exec(line, (err, stream) => {
      if (err) return reject(err);
      const out: Buffer[] = [];
      stream.on("data", (b: Buffer) => out.push(b));
      stream.stderr.on("data", () => {});
      stream.on("close", () => resolve(Buffer.concat(out).toString("utf8")));
    });
  });
}

export async function measureFloor(stack: BenchStack, runs: number): Promise<FloorSamples> {
  const connection = new RdsConnection({
    host: "127.0.0.1",
    port: stack.local.simPort,
    username: "admin",
    privateKey: { path: stack.local.privateKeyPath },
    hostKey: { fingerprint: stack.local.hostKeyFingerprint },
    keepaliveIntervalMs: 0,
  });
  const client = await bareClient(stack);
  const samples: FloorSamples = { rdsConnection: [], bareSsh2: [], emulatorOnly: [] };
  try {
    const rds = () => connection.exec(LINE, { mutating: false });
    const bare = () => bareExec(client, LINE);
    const inside = () => stack.control.exec(LINE);
    for (let i = 0; i < WARMUP; i++) await Promise.all([rds(), bare(), inside()]);
    // Interleaved, so a burst of load on the shared machine touches all three alike.
    for (let i = 0; i < runs; i++) {
      samples.rdsConnection.push(await timeIt(rds));
      samples.bareSsh2.push(await timeIt(bare));
      samples.emulatorOnly.push(await timeIt(inside));
    }
  } finally {
    connection.close();
    client.end();
  }
  await stack.control.clearCommands();
  return samples;
}

/**
 * The same SSH exec against a minimal ssh2 server in this process that answers at once, with and
 * without TCP_NODELAY on each side: what the transport costs when no RouterOS work is done, and
 * how much of it is Nagle's algorithm meeting delayed ACKs.
 */
export interface TransportReference {
  clientNoDelay: boolean;
  serverNoDelay: boolean;
  samples: number[];
}

/** ssh2 now and then generates an ed25519 key it cannot parse back (about 1 in 400); draw again. */
function parsableKey(): string {
  for (;;) {
    const key = ssh2.utils.generateKeyPairSync("ed25519").private;
    if (!(ssh2.utils.parseKey(key) instanceof Error)) return key;
  }
}

export async function measureTransportReference(runs: number): Promise<TransportReference[]> {
  const hostKey = parsableKey();
  const out: TransportReference[] = [];
  for (const serverNoDelay of [false, true]) {
    const server = new ssh2.Server({ hostKeys: [hostKey] }, (connection) => {
      // ssh2's typings omit Connection.setNoDelay, which it has (lib/server.js).
      if (serverNoDelay) (connection as unknown as { setNoDelay(on: boolean): void }).setNoDelay(true);
      connection
        .on("authentication", (ctx) => ctx.accept())
        .on("session", (accept) => {
          accept().on("exec", (acceptExec) => {
            const stream = acceptExec();
            stream.write("  name: RDS\r\n");
            stream.exit(0);
            stream.end();
          });
        });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
    const port = (server.address() as { port: number }).port;
    try {
      for (const clientNoDelay of [false, true]) {
        const client = await new Promise<ssh2.Client>((resolve, reject) => {
          const c = new ssh2.Client();
          c.on("ready", () => resolve(c))
            .on("error", reject)
            .connect({ host: "127.0.0.1", port, username: "admin", password: "x" });
        });
        if (clientNoDelay) client.setNoDelay(true);
        const samples: number[] = [];
        for (let i = 0; i < WARMUP; i++) await bareExec(client, LINE);
        for (let i = 0; i < runs; i++) samples.push(await timeIt(() => bareExec(client, LINE)));
        client.end();
        out.push({ clientNoDelay, serverNoDelay, samples });
      }
    } finally {
      server.close();
    }
  }
  return out;
}

/** One read command timed over SSH (RdsConnection) and inside the emulator alone. */
export interface CommandReplay {
  line: string;
  overSsh: number[];
  emulatorOnly: number[];
  replyBytes: number;
}

/**
 * Replays read commands (listings; never changes) both ways, to split each one's time between
 * the transport and the emulator's work.
 */
export async function replayReads(
  stack: BenchStack,
  lines: readonly string[],
  runs: number,
): Promise<CommandReplay[]> {
  const connection = new RdsConnection({
    host: "127.0.0.1",
    port: stack.local.simPort,
    username: "admin",
    privateKey: { path: stack.local.privateKeyPath },
    hostKey: { fingerprint: stack.local.hostKeyFingerprint },
    keepaliveIntervalMs: 0,
    loginOptions: "cet512w",
  });
  const out: CommandReplay[] = [];
  try {
    for (const line of lines) {
      const reply = await connection.exec(line, { mutating: false });
      const replay: CommandReplay = {
        line,
        overSsh: [],
        emulatorOnly: [],
        replyBytes: Buffer.byteLength(reply.stdout),
      };
      for (let i = 0; i < runs; i++) {
        replay.overSsh.push(await timeIt(() => connection.exec(line, { mutating: false })));
        replay.emulatorOnly.push(await timeIt(() => stack.control.exec(line)));
      }
      out.push(replay);
    }
  } finally {
    connection.close();
  }
  await stack.control.clearCommands();
  return out;
}
