import { Writable } from "node:stream";
import { pino } from "pino";
import { RdsClient, type RdsClientOptions } from "../../../src/rds/client.js";
import { RdsConnection, type RdsConnectionOptions } from "../../../src/rds/connection.js";
import type { SimFixture } from "../../helpers/sim.js";
import { simConnectionOptions } from "../../helpers/sim-connection.js";

/** Collects pino's JSON lines so tests can assert on what was logged. */
export class LogCapture {
  readonly lines: Array<Record<string, unknown>> = [];
  readonly logger = pino(
    { level: "debug" },
    new Writable({
      write: (chunk: Buffer, _enc, done) => {
        for (const line of chunk.toString("utf8").split("\n"))
          if (line.trim()) this.lines.push(JSON.parse(line));
        done();
      },
    }),
  );
  text(): string {
    return this.lines.map((l) => JSON.stringify(l)).join("\n");
  }
}

/** Connections opened by a test file, closed in afterAll. */
export class Connections {
  readonly #open: RdsConnection[] = [];

  constructor(private readonly sim: () => SimFixture) {}

  /** A connection to the emulator with a pinned host key and quick backoffs. */
  open(overrides: Partial<RdsConnectionOptions> = {}): RdsConnection {
    const sim = this.sim();
    const connection = new RdsConnection(
      simConnectionOptions(sim, { reconnectBackoff: { initialMs: 20, maxMs: 200 }, ...overrides }),
    );
    this.#open.push(connection);
    return connection;
  }

  client(
    options: RdsClientOptions = {},
    overrides: Partial<RdsConnectionOptions> = {},
  ): { client: RdsClient; connection: RdsConnection } {
    const connection = this.open(overrides);
    return {
      connection,
      client: new RdsClient(connection, { retryBackoff: { initialMs: 20, maxMs: 100 }, ...options }),
    };
  }

  closeAll(): void {
    for (const c of this.#open.splice(0)) c.close();
  }
}

/** Polls `check` until it holds or `ms` pass; for conditions that settle asynchronously. */
export async function eventually(check: () => Promise<boolean> | boolean, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error("condition not reached in time");
    await new Promise((r) => setTimeout(r, 25));
  }
}

export const MiB = 1024n * 1024n;
