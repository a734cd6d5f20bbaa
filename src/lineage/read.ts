import type { CallOptions, Storage } from "../storage/index.js";
import { buildLineage, type KubernetesNames } from "./build.js";
import type { Lineage } from "./model.js";

/**
 * Reads the lineage from the RDS: the six listings of the driver's root (`/disk` items, volume
 * and snapshot subvolumes, the files under both, the recorded VolumeSnapshot names), however many
 * objects there are. Never changes anything.
 */
export async function readLineage(
  storage: Storage,
  call: CallOptions,
  kubernetes?: () => Promise<KubernetesNames>,
): Promise<Lineage> {
  const listings = await storage.readListings({ kind: "all" }, call);
  return buildLineage({
    layout: storage.layout,
    listings,
    generatedAt: new Date(),
    ...(kubernetes ? { kubernetes: await kubernetes() } : {}),
  });
}

/**
 * The page's source: at most one read of the RDS at a time, and a result reused for `maxAgeMs`, so
 * reloading the page in a loop costs at most one set of listings per period.
 */
export function cachedLineage(read: () => Promise<Lineage>, maxAgeMs: number): () => Promise<Lineage> {
  let last: { at: number; lineage: Lineage } | undefined;
  let running: Promise<Lineage> | undefined;
  return () => {
    if (last !== undefined && Date.now() - last.at < maxAgeMs) return Promise.resolve(last.lineage);
    running ??= read()
      .then((lineage) => {
        last = { at: Date.now(), lineage };
        return lineage;
      })
      .finally(() => {
        running = undefined;
      });
    return running;
  };
}
