/**
 * Durations as the Kubernetes sidecars and Go programs write them (`time.ParseDuration`): one or
 * more decimal numbers, each with a unit, e.g. `90s`, `1h30m`, `1.5h`, `300ms`. Units are `ns`,
 * `us` (or `µs`), `ms`, `s`, `m` and `h`. A plain number is taken as seconds, as this driver has
 * always accepted (`30` = 30 s); Go would refuse it. Negative durations are refused.
 */

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** One `<number><unit>` term; the units are tried longest first so `ms` is not read as `m`. */
const TERM = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;
const PLAIN_SECONDS = /^(\d+(?:\.\d+)?)$/;

/** Milliseconds (rounded to whole milliseconds), or undefined when `text` is not a duration. */
export function parseDurationMs(text: string): number | undefined {
  const s = text.trim();
  const plain = PLAIN_SECONDS.exec(s);
  if (plain) return Math.round(Number(plain[1]) * 1000);
  if (s === "") return undefined;
  let total = 0;
  TERM.lastIndex = 0;
  while (TERM.lastIndex < s.length) {
    const m = TERM.exec(s);
    if (!m) return undefined;
    total += Number(m[1]) * (UNIT_MS[m[2]!] ?? Number.NaN);
  }
  return Number.isFinite(total) ? Math.round(total) : undefined;
}
