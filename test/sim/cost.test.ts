import { describe, expect, it } from "vitest";
import { CostModel } from "../../src/sim/cost.js";
import { defaultSettings, mergeSettings } from "../../src/sim/settings.js";

const settings = (patch: Record<string, unknown>) => mergeSettings(defaultSettings(), patch);

describe("the emulator's cost model", () => {
  it("is off by default", () => {
    const model = new CostModel();
    for (let i = 0; i < 500; i++) expect(model.delayFor(defaultSettings(), 1000)).toBe(0);
  });

  it("adds a fixed latency to every command", () => {
    const model = new CostModel();
    expect(model.delayFor(settings({ cost_command_latency_ms: 7 }), 0)).toBe(7);
  });

  it("lets a burst through fast, then one request per slow interval over all sessions", () => {
    const model = new CostModel();
    const s = settings({ cost_throttle_burst: 150, cost_throttle_fast_ms: 1, cost_throttle_slow_ms: 20 });
    const waits = Array.from({ length: 153 }, () => model.delayFor(s, 0));
    expect(waits.slice(0, 150).every((w) => w === 1)).toBe(true);
    // Requests arriving at once past the burst queue up 20 ms apart.
    expect(waits.slice(150)).toEqual([20, 40, 60]);
    // 60 ms later the debt is paid: the next request waits one interval, not four.
    expect(model.delayFor(s, 60)).toBe(20);
    // After a long pause the burst is back.
    expect(model.delayFor(s, 60 + 150 * 20 + 20)).toBe(1);
  });
});
