import { describe, expect, it } from "vitest";
import { backoffDelay } from "../../../src/rds/backoff.js";
import { RdsError, type RdsErrorKind } from "../../../src/rds/errors.js";
import { shouldRetry, withRetries } from "../../../src/rds/retry.js";
import { Semaphore } from "../../../src/rds/semaphore.js";
import { SendWindow } from "../../../src/rds/send-window.js";

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

  it("grants by order (earliest deadline first), equal orders in arrival order", async () => {
    const s = new Semaphore(1);
    await s.acquire(Date.now() + 10_000);
    const granted: string[] = [];
    const wait = (name: string, order: number) =>
      s.acquire(Date.now() + 10_000, undefined, { order }).then(() => {
        granted.push(name);
        s.release();
      });
    // A later call's first command, then an earlier call's second command, then a tie.
    const all = [wait("late-1", 300), wait("early-2", 100), wait("late-2", 300), wait("middle", 200)];
    expect(s.waiting).toBe(4);
    // Nobody overtakes a waiter through tryAcquire, even with a permit about to be free.
    expect(s.tryAcquire()).toBe(false);
    s.release();
    await Promise.all(all);
    expect(granted).toEqual(["early-2", "middle", "late-1", "late-2"]);
    expect(s.inUse).toBe(0);
  });

  it("a waiter that gives up leaves the others in their order", async () => {
    const s = new Semaphore(1);
    await s.acquire(Date.now() + 10_000);
    const granted: number[] = [];
    const controller = new AbortController();
    const a = s.acquire(Date.now() + 10_000, undefined, { order: 1 }).then(() => granted.push(1));
    const b = s.acquire(Date.now() + 10_000, controller.signal, { order: 2 });
    const c = s.acquire(Date.now() + 10_000, undefined, { order: 3 }).then(() => granted.push(3));
    controller.abort();
    await expect(b).rejects.toMatchObject({ kind: "transient", retryable: false });
    s.release();
    await a;
    s.release();
    await c;
    expect(granted).toEqual([1, 3]);
  });

  it("reports its own timeout error when given one", async () => {
    const s = new Semaphore(1);
    await s.acquire(Date.now() + 1000);
    const own = new RdsError("transient", "not sent: no channel", { timedOut: true });
    await expect(s.acquire(Date.now() + 10, undefined, { timeoutError: () => own })).rejects.toBe(own);
    expect(s.waiting).toBe(0);
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

describe("SendWindow", () => {
  it("asks the floor before any round trip, and at most the command timeout", () => {
    const w = new SendWindow(2000, 30_000);
    expect(w.required()).toBe(2000);
    expect(w.requiredForRead()).toBe(0);
    w.observe(100_000);
    expect(w.required()).toBe(30_000);
    expect(w.requiredForRead()).toBe(30_000);
  });

  it("follows slow round trips up and fast ones back down", () => {
    const w = new SendWindow(2000, 30_000);
    for (let i = 0; i < 20; i++) w.observe(50);
    expect(w.required()).toBe(2000);
    expect(w.requiredForRead()).toBe(100);
    w.observe(4050);
    // The average moved by a quarter of the difference: 50 + 1000.
    expect(w.averageMs).toBe(1050);
    expect(w.required()).toBe(4200);
    expect(w.requiredForRead()).toBe(2100);
    for (let i = 0; i < 40; i++) w.observe(50);
    expect(w.required()).toBe(2000);
  });
});
