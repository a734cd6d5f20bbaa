import { protocolError } from "../errors.js";

/**
 * Scalar values as RouterOS prints them. Sizes come in three spellings: plain digits (as-value,
 * JSON, `get`), space-grouped digits (`size=1 099 511 627 776` in print detail) and human binary
 * units (`file-size=1024.0GiB`). Everything is exact integer arithmetic on bigints.
 */

const BINARY_UNITS: Record<string, bigint> = {
  "": 1n,
  B: 1n,
  KiB: 1024n,
  MiB: 1024n ** 2n,
  GiB: 1024n ** 3n,
  TiB: 1024n ** 4n,
  PiB: 1024n ** 5n,
  EiB: 1024n ** 6n,
  // Btrfs filesystem listings use decimal units.
  kB: 1000n,
  KB: 1000n,
  MB: 1000n ** 2n,
  GB: 1000n ** 3n,
  TB: 1000n ** 4n,
  PB: 1000n ** 5n,
};

/** A printed byte count: exact when `min === max`, otherwise the range a rounded figure stands for. */
export interface ByteRange {
  min: bigint;
  max: bigint;
  /** The figure taken at face value (`10.0MiB` → 10 485 760), rounded down to whole bytes. */
  nominal: bigint;
}

const PLAIN = /^\d{1,30}$/;
const GROUPED = /^\d{1,3}( \d{3})+$/;
const HUMAN = /^(\d{1,20})(?:\.(\d{1,6}))?\s?([KMGTPE]i?B|kB|B)?$/;

/** Parses plain or space-grouped digits; null when the text is neither. */
export function parseInteger(text: string): bigint | null {
  const t = text.trim();
  if (PLAIN.test(t)) return BigInt(t);
  if (t.length <= 60 && GROUPED.test(t)) return BigInt(t.replaceAll(" ", ""));
  return null;
}

/**
 * Any printed size as a byte range. `4096.0KiB` → exactly 4 194 304 … 4 194 406 (one decimal of a
 * KiB is ±51.2 bytes); digits alone are exact.
 */
export function parseByteRange(text: string): ByteRange | null {
  const t = text.trim();
  const exact = parseInteger(t);
  if (exact !== null) return { min: exact, max: exact, nominal: exact };
  const m = t.length <= 40 ? HUMAN.exec(t) : null;
  if (!m) return null;
  const unit = BINARY_UNITS[m[3] ?? ""];
  if (unit === undefined) return null;
  const whole = BigInt(m[1]!);
  const fraction = m[2] ?? "";
  const scale = 10n ** BigInt(fraction.length);
  const numerator = (whole * scale + (fraction === "" ? 0n : BigInt(fraction))) * unit;
  if (fraction === "") return { min: whole * unit, max: whole * unit, nominal: whole * unit };
  // The printed figure was rounded to `fraction.length` decimals: it stands for ±half a last digit.
  const half = unit;
  const low = numerator * 2n - half;
  const high = numerator * 2n + half;
  const twoScale = 2n * scale;
  const min = low <= 0n ? 0n : (low + twoScale - 1n) / twoScale;
  const max = high / twoScale;
  return { min, max, nominal: numerator / scale };
}

/** An exact byte count, or null when the text is rounded (e.g. `50.3GiB`) or not a size. */
export function parseExactBytes(text: string): bigint | null {
  const r = parseByteRange(text);
  if (r === null) return null;
  // `50.0GiB` is exact only if the disk really has that many bytes; the caller decides with `size`.
  return r.min === r.max ? r.min : null;
}

export function parseBoolean(text: string): boolean | null {
  switch (text.trim()) {
    case "yes":
    case "true":
      return true;
    case "no":
    case "false":
      return false;
    default:
      return null;
  }
}

const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];

/**
 * RouterOS dates: `2025-11-12 00:36:13` (7.10+), `nov/12/2025 00:36:13` (older), optionally with
 * `T`. RouterOS prints the router's local time without a zone; `utcOffsetMinutes` says what that
 * zone is (0 when the router keeps UTC).
 */
