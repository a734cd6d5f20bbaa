import { describe, expect, it } from "vitest";
import { type KeptSnapshot, WalkCache } from "../../../src/csi/controller/walk-cache.js";
import type { SnapshotRecord, SnapshotSubvolume } from "../../../src/storage/index.js";

const snapshot = (id: string, readAt = 0, described = false): KeptSnapshot => {
  const located = { snapshotId: id } as SnapshotSubvolume;
  return described ? { located, record: { snapshotId: id } as SnapshotRecord, readAt } : { located, readAt };
};

/** `n` snapshots `<prefix>0`… (ids sort as the test needs: single digits). */
const slice = (n: number, from = 0, through = 99, prefix = "s") => ({
  items: Array.from({ length: n }, (_, i) => snapshot(`${prefix}${i}`)),
  from,
  through,
});

const ids = (kept: { items: readonly KeptSnapshot[] } | undefined) =>
  kept?.items.map((i) => i.located.snapshotId);

/** A read the test finishes (or fails) when it chooses. */
function pendingRead() {
  let finish: (items: KeptSnapshot[]) => void = () => undefined;
  let fail: (error: Error) => void = () => undefined;
  const promise = new Promise<KeptSnapshot[]>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  return { read: () => promise, finish: (items: KeptSnapshot[]) => finish(items), fail };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

/** A walk keeping `s0` up to position 99, with reads of 100–199 and 200–299 under way. */
function walkReadingTwo() {
  const cache = new WalkCache(10_000, () => 0);
  const walk = cache.put("all", slice(1, 0, 99), cache.generation);
  if (walk === undefined) throw new Error("not kept");
  const first = pendingRead();
  const second = pendingRead();
  cache.readAhead(walk, 199, first.read);
  expect(cache.nextRead(walk)).toEqual({ from: 200, kept: 1 });
  cache.readAhead(walk, 299, second.read);
  return { cache, walk, first, second };
}

describe("WalkCache", () => {
  it("keeps a slice for its time to live, then forgets it", async () => {
    let now = 0;
    const cache = new WalkCache(10_000, () => now);
    const kept = slice(3);
    expect(cache.put("all", kept, cache.generation)).toBeDefined();
    now = 10_000;
    expect(ids(await cache.get("all", "", 5, 1))).toEqual(["s0", "s1", "s2"]);
    now = 10_001;
    expect(await cache.get("all", "", 5, 1)).toBeUndefined();
  });

  it("answers only for positions the slice covers, with what follows the token", async () => {
    const cache = new WalkCache(10_000, () => 0);
    cache.put("all", slice(3, 10, 20), cache.generation);
    expect(await cache.get("all", "", 9, 1)).toBeUndefined();
    expect(ids(await cache.get("all", "s0", 10, 1))).toEqual(["s1", "s2"]);
    expect(await cache.get("all", "", 20, 1)).toBeDefined();
    expect(await cache.get("all", "", 21, 1)).toBeUndefined();
    cache.delete("all");
    expect(await cache.get("all", "", 10, 1)).toBeUndefined();
  });

  it("keeps a bounded number of walks and counts, oldest out first, and clears the walks", async () => {
    const cache = new WalkCache(10_000, () => 0, 2);
    cache.put("a", slice(1), cache.generation);
    cache.put("b", slice(1), cache.generation);
    cache.put("c", slice(1), cache.generation);
    expect(await cache.get("a", "", 0, 1)).toBeUndefined();
    expect(await cache.get("b", "", 0, 1)).toBeDefined();
    expect(await cache.get("c", "", 0, 1)).toBeDefined();
    for (const key of ["a", "b", "c"]) cache.setTotal(key, 7);
    expect(cache.total("a")).toBeUndefined();
    expect(cache.total("c")).toBe(7);
    cache.clear();
    expect(await cache.get("b", "", 0, 1)).toBeUndefined();
    expect(await cache.get("c", "", 0, 1)).toBeUndefined();
  });

  it("uses what a read learnt of an image for a shorter time than the slice itself", async () => {
    let now = 0;
    const cache = new WalkCache(10_000, () => now, 16, 2_000);
    cache.put("all", { items: [snapshot("a", 0, true), snapshot("b", 1_500, true)], from: 0, through: 9 }, 0);
    now = 2_000;
    expect((await cache.get("all", "", 0, 1))?.items.map((i) => i.record !== undefined)).toEqual([
      true,
      true,
    ]);
    now = 2_001;
    const aged = await cache.get("all", "", 0, 1);
    expect(ids(aged)).toEqual(["a", "b"]);
    expect(aged?.items.map((i) => i.record !== undefined)).toEqual([false, true]);
    now = 3_501;
    expect((await cache.get("all", "", 0, 1))?.items.map((i) => i.record !== undefined)).toEqual([
      false,
      false,
    ]);
  });

  it("does not keep what a read begun before a clear found", () => {
    const cache = new WalkCache(10_000, () => 0);
    const before = cache.generation;
    cache.clear();
    expect(cache.put("all", slice(2), before)).toBeUndefined();
    expect(cache.put("all", slice(2), cache.generation)).toBeDefined();
  });

  it("a page answered from what was kept moves the walk on, keeping the rest and the reads under way", async () => {
    const cache = new WalkCache(10_000, () => 0);
    const walk = cache.put("all", slice(4, 0, 99), cache.generation);
    if (walk === undefined) throw new Error("not kept");
    const ahead = pendingRead();
    expect(cache.nextRead(walk)).toEqual({ from: 100, kept: 4 });
    cache.readAhead(walk, 199, ahead.read);
    const kept = await cache.get("all", "", 0, 2);
    expect(ids(kept)).toEqual(["s0", "s1", "s2", "s3"]);
    expect(cache.advance(walk, "s1", 10)).toBe(2);
    ahead.finish([snapshot("t0"), snapshot("t1")]);
    // A page that wants more than is kept waits for the read under way.
    const next = await cache.get("all", "s1", 10, 3);
    expect(ids(next)).toEqual(["s2", "s3", "t0", "t1"]);
    expect(next?.through).toBe(199);
    expect(await cache.get("all", "", 200, 1)).toBeUndefined();
  });

  it("runs two reads at once and adds them in order, whichever answers first", async () => {
    const { cache, walk, first, second } = walkReadingTwo();
    // No third while two are under way.
    expect(cache.nextRead(walk)).toBeUndefined();
    let third = 0;
    cache.readAhead(walk, 399, async () => {
      third++;
      return [];
    });
    expect(third).toBe(0);
    second.finish([snapshot("u0")]);
    await settle();
    expect(ids(await cache.get("all", "", 50, 1))).toEqual(["s0"]);
    first.finish([snapshot("t0")]);
    const kept = await cache.get("all", "", 250, 3);
    expect(ids(kept)).toEqual(["s0", "t0", "u0"]);
    expect(kept?.through).toBe(299);
    expect(cache.nextRead(walk)).toEqual({ from: 300, kept: 3 });
  });

  it("keeps nothing a failed read would have left a gap before, and reads after a failure are not added", async () => {
    const { cache, walk, first, second } = walkReadingTwo();
    second.finish([snapshot("u0")]);
    first.fail(new Error("connection lost"));
    // The page waits for both, finds only what came before the failure, and reads on itself.
    const kept = await cache.get("all", "", 50, 5);
    expect(ids(kept)).toEqual(["s0"]);
    expect(kept?.through).toBe(99);
    expect(await cache.get("all", "", 150, 1)).toBeUndefined();
    expect(cache.nextRead(walk)).toBeUndefined();
  });

  it("drops what reads find after a clear, or after a page replaced the walk's entry", async () => {
    const cache = new WalkCache(10_000, () => 0);
    const walk = cache.put("all", slice(1, 0, 99), cache.generation);
    if (walk === undefined) throw new Error("not kept");
    const cleared = pendingRead();
    cache.readAhead(walk, 199, cleared.read);
    cache.clear();
    const replaced = cache.put("all", slice(1, 0, 99, "n"), cache.generation);
    if (replaced === undefined) throw new Error("not kept");
    cleared.finish([snapshot("late")]);
    await settle();
    expect(ids(await cache.get("all", "", 50, 1))).toEqual(["n0"]);
    expect(await cache.get("all", "", 150, 1)).toBeUndefined();
    // The old walk's handle no longer moves anything on, nor starts reads.
    expect(cache.advance(walk, "s0", 5)).toBeUndefined();
    expect(cache.nextRead(walk)).toBeUndefined();

    const late = pendingRead();
    cache.readAhead(replaced, 199, late.read);
    cache.put("all", slice(1, 0, 99, "m"), cache.generation);
    late.finish([snapshot("late")]);
    await settle();
    expect(ids(await cache.get("all", "", 50, 1))).toEqual(["m0"]);
    expect(await cache.get("all", "", 150, 1)).toBeUndefined();
  });
});
