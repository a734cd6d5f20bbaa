/**
 * Many commands at once over few SSH channels, against `rds-csi sim` over real SSH: the wait for a
 * channel is bounded on its own and never turns into an unknown outcome. Every command either
 * gets its whole command timeout from the moment it is sent, or fails as not sent — and then the
 * emulator never received it. Held commands come from the emulator's `delay` rule, so the
 * figures below are lower bounds of what each command takes: a busy machine only makes the
 * queue longer, which these assertions allow.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { RdsConnection } from "../../../src/rds/connection.js";
import { isRdsError, type RdsError } from "../../../src/rds/errors.js";
import { type SimFixture, startSim } from "../../helpers/sim.js";
import { Connections } from "./support.js";

let sim: SimFixture;
const connections = new Connections(() => sim);

beforeAll(async () => {
  sim = await startSim({ size: "512M" });
});
afterAll(async () => {
  connections.closeAll();
  await sim?.stop();
});
afterEach(async () => {
  connections.closeAll();
  await sim.control.clearFaults();
});

type Outcome = { line: string; ok: true } | { line: string; ok: false; error: RdsError };

/** Sends every line at once as a change; each one's result or typed error. */
async function sendAll(
  connection: RdsConnection,
  lines: string[],
  deadline?: () => number | undefined,
): Promise<Outcome[]> {
  return Promise.all(
    lines.map(async (line): Promise<Outcome> => {
      try {
        const reply = await connection.exec(line, { mutating: true, deadline: deadline?.() });
        expect(reply.stdout.trim()).toBe(line.slice(":put ".length));
        return { line, ok: true };
      } catch (err) {
        if (!isRdsError(err)) throw err;
        return { line, ok: false, error: err };
      }
    }),
  );
}

/** How many times the emulator received each line since `since`. */
async function received(since: number, lines: string[]): Promise<Map<string, number>> {
  const counts = new Map(lines.map((l) => [l, 0]));
  for (const entry of await sim.control.commands(since)) {
    const n = counts.get(entry.line);
    if (n !== undefined) counts.set(entry.line, n + 1);
  }
  return counts;
}

async function lastSeq(): Promise<number> {
  return (await sim.control.commands()).at(-1)?.seq ?? 0;
}

/** A connection already connected, so that no handshake runs inside what a test measures. */
async function warm(connection: RdsConnection): Promise<RdsConnection> {
  await connection.exec(":put 1", { mutating: false });
  return connection;
}

describe("waiting for a channel", () => {
  it("does not count against the command timeout: a queue longer than it still all succeeds", async () => {
    // One channel, each command held at least 400 ms: the twelfth waits at least 4.4 s, past the
    // 3 s command timeout that once covered the wait as well.
    await sim.control.addFault({ match: "^:put chw-queue-", action: "delay", ms: 400 });
    const connection = await warm(connections.open({ maxChannels: 1, commandTimeoutMs: 3000 }));
    const lines = Array.from({ length: 12 }, (_, i) => `:put chw-queue-${i}`);
    const since = await lastSeq();
    const outcomes = await sendAll(connection, lines);
    expect(outcomes.filter((o) => !o.ok).map((o) => !o.ok && o.error.message)).toEqual([]);
    expect([...(await received(since, lines)).values()]).toEqual(lines.map(() => 1));
  });

  it("with a deadline: every change is answered or not sent, never of unknown outcome", async () => {
    // 40 changes, one channel, each held at least 300 ms, all due in 12 s, and a change is sent
    // only with 5 s left: at most about 23 can start in time, the rest must fail as not sent.
    await sim.control.addFault({ match: "^:put chw-deadline-", action: "delay", ms: 300 });
    const connection = await warm(
      connections.open({ maxChannels: 1, minChangeWindowMs: 5000, commandTimeoutMs: 30_000 }),
    );
    const lines = Array.from({ length: 40 }, (_, i) => `:put chw-deadline-${i}`);
    const since = await lastSeq();
    const due = Date.now() + 12_000;
    const outcomes = await sendAll(connection, lines, () => due);
    const counts = await received(since, lines);
    for (const outcome of outcomes) {
      if (outcome.ok) {
        expect(counts.get(outcome.line), outcome.line).toBe(1);
        continue;
      }
      const { error } = outcome;
      expect(error.kind, `${outcome.line}: ${error.message}`).toBe("transient");
      expect(error).toMatchObject({ notSent: true, timedOut: true, retryable: true });
      expect(error.message).toMatch(/^not sent: .*nothing reached the RDS, so retrying is safe$/);
      expect(counts.get(outcome.line), `${outcome.line} was sent`).toBe(0);
    }
    expect(outcomes.filter((o) => o.ok).length).toBeGreaterThan(0);
    expect(outcomes.filter((o) => !o.ok).length).toBeGreaterThanOrEqual(40 - 23);
    // Earliest deadline first, equal deadlines in arrival order: what was answered is a prefix.
    const firstFailed = outcomes.findIndex((o) => !o.ok);
    expect(outcomes.slice(firstFailed).every((o) => !o.ok)).toBe(true);
  });

  it("without a deadline: bounded by channelWaitTimeoutMs, and giving up sends nothing", async () => {
    await sim.control.addFault({ match: "^:put chw-nodeadline-", action: "delay", ms: 400 });
    const connection = await warm(connections.open({ maxChannels: 1, channelWaitTimeoutMs: 500 }));
    const lines = Array.from({ length: 6 }, (_, i) => `:put chw-nodeadline-${i}`);
    const since = await lastSeq();
    const outcomes = await sendAll(connection, lines);
    const counts = await received(since, lines);
    // The first takes the free channel; from the third on each waits at least 800 ms.
    expect(outcomes[0]).toMatchObject({ ok: true });
    for (const outcome of outcomes.slice(2)) {
      expect(outcome.ok).toBe(false);
      if (outcome.ok) continue;
      expect(outcome.error).toMatchObject({ kind: "transient", notSent: true, retryable: true });
      expect(outcome.error.message).toMatch(
        /no SSH channel became free \(waited 500 ms, the channel wait timeout/,
      );
    }
    for (const outcome of outcomes) expect(counts.get(outcome.line)).toBe(outcome.ok ? 1 : 0);
  });

  it("a change whose deadline leaves less than the window is refused before it queues", async () => {
    const connection = await warm(connections.open({ minChangeWindowMs: 2000 }));
    const since = await lastSeq();
    const err = await connection.exec(":put chw-short", { mutating: true, deadline: Date.now() + 1500 }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ kind: "transient", notSent: true, timedOut: true });
    expect((err as Error).message).toMatch(/too little time before the deadline.*at least 2000 ms left/);
    // A read with the same deadline is worth sending: it is only retried if cut short.
    expect(
      (await connection.exec(":put chw-short-read", { mutating: false, deadline: Date.now() + 1500 })).stdout,
    ).toBe("chw-short-read\r\n");
    expect([...(await received(since, [":put chw-short", ":put chw-short-read"])).values()]).toEqual([0, 1]);
  });
});
