import { invalidInput } from "./errors.js";

/**
 * Backing files are sized in whole mebibytes: a multiple of every sector size a loop device or an
 * NVMe namespace uses (512, 4096), of the Btrfs block size, and a figure RouterOS prints exactly
 * in its human-readable form below a few GiB.
 */
export const FILE_SIZE_GRANULARITY = 1024n * 1024n;

/** Largest file size accepted: 1 EiB, far above any pool, to catch unit mistakes early. */
export const MAX_FILE_SIZE = 1024n ** 6n;

/** `bytes` rounded up to `FILE_SIZE_GRANULARITY`; 0 and negative sizes are refused. */
export function roundUpFileSize(bytes: bigint): bigint {
  if (typeof bytes !== "bigint" || bytes <= 0n)
    throw invalidInput(`file size ${String(bytes)} must be a positive number of bytes`);
  if (bytes > MAX_FILE_SIZE) throw invalidInput(`file size ${bytes} is larger than ${MAX_FILE_SIZE} bytes`);
  const remainder = bytes % FILE_SIZE_GRANULARITY;
  return remainder === 0n ? bytes : bytes + FILE_SIZE_GRANULARITY - remainder;
}
