import { describe, expect, it } from "vitest";
import { type KeptSnapshot, WalkCache } from "../../../src/csi/controller/walk-cache.js";
import type { SnapshotRecord, SnapshotSubvolume } from "../../../src/storage/index.js";

const snapshot = (id: string, readAt = 0, described = false): KeptSnapshot => {
  const located = { snapshotId: id } as SnapshotSubvolume;
  return described ? { located, record: { snapshotId: id } as SnapshotRecord, readAt } : { located, readAt };
};

const slice = (n: number, from = 0, through = 99, prefix = "s") => ({
  items: Array.from({ length: n }, (_, i) => snapshot(`${prefix}${i}`)),
  from,
  through,
});

/** A read the test finishes (or fails) when it chooses. */
function pendingRead() {
  let finish: (items: KeptSnapshot[], through: number) => void = () => undefined;
  let fail: (error: Error) => void = () => undefined;
  const promise = new Promise<{ items: KeptSnapshot[]; through: number }>((resolve, reject) => {
    finish = (items, through) => resolve({ items, through });
    fail = reject;
  });
  return {
    read: () => promise,
    finish: (items: KeptSnapshot[], through: number) => finish(items, through),
    fail,
  };
}

describe("WalkCache", () => {
  it("keeps a slice for its time to live, then forgets it", async () => {
    let now = 0;
    const cache = new WalkCache(10_000, () => now);
    const kept = slice(3);
    expect(cache.put("all", kept, cache.generation)).toBe(true);
    now = 10_000;
    expect((await cache.get("all", 5))?.items).toEqual(kept.items);
    now = 10_001;
    expect(await cache.get("all", 5)).toBeUndefined();
  });

  it("answers only for positions the slice covers", async () => {
    const cache = new WalkCache(10_000, () => 0);
    cache.put("all", slice(3, 10, 20), cache.generation);
    expect(await cache.get("all", 9)).toBeUndefined();
    expect(await cache.get("all", 10)).toBeDefined();
    expect(await cache.get("all", 20)).toBeDefined();
    expect(await cache.get("all", 21)).toBeUndefined();
    cache.delete("all");
    expect(await cache.get("all", 10)).toBeUndefined();
  });

  it("keeps a bounded number of walks and counts, oldest out first, and clears the walks", async () => {
    const cache = new WalkCache(10_000, () => 0, 2);
    cache.put("a", slice(1), cache.generation);
    cache.put("b", slice(1), cache.generation);
    cache.put("c", slice(1), cache.generation);
    expect(await cache.get("a", 0)).toBeUndefined();
    expect(await cache.get("b", 0)).toBeDefined();
    expect(await cache.get("c", 0)).toBeDefined();
    for (const key of ["a", "b", "c"]) cache.setTotal(key, 7);
    expect(cache.total("a")).toBeUndefined();
    expect(cache.total("c")).toBe(7);
    cache.clear();
    expect(await cache.get("b", 0)).toBeUndefined();
    expect(await cache.get("c", 0)).toBeUndefined();
  });

  it("uses what a read learnt of an image for a shorter time than the slice itself", async () => {
    let now = 0;
    const cache = new WalkCache(10_000, () => now, 16, 2_000);
    cache.put("all", { items: [snapshot("a", 0, true), snapshot("b", 1_500, true)], from: 0, through: 9 }, 0);
    now = 2_000;
    expect((await cache.get("all", 0))?.items.map((i) => i.record !== undefined)).toEqual([true, true]);
    now = 2_001;
    const aged = await cache.get("all", 0);
    expect(aged?.items.map((i) => i.located.snapshotId)).toEqual(["a", "b"]);
    expect(aged?.items.map((i) => i.record !== undefined)).toEqual([false, true]);
    now = 3_501;
    expect((await cache.get("all", 0))?.items.map((i) => i.record !== undefined)).toEqual([false, false]);
  });

  it("does not keep what a read begun before a clear found", () => {
    const cache = new WalkCache(10_000, () => 0);
    const before = cache.generation;
    cache.clear();
    expect(cache.put("all", slice(2), before)).toBe(false);
    expect(cache.put("all", slice(2), cache.generation)).toBe(true);
  });

  it("adds a read-ahead to the slice, and a page waits for one under way", async () => {
    const cache = new WalkCache(10_000, () => 0);
    cache.put("all", slice(2, 0, 99), cache.generation);
    const ahead = pendingRead();
    cache.readAhead("all", ahead.read);
    // One read at a time per walk: a second is not started while the first is under way.
    let second = 0;
    cache.readAhead("all", async () => {
      second++;
      return { items: [], through: 200 };
    });
    expect(second).toBe(0);
    const got = cache.get("all", 150);
    ahead.finish([snapshot("t0"), snapshot("t1")], 199);
    const kept = await got;
    expect(kept?.items.map((i) => i.located.snapshotId)).toEqual(["s0", "s1", "t0", "t1"]);
    expect(kept?.through).toBe(199);
    expect(await cache.get("all", 200)).toBeUndefined();
  });

  it("drops a read-ahead that finishes after a clear, or after the walk moved on, or that failed", async () => {
    const cache = new WalkCache(10_000, () => 0);
    cache.put("all", slice(1, 0, 99), cache.generation);
    const cleared = pendingRead();
    cache.readAhead("all", cleared.read);
    cache.clear();
    cache.put("all", slice(1, 0, 99, "n"), cache.generation);
    cleared.finish([snapshot("late")], 199);
    await new Promise((resolve) => setImmediate(resolve));
    expect((await cache.get("all", 50))?.items.map((i) => i.located.snapshotId)).toEqual(["n0"]);
    expect(await cache.get("all", 150)).toBeUndefined();

    const replaced = pendingRead();
    cache.readAhead("all", replaced.read);
    cache.put("all", slice(1, 0, 99, "m"), cache.generation);
    replaced.finish([snapshot("late")], 199);
    await new Promise((resolve) => setImmediate(resolve));
    expect((await cache.get("all", 50))?.items.map((i) => i.located.snapshotId)).toEqual(["m0"]);

    const failed = pendingRead();
    cache.readAhead("all", failed.read);
    failed.fail(new Error("connection lost"));
    expect((await cache.get("all", 50))?.items.map((i) => i.located.snapshotId)).toEqual(["m0"]);
    expect(await cache.get("all", 150)).toBeUndefined();
    // Once a read has ended, the next can start.
    cache.readAhead("all", async () => ({ items: [snapshot("x")], through: 150 }));
    expect((await cache.get("all", 150))?.items.map((i) => i.located.snapshotId)).toEqual(["m0", "x"]);
  });
});
