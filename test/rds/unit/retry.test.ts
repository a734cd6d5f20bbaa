import { describe, expect, it } from "vitest";
import { backoffDelay } from "../../../src/rds/backoff.js";
import { RdsError, type RdsErrorKind } from "../../../src/rds/errors.js";
import { shouldRetry, withRetries } from "../../../src/rds/retry.js";
import { Semaphore } from "../../../src/rds/semaphore.js";

const fast = { initialMs: 1, maxMs: 4 };

describe("retry policy", () => {
  const table: Array<[RdsErrorKind, boolean, boolean]> = [
    ["transient", false, true],
    ["transient", true, true],
    ["connection", true, true],
    ["outcome-unknown", false, true],
    ["outcome-unknown", true, false],
    ["not-found", false, false],
    ["already-exists", true, false],
    ["no-space", true, false],
    ["invalid-input", false, false],
    ["protocol", false, false],
  ];
  it.each(table)("%s (mutating=%s) → retry %s", (kind, mutating, expected) => {
    expect(shouldRetry(new RdsError(kind, "x"), mutating)).toBe(expected);
  });

  it("does not retry errors marked permanent, nor foreign errors", () => {
    expect(shouldRetry(new RdsError("connection", "auth", { retryable: false }), false)).toBe(false);
    expect(shouldRetry(new Error("boom"), false)).toBe(false);
  });

  it("retries until success within the attempt limit", async () => {
    let calls = 0;
    const result = await withRetries(
      async () => {
        calls++;
        if (calls < 3) throw new RdsError("transient", "busy");
        return "ok";
      },
      { mutating: true, deadline: Date.now() + 10_000, backoff: fast },
    );
    expect(result).toBe("ok");
    expect(calls).toBe(3);
  });

  it("never re-sends a change whose outcome is unknown", async () => {
    let calls = 0;
    const run = withRetries(
      async () => {
        calls++;
        throw new RdsError("outcome-unknown", "dropped");
      },
      { mutating: true, deadline: Date.now() + 10_000, backoff: fast },
    );
    await expect(run).rejects.toMatchObject({ kind: "outcome-unknown" });
    expect(calls).toBe(1);
  });

  it("gives up after maxAttempts and when the next attempt would miss the deadline", async () => {
    let calls = 0;
    const failing = async () => {
      calls++;
      throw new RdsError("connection", "refused");
    };
    await expect(
      withRetries(failing, { mutating: false, deadline: Date.now() + 10_000, backoff: fast, maxAttempts: 3 }),
    ).rejects.toMatchObject({ kind: "connection" });
    expect(calls).toBe(3);
    calls = 0;
    await expect(
      withRetries(failing, {
        mutating: false,
        deadline: Date.now() + 50,
        backoff: { initialMs: 1000, maxMs: 1000 },
      }),
    ).rejects.toMatchObject({ kind: "connection" });
    expect(calls).toBe(1);
  });

  it("reports the original failure when a retry finds no time left to send", async () => {
    let calls = 0;
    const run = withRetries(
      async () => {
        calls++;
        if (calls === 1) throw new RdsError("outcome-unknown", "no reply in time", { timedOut: true });
        throw new RdsError("transient", "deadline passed before the command was sent", { timedOut: true });
      },
      { mutating: false, deadline: Date.now() + 10_000, backoff: fast },
    );
    await expect(run).rejects.toMatchObject({ kind: "outcome-unknown", message: "no reply in time" });
    expect(calls).toBe(2);
  });

  it("backs off exponentially with jitter between half and all of the step, capped", () => {
    const at = (attempt: number, r: number) =>
      backoffDelay(attempt, { initialMs: 100, maxMs: 1000, random: () => r });
    expect([at(1, 0), at(1, 0.999)]).toEqual([50, 100]);
    expect([at(3, 0), at(3, 0.999)]).toEqual([200, 400]);
    expect(at(10, 0.999)).toBe(1000);
  });
});

describe("Semaphore", () => {
  it("grants in order and releases to waiters", async () => {
    const s = new Semaphore(2);
    await s.acquire(Date.now() + 1000);
    await s.acquire(Date.now() + 1000);
    expect(s.tryAcquire()).toBe(false);
    const order: number[] = [];
    const a = s.acquire(Date.now() + 1000).then(() => order.push(1));
    const b = s.acquire(Date.now() + 1000).then(() => order.push(2));
    expect(s.waiting).toBe(2);
    s.release();
    s.release();
    await Promise.all([a, b]);
    expect(order).toEqual([1, 2]);
    expect(s.inUse).toBe(2);
  });

  it("gives up at the deadline and on abort without taking a permit", async () => {
    const s = new Semaphore(1);
    await s.acquire(Date.now() + 1000);
    await expect(s.acquire(Date.now() + 20)).rejects.toMatchObject({ kind: "transient", timedOut: true });
    const controller = new AbortController();
    const waiting = s.acquire(Date.now() + 10_000, controller.signal);
    controller.abort();
    await expect(waiting).rejects.toMatchObject({ kind: "transient", retryable: false });
    expect(s.waiting).toBe(0);
    s.release();
    expect(s.inUse).toBe(0);
  });
});
