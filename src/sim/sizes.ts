/** Size and number formatting exactly as RouterOS prints and accepts them. */

const UNITS = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"] as const;
const SUFFIX_SHIFT: Record<string, bigint> = { k: 10n, K: 10n, M: 20n, G: 30n, T: 40n, P: 50n, E: 60n };

/**
 * Parses a size argument: plain bytes or a binary suffix (`1T` = 1 099 511 627 776, `50G`, `512k`).
 * Returns undefined for anything else.
 */
export function parseSize(text: string): bigint | undefined {
  const m = /^(\d+)([kKMGTPE]?)$/.exec(text);
  if (!m) return undefined;
  const base = BigInt(m[1] as string);
  const shift = m[2] ? (SUFFIX_SHIFT[m[2]] as bigint) : 0n;
  return base << shift;
}

/** Parses a plain decimal integer argument. */
export function parseInteger(text: string): bigint | undefined {
  return /^-?\d+$/.test(text) ? BigInt(text) : undefined;
}

/** `1099511627776` → `1 099 511 627 776` (RouterOS groups big numbers with spaces). */
export function groupDigits(value: bigint): string {
  const negative = value < 0n;
  const digits = (negative ? -value : value).toString();
  const groups: string[] = [];
  for (let end = digits.length; end > 0; end -= 3) groups.unshift(digits.slice(Math.max(0, end - 3), end));
  return (negative ? "-" : "") + groups.join(" ");
}

/**
 * Human-readable binary size with one decimal: a value moves to the next unit only once it reaches
 * `threshold` of the current one (so 1 GiB prints as `1024.0MiB`, 5 GiB as `5.0GiB`).
 */
export function formatHumanSize(bytes: bigint, threshold = 4608): string {
  const limit = BigInt(threshold);
  if (bytes < limit) return bytes.toString();
  let unit = 1024n;
  let index = 0;
  while (index < UNITS.length - 1 && bytes / unit >= limit) {
    unit *= 1024n;
    index += 1;
  }
  const tenths = (bytes * 10n + unit / 2n) / unit;
  return `${tenths / 10n}.${tenths % 10n}${UNITS[index]}`;
}

/** RouterOS date-time as printed since 7.10: `2025-11-12 00:36:13` (router local time). */
const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];

/**
 * `2026-12-05 13:28:46` (RouterOS from about 7.10), or with `routeros` the older
 * `dec/05/2026 13:28:46` (setting `creation_time_format`).
 */
export function formatDateTime(date: Date, format: "iso" | "routeros" = "iso"): string {
  const p = (n: number) => n.toString().padStart(2, "0");
  if (format === "routeros") {
    const time = `${p(date.getHours())}:${p(date.getMinutes())}:${p(date.getSeconds())}`;
    return `${MONTHS[date.getMonth()]}/${p(date.getDate())}/${date.getFullYear()} ${time}`;
  }
  return `${date.getFullYear()}-${p(date.getMonth() + 1)}-${p(date.getDate())} ${p(date.getHours())}:${p(
    date.getMinutes(),
  )}:${p(date.getSeconds())}`;
}