export function parseRouterDate(text: string, utcOffsetMinutes = 0): Date | null {
  const t = text.trim();
  // Listings carry a date per item: the form a RouterOS prints is tried first, the other only then.
  let parts = isoDateParts(t);
  if (!parts) {
    const old = ROUTEROS_DATE.exec(t);
    const month = old ? MONTHS.indexOf(old[1]!.toLowerCase()) + 1 : 0;
    if (old && month > 0)
      parts = [Number(old[3]), month, Number(old[2]), Number(old[4]), Number(old[5]), Number(old[6])];
  }
  if (!parts) return null;
  const [y, mo, d, h, mi, s] = parts;
  const local = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  // Date.UTC rolls 2025-02-31 over to March; refuse instead of inventing a date.
  const roundTrips =
    local.getUTCFullYear() === y &&
    local.getUTCMonth() === mo - 1 &&
    local.getUTCDate() === d &&
    local.getUTCHours() === h &&
    local.getUTCMinutes() === mi &&
    local.getUTCSeconds() === s;
  if (!roundTrips) return null;
  if (utcOffsetMinutes !== 0) local.setTime(local.getTime() - utcOffsetMinutes * 60_000);
  return local;
}

/**
 * `YYYY-MM-DD HH:MM:SS` (or with `T`) read by position, without a regex's match per date: a page
 * of a listing parses hundreds of them.
 */
function isoDateParts(t: string): [number, number, number, number, number, number] | null {
  if (t.length !== 19) return null;
  const separators = t[4] === "-" && t[7] === "-" && t[13] === ":" && t[16] === ":";
  if (!separators || (t[10] !== " " && t[10] !== "T")) return null;
  const parts: [number, number, number, number, number, number] = [
    digitsAt(t, 0, 4),
    digitsAt(t, 5, 2),
    digitsAt(t, 8, 2),
    digitsAt(t, 11, 2),
    digitsAt(t, 14, 2),
    digitsAt(t, 17, 2),
  ];
  return parts.includes(-1) ? null : parts;
}

/** The number written by `count` decimal digits at `from`, or -1 when one is not a digit. */
function digitsAt(t: string, from: number, count: number): number {
  let n = 0;
  for (let i = from; i < from + count; i++) {
    const d = t.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}
const ROUTEROS_DATE = /^([a-z]{3})\/(\d{2})\/(\d{4}) (\d{2}):(\d{2}):(\d{2})$/i;

const SIMPLE_ESCAPES: Record<string, number> = {
  '"': 0x22,
  "\\": 0x5c,
  n: 0x0a,
  r: 0x0d,
  t: 0x09,
  $: 0x24,
  "?": 0x3f,
  _: 0x20,
  a: 0x07,
  b: 0x08,
  f: 0x0c,
  v: 0x0b,
};

/**
 * Decodes the inside of a printed RouterOS string (without the quotes): `\"`, `\\`, `\n`, …, and
 * `\XX` hex bytes, which RouterOS uses for non-ASCII bytes. Bytes are collected and decoded as
 * UTF-8 at the end so multi-byte characters survive being printed byte by byte.
 */
export function decodeQuoted(inner: string): string {
  if (!inner.includes("\\")) return inner;
  const bytes: number[] = [];
  const encoder = new TextEncoder();
  for (let i = 0; i < inner.length; i++) {
    const ch = inner[i]!;
    if (ch !== "\\") {
      const code = inner.codePointAt(i)!;
      if (code < 0x80) bytes.push(code);
      else {
        const width = code > 0xffff ? 2 : 1;
        for (const b of encoder.encode(inner.slice(i, i + width))) bytes.push(b);
        i += width - 1;
      }
      continue;
    }
    const next = inner[i + 1];
    if (next === undefined) throw protocolError("quoted value ends with a lone backslash", inner);
    const simple = SIMPLE_ESCAPES[next];
    if (simple !== undefined) {
      bytes.push(simple);
      i += 1;
      continue;
    }
    const hex = inner.slice(i + 1, i + 3);
    if (/^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(Number.parseInt(hex, 16));
      i += 2;
      continue;
    }
    throw protocolError(`unknown escape \\${next} in a quoted value`, inner);
  }
  return new TextDecoder("utf-8").decode(Uint8Array.from(bytes));
}
