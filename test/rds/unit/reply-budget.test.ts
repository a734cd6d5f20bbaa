import { EventEmitter } from "node:events";
import type { ClientChannel } from "ssh2";
import { describe, expect, it } from "vitest";
import { isRdsError, RdsError } from "../../../src/rds/errors.js";
import { ExecCall } from "../../../src/rds/exec-call.js";
import { ReplyBudget } from "../../../src/rds/reply-budget.js";

/** A stand-in for an ssh2 exec channel: the test decides when data, exit and close arrive. */
function fakeChannel() {
  const channel = new EventEmitter() as EventEmitter & {
    stderr: EventEmitter;
    close(): void;
    closed: boolean;
  };
  channel.stderr = new EventEmitter();
  channel.closed = false;
  channel.close = () => {
    channel.closed = true;
  };
  return channel;
}

function call(line: string, budget: ReplyBudget, options: { mutating?: boolean; max?: number } = {}) {
  const channel = fakeChannel();
  const exec = new ExecCall(line, {
    deadline: Date.now() + 60_000,
    mutating: options.mutating ?? false,
    maxOutputBytes: options.max ?? 1000,
    budget,
  });
  exec.attach(channel as unknown as ClientChannel, () => false);
  const finish = () => {
    channel.emit("exit", 0);
    channel.emit("close");
  };
  return { exec, channel, finish };
}

async function failure(p: Promise<unknown>): Promise<RdsError> {
  try {
    await p;
  } catch (err) {
    if (isRdsError(err)) return err;
    throw err;
  }
  throw new Error("expected a failure");
}

describe("ExecCall reply limits", () => {
  it("a read over the per-reply limit fails as too-large, not retryable, and its channel is closed", async () => {
    const budget = new ReplyBudget(10_000);
    const { exec, channel } = call("LIST /file", budget);
    channel.emit("data", Buffer.alloc(600));
    channel.emit("data", Buffer.alloc(600));
    const err = await failure(exec.result);
    expect(err.kind).toBe("too-large");
    expect(err.retryable).toBe(false);
    expect(err.message).toMatch(/exceeded 1000 bytes/);
    expect(channel.closed).toBe(true);
    expect(budget.held).toBe(0);
  });

  it("a change over the per-reply limit is outcome-unknown (it did run)", async () => {
    const { exec, channel } = call("/disk add", new ReplyBudget(10_000), { mutating: true });
    channel.emit("data", Buffer.alloc(1001));
    expect((await failure(exec.result)).kind).toBe("outcome-unknown");
  });

  it("replies in flight together never hold more than the budget; the one that would pass it fails transient", async () => {
    const budget = new ReplyBudget(1500);
    const a = call("LIST a", budget);
    const b = call("LIST b", budget);
    const c = call("LIST c", budget);
    a.channel.emit("data", Buffer.alloc(700));
    b.channel.emit("data", Buffer.alloc(700));
    expect(budget.held).toBe(1400);
    c.channel.emit("data", Buffer.alloc(200));
    const err = await failure(c.exec.result);
    expect(err.kind).toBe("transient");
    expect(err.retryable).toBe(true);
    expect(err.message).toMatch(/more than 1500 bytes together/);
    expect(budget.held).toBe(1400);
    a.channel.emit("data", Buffer.from("ok\r\n"));
    a.finish();
    expect((await a.exec.result).stdout.length).toBe(704);
    expect(budget.held).toBe(700);
    b.finish();
    await b.exec.result;
    expect(budget.held).toBe(0);
    expect(budget.peak).toBeLessThanOrEqual(1500);
    expect(budget.peak).toBe(1404);
  });

  it("a change whose reply would pass the budget is outcome-unknown", async () => {
    const budget = new ReplyBudget(1000);
    const a = call("LIST a", budget);
    a.channel.emit("data", Buffer.alloc(900));
    const m = call("/disk set", budget, { mutating: true });
    m.channel.emit("data", Buffer.alloc(200));
    const err = await failure(m.exec.result);
    expect(err).toBeInstanceOf(RdsError);
    expect(err.kind).toBe("outcome-unknown");
  });
});
