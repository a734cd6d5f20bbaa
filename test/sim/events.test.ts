import { describe, expect, it } from "vitest";
import { EventLog } from "../../src/sim/events.js";

const base = { user: "admin", line: "/x", ran: true, outcome: "ok" as const };

describe("the emulator's command log is bounded", () => {
  it("keeps a tail of entries and counts the ones it dropped", () => {
    const log = new EventLog({ entries: 3, outputBytes: 1_000_000, perOutput: 1000 });
    for (let i = 0; i < 5; i++) log.command({ ...base, line: `/x ${i}` }, `${i}\r\n`);
    expect(log.commands.map((e) => e.line)).toEqual(["/x 2", "/x 3", "/x 4"]);
    expect(log.commands.map((e) => e.seq)).toEqual([3, 4, 5]);
    expect(log.counters()).toEqual({ commands: 5, ok: 5, error: 0, fault: 0, outputBytes: 15, dropped: 2 });
  });

  it("cuts a long reply in its entry, keeps its full length, and drops old entries past the byte bound", () => {
    const log = new EventLog({ entries: 100, outputBytes: 250, perOutput: 100 });
    log.command({ ...base, line: "/big" }, "é".repeat(200));
    const [big] = log.commands;
    expect(big?.outputBytes).toBe(400);
    expect(big?.output.endsWith("…")).toBe(true);
    expect(Buffer.byteLength(big?.output ?? "", "utf8")).toBeLessThanOrEqual(100 + 3);
    expect(big?.output.startsWith("é".repeat(50))).toBe(true);
    for (let i = 0; i < 5; i++) log.command({ ...base, outcome: "error", error: "no" }, "x".repeat(80));
    // 6 entries of 50–80 characters: only the newest fit in 250.
    expect(log.commands.length).toBe(3);
    expect(log.commands.every((e) => e.line === "/x")).toBe(true);
    expect(log.counters()).toMatchObject({ commands: 6, ok: 1, error: 5, outputBytes: 800, dropped: 3 });
  });

  it("always keeps the newest entry, and a clear resets entries and counters", () => {
    const log = new EventLog({ entries: 10, outputBytes: 10, perOutput: 100 });
    log.command(base, "y".repeat(50));
    expect(log.commands.length).toBe(1);
    log.clear("commands");
    expect(log.commands).toEqual([]);
    expect(log.counters().commands).toBe(0);
    log.command(base, "z");
    expect(log.commands[0]?.seq).toBe(2);
  });
});
