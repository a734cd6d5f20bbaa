import { describe, expect, it } from "vitest";
import { WalkCache } from "../../../src/csi/controller/walk-cache.js";
import type { SnapshotSubvolume } from "../../../src/storage/index.js";

const listing = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ snapshotId: `s${i}` }) as SnapshotSubvolume);

describe("WalkCache", () => {
  it("keeps a listing for its time to live, then forgets it", () => {
    let now = 0;
    const cache = new WalkCache(10_000, () => now);
    const items = listing(3);
    cache.put("all", items);
    now = 10_000;
    expect(cache.get("all")).toBe(items);
    now = 10_001;
    expect(cache.get("all")).toBeUndefined();
  });

  it("keeps a bounded number of walks, oldest out first, and clears them all", () => {
    const cache = new WalkCache(10_000, () => 0, 2);
    cache.put("a", listing(1));
    cache.put("b", listing(1));
    cache.put("c", listing(1));
    expect(cache.get("a")).toBeUndefined();
    expect(cache.get("b")).toBeDefined();
    expect(cache.get("c")).toBeDefined();
    cache.clear();
    expect(cache.get("b")).toBeUndefined();
    expect(cache.get("c")).toBeUndefined();
  });
});
