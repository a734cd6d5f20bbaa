import { describe, expect, it } from "vitest";
import { WalkCache } from "../../../src/csi/controller/walk-cache.js";
import type { SnapshotSubvolume } from "../../../src/storage/index.js";

const slice = (n: number, from = 0, through = 99) => ({
  items: Array.from({ length: n }, (_, i) => ({ snapshotId: `s${i}` }) as SnapshotSubvolume),
  from,
  through,
});

describe("WalkCache", () => {
  it("keeps a slice for its time to live, then forgets it", () => {
    let now = 0;
    const cache = new WalkCache(10_000, () => now);
    const kept = slice(3);
    cache.put("all", kept);
    now = 10_000;
    expect(cache.get("all", 5)?.items).toBe(kept.items);
    now = 10_001;
    expect(cache.get("all", 5)).toBeUndefined();
  });

  it("answers only for positions the slice covers", () => {
    const cache = new WalkCache(10_000, () => 0);
    cache.put("all", slice(3, 10, 20));
    expect(cache.get("all", 9)).toBeUndefined();
    expect(cache.get("all", 10)).toBeDefined();
    expect(cache.get("all", 20)).toBeDefined();
    expect(cache.get("all", 21)).toBeUndefined();
    cache.delete("all");
    expect(cache.get("all", 10)).toBeUndefined();
  });

  it("keeps a bounded number of walks and counts, oldest out first, and clears the walks", () => {
    const cache = new WalkCache(10_000, () => 0, 2);
    cache.put("a", slice(1));
    cache.put("b", slice(1));
    cache.put("c", slice(1));
    expect(cache.get("a", 0)).toBeUndefined();
    expect(cache.get("b", 0)).toBeDefined();
    expect(cache.get("c", 0)).toBeDefined();
    for (const key of ["a", "b", "c"]) cache.setTotal(key, 7);
    expect(cache.total("a")).toBeUndefined();
    expect(cache.total("c")).toBe(7);
    cache.clear();
    expect(cache.get("b", 0)).toBeUndefined();
    expect(cache.get("c", 0)).toBeUndefined();
  });
});
