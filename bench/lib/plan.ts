/** How many times each benchmark repeats: a full run (committed reports) and a quick smoke run. */
export interface Plan {
  mode: "full" | "quick";
  /** Sparse Btrfs image of the emulator; only the data written takes host disk space. */
  poolSize: string;
  floorRuns: number;
  transportRuns: number;
  replayRuns: number;
  btrfsRuns: number;
  sizeRounds: number;
  concurrencyRounds: number;
  /** ListSnapshots runs at each snapshot count, smallest first (the pool grows from one to the next). */
  listing: readonly ListingStep[];
  /**
   * CreateSnapshot + DeleteSnapshot pairs timed on the listing volumes with none present and again at
   * each snapshot count: the same number each time, so the scale target compares like with like.
   */
  scaleOpsRuns: number;
}

export interface ListingStep {
  snapshots: number;
  firstPage: number;
  walk: number;
  oneCall: number;
  /** A page-by-page walk expected to take longer than this is sampled (ms). */
  walkBudgetMs: number;
}

export const plans: Record<Plan["mode"], Plan> = {
  full: {
    mode: "full",
    poolSize: "2T",
    floorRuns: 60,
    transportRuns: 50,
    replayRuns: 20,
    btrfsRuns: 10,
    sizeRounds: 10,
    concurrencyRounds: 2,
    listing: [
      { snapshots: 1000, firstPage: 10, walk: 3, oneCall: 5, walkBudgetMs: 60_000 },
      { snapshots: 10_000, firstPage: 5, walk: 1, oneCall: 3, walkBudgetMs: 60_000 },
    ],
    scaleOpsRuns: 7,
  },
  quick: {
    mode: "quick",
    poolSize: "2T",
    floorRuns: 20,
    transportRuns: 10,
    replayRuns: 5,
    btrfsRuns: 3,
    sizeRounds: 2,
    concurrencyRounds: 1,
    listing: [
      { snapshots: 100, firstPage: 3, walk: 1, oneCall: 2, walkBudgetMs: 20_000 },
      { snapshots: 500, firstPage: 3, walk: 1, oneCall: 2, walkBudgetMs: 20_000 },
    ],
    scaleOpsRuns: 3,
  },
};
