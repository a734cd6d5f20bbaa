import { IMAGE_SIZE_STEP } from "../../storage/index.js";

/**
 * How a capacity_range becomes a volume size. Sizes are exact bigint bytes from the request's int64
 * strings to the RouterOS command and back; nothing passes through a float. Storage takes the
 * chosen size in bytes; only the granularity of an image (`IMAGE_SIZE_STEP`) comes from it.
 */

export const KiB = 1024n;
export const MiB = 1024n * KiB;
export const GiB = 1024n * MiB;

/** Size of a new volume when the request gives no capacity_range. */
export const DEFAULT_VOLUME_SIZE = GiB;

/** Preferred granularity: whole MiB, which every tool prints without fractions. */
const PREFERRED_ALIGNMENT = MiB;
/**
 * Fallback granularity when a whole MiB would pass the limit: the finest size an image can have (a
 * size storage would round past the limit must be refused here instead).
 */
export const MINIMUM_ALIGNMENT = IMAGE_SIZE_STEP;

const INT64_MAX = (1n << 63n) - 1n;

/** A capacity_range in bytes; 0n means "not given", as on the wire. */
export interface ByteRange {
  required: bigint;
  limit: bigint;
}

export type SizeChoice =
  | { ok: true; bytes: bigint }
  | { ok: false; reason: "invalid" | "out-of-range"; message: string };

/** An int64 field as received (a decimal string); undefined when it is not a non-negative integer. */
export function parseByteCount(text: string): bigint | undefined {
  if (!/^\d{1,19}$/.test(text)) return undefined;
  const n = BigInt(text);
  return n <= INT64_MAX ? n : undefined;
}

/** The request's capacity_range as bytes, or a message saying what is wrong with it. */
export function parseRange(
  range: { required_bytes: string; limit_bytes: string } | null,
): ByteRange | { error: string } {
  if (range === null) return { required: 0n, limit: 0n };
  const required = parseByteCount(range.required_bytes || "0");
  const limit = parseByteCount(range.limit_bytes || "0");
  if (required === undefined)
    return { error: `capacity_range.required_bytes ${range.required_bytes} is not valid` };
  if (limit === undefined) return { error: `capacity_range.limit_bytes ${range.limit_bytes} is not valid` };
  return { required, limit };
}

function roundUp(n: bigint, step: bigint): bigint {
  return ((n + step - 1n) / step) * step;
}

function outOfRange(message: string): SizeChoice {
  return { ok: false, reason: "out-of-range", message };
}

/**
 * The size of a new, empty volume: required_bytes (or the default) rounded up to a whole MiB,
 * or to 4 KiB when a whole MiB would pass limit_bytes; never above the limit.
 */
export function newVolumeSize(range: ByteRange, minimumStep = MINIMUM_ALIGNMENT): SizeChoice {
  const { required, limit } = range;
  if (limit > 0n && required > limit) {
    return outOfRange(`required_bytes ${required} is larger than limit_bytes ${limit}`);
  }
  if (required === 0n && limit > 0n && limit < DEFAULT_VOLUME_SIZE) return largestWithin(limit, minimumStep);
  return alignedWithin(required > 0n ? required : DEFAULT_VOLUME_SIZE, limit, minimumStep);
}

/** Only a limit below the default was given: the biggest aligned size under it. */
function largestWithin(limit: bigint, minimumStep: bigint): SizeChoice {
  for (const step of [PREFERRED_ALIGNMENT, minimumStep]) {
    const bytes = (limit / step) * step;
    if (bytes > 0n) return { ok: true, bytes };
  }
  return outOfRange(`limit_bytes ${limit} is smaller than the smallest volume (${minimumStep} bytes)`);
}

function alignedWithin(wanted: bigint, limit: bigint, minimumStep: bigint): SizeChoice {
  const preferred = roundUp(wanted, PREFERRED_ALIGNMENT);
  if (limit === 0n || preferred <= limit) return { ok: true, bytes: preferred };
  const minimal = roundUp(wanted, minimumStep);
  if (minimal <= limit) return { ok: true, bytes: minimal };
  return outOfRange(
    `no size between ${wanted} and limit_bytes ${limit} is a multiple of ${minimumStep} bytes ` +
      `(the smallest would be ${minimal})`,
  );
}

/**
 * The size of a volume made from an existing image (a snapshot's or a volume's `disk.img` of
 * `sourceBytes`). It can grow but never shrink; with no request it keeps the source's size.
 */
export function sizeFromSource(
  range: ByteRange,
  sourceBytes: bigint,
  what: string,
  minimumStep = MINIMUM_ALIGNMENT,
): SizeChoice {
  const { required, limit } = range;
  if (limit > 0n && required > limit) {
    return outOfRange(`required_bytes ${required} is larger than limit_bytes ${limit}`);
  }
  if (required > 0n && required < sourceBytes) {
    return outOfRange(`required_bytes ${required} is smaller than the ${what}'s size ${sourceBytes}`);
  }
  if (limit > 0n && limit < sourceBytes) {
    return outOfRange(`limit_bytes ${limit} is smaller than the ${what}'s size ${sourceBytes}`);
  }
  if (required <= sourceBytes) return { ok: true, bytes: sourceBytes };
  return alignedWithin(required, limit, minimumStep);
}

/** Whether an existing volume of `bytes` satisfies a capacity_range (idempotent CreateVolume). */
export function fitsRange(bytes: bigint, range: ByteRange): boolean {
  return bytes >= range.required && (range.limit === 0n || bytes <= range.limit);
}

/**
 * The size to grow a volume to. A volume already at or above the request stays as it is
 * (expansion never shrinks); a volume above limit_bytes cannot satisfy the request.
 */
export function expandedSize(
  range: ByteRange,
  currentBytes: bigint,
  minimumStep = MINIMUM_ALIGNMENT,
): SizeChoice {
  const { required, limit } = range;
  if (required === 0n && limit === 0n)
    return { ok: false, reason: "invalid", message: "capacity_range is required" };
  if (limit > 0n && required > limit) {
    return outOfRange(`required_bytes ${required} is larger than limit_bytes ${limit}`);
  }
  if (limit > 0n && currentBytes > limit) {
    return outOfRange(
      `the volume is already ${currentBytes} bytes, above limit_bytes ${limit}; volumes cannot shrink`,
    );
  }
  if (required <= currentBytes) return { ok: true, bytes: currentBytes };
  return alignedWithin(required, limit, minimumStep);
}
