/**
 * Combinations of emulator settings that hold every pair of values of every two settings at least
 * once (pairwise testing): the driver meets each value of each setting, and each next to each
 * value of every other setting, in a handful of runs instead of the full product. Deterministic:
 * the same factors always give the same combinations.
 */
export type Factors = Readonly<Record<string, readonly unknown[]>>;
export type Combination = Record<string, unknown>;

/** A pair of values of two settings as a key, `i:a|j:b` with i < j (indexes of settings and values). */
const pairKey = (i: number, a: number, j: number, b: number) =>
  i < j ? `${i}:${a}|${j}:${b}` : `${j}:${b}|${i}:${a}`;

/**
 * Greedy construction in the style of AETG with a fixed seed: each new combination is the best of
 * a few candidates, each started from an uncovered pair and completed setting by setting (in a
 * shuffled order) with the value covering the most uncovered pairs; it stops when no pair is left.
 */
export function pairwise(
  factors: Factors,
  excluded: readonly Combination[] = [],
  candidates = 40,
): Combination[] {
  const names = Object.keys(factors);
  const sizes = names.map((n) => (factors[n] as readonly unknown[]).length);
  const valueAt = (k: number, v: number) => (factors[names[k] as string] as readonly unknown[])[v];
  // A choice (some settings still -1) is refused when it holds every value of an excluded pairing.
  const refused = (choice: readonly number[]) =>
    excluded.some((ex) =>
      Object.entries(ex).every(([n, v]) => {
        const k = names.indexOf(n);
        return k >= 0 && (choice[k] as number) >= 0 && valueAt(k, choice[k] as number) === v;
      }),
    );
  const uncovered = new Set<string>();
  for (let i = 0; i < names.length; i++)
    for (let j = i + 1; j < names.length; j++)
      for (let a = 0; a < (sizes[i] as number); a++)
        for (let b = 0; b < (sizes[j] as number); b++) {
          const pair = sizes.map((_, k) => (k === i ? a : k === j ? b : -1));
          if (!refused(pair)) uncovered.add(pairKey(i, a, j, b));
        }
  const random = seeded(0x5eed);
  const gainOf = (choice: readonly number[]) => {
    let gain = 0;
    for (let m = 0; m < choice.length; m++)
      for (let n = m + 1; n < choice.length; n++)
        if (uncovered.has(pairKey(m, choice[m] as number, n, choice[n] as number))) gain++;
    return gain;
  };
  const out: Combination[] = [];
  while (uncovered.size > 0) {
    const pairs = [...uncovered];
    let best: number[] = [];
    let bestGain = -1;
    for (let c = 0; c < candidates; c++) {
      const start = pairs[Math.floor(random() * pairs.length)] as string;
      const [i, a, j, b] = start.split(/[:|]/).map(Number) as [number, number, number, number];
      const choice: number[] = sizes.map(() => -1);
      choice[i] = a;
      choice[j] = b;
      const order = names.map((_, k) => k).sort(() => random() - 0.5);
      for (const k of order) {
        if ((choice[k] as number) >= 0) continue;
        let value = 0;
        let valueGain = -1;
        for (let v = 0; v < (sizes[k] as number); v++) {
          choice[k] = v;
          if (refused(choice)) continue;
          let gain = 0;
          choice.forEach((other, m) => {
            if (m !== k && other >= 0 && uncovered.has(pairKey(m, other, k, v))) gain++;
          });
          if (gain > valueGain) {
            valueGain = gain;
            value = v;
          }
        }
        choice[k] = value;
      }
      const gain = gainOf(choice);
      if (gain > bestGain) {
        bestGain = gain;
        best = choice;
      }
    }
    for (let m = 0; m < names.length; m++)
      for (let n = m + 1; n < names.length; n++)
        uncovered.delete(pairKey(m, best[m] as number, n, best[n] as number));
    out.push(
      Object.fromEntries(names.map((n, k) => [n, (factors[n] as readonly unknown[])[best[k] as number]])),
    );
  }
  return out;
}

/** A small deterministic generator (mulberry32). */
function seeded(seed: number): () => number {
  let t = seed >>> 0;
  return () => {
    t = (t + 0x6d2b79f5) >>> 0;
    let r = Math.imul(t ^ (t >>> 15), 1 | t);
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
  };
}

/** The pairs of values of `factors` that none of `combinations` holds (empty when pairwise-complete). */
export function missingPairs(
  factors: Factors,
  combinations: readonly Combination[],
  excluded: readonly Combination[] = [],
): string[] {
  const names = Object.keys(factors);
  const missing: string[] = [];
  names.forEach((x, i) => {
    for (const y of names.slice(i + 1))
      for (const a of factors[x] as readonly unknown[])
        for (const b of factors[y] as readonly unknown[])
          if (
            !combinations.some((c) => c[x] === a && c[y] === b) &&
            !excluded.some((ex) => Object.keys(ex).length === 2 && ex[x] === a && ex[y] === b)
          )
            missing.push(`${x}=${JSON.stringify(a)} with ${y}=${JSON.stringify(b)}`);
  });
  return missing;
}
