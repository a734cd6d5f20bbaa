import { describe, expect, it } from "vitest";
import {
  decodeQuoted,
  parseBoolean,
  parseByteRange,
  parseExactBytes,
  parseInteger,
  parseRouterDate,
} from "../../../src/rds/parse/values.js";
import { FILE_SIZE_GRANULARITY, roundUpFileSize } from "../../../src/rds/sizes.js";
import { parseRouterOsVersion, supports } from "../../../src/rds/version.js";

const GiB = 1024n ** 3n;

describe("sizes", () => {
  it("reads plain and grouped integers exactly", () => {
    expect(parseInteger("16003143565312")).toBe(16_003_143_565_312n);
    expect(parseInteger("1 099 511 627 776")).toBe(1_099_511_627_776n);
    expect(parseInteger("99 511 627 776")).toBe(99_511_627_776n);
    expect(parseInteger("1 99")).toBeNull();
    expect(parseInteger("1,099")).toBeNull();
  });

  it("reads human sizes as the range the rounded figure stands for", () => {
    expect(parseByteRange("1024.0GiB")).toEqual({
      min: 1024n * GiB - GiB / 20n,
      max: 1024n * GiB + GiB / 20n,
      nominal: 1024n * GiB,
    });
    expect(parseByteRange("4307.7KiB")).toMatchObject({ nominal: 4_411_084n });
    expect(parseByteRange("512")).toEqual({ min: 512n, max: 512n, nominal: 512n });
    expect(parseByteRange("40.8GB")).toMatchObject({ nominal: 40_800_000_000n });
    expect(parseByteRange("lots")).toBeNull();
    expect(parseExactBytes("50.0GiB")).toBeNull();
    expect(parseExactBytes("53 687 091 200")).toBe(50n * GiB);
  });

  it("rounds file sizes up to whole MiB and refuses nonsense", () => {
    expect(roundUpFileSize(1n)).toBe(FILE_SIZE_GRANULARITY);
    expect(roundUpFileSize(GiB)).toBe(GiB);
    expect(roundUpFileSize(GiB + 1n)).toBe(GiB + FILE_SIZE_GRANULARITY);
    expect(() => roundUpFileSize(0n)).toThrowError(expect.objectContaining({ kind: "invalid-input" }));
    expect(() => roundUpFileSize(-5n)).toThrowError(expect.objectContaining({ kind: "invalid-input" }));
    expect(() => roundUpFileSize(2n ** 70n)).toThrowError(expect.objectContaining({ kind: "invalid-input" }));
  });
});

describe("scalars", () => {
  it("reads booleans in print and script spellings", () => {
    expect([parseBoolean("yes"), parseBoolean("true"), parseBoolean("no"), parseBoolean("false")]).toEqual([
      true,
      true,
      false,
      false,
    ]);
    expect(parseBoolean("maybe")).toBeNull();
  });

  it("reads both date spellings, honouring the router's zone, and refuses impossible dates", () => {
    expect(parseRouterDate("2025-11-12 00:36:13")).toEqual(new Date("2025-11-12T00:36:13Z"));
    expect(parseRouterDate("nov/12/2025 00:36:13")).toEqual(new Date("2025-11-12T00:36:13Z"));
    expect(parseRouterDate("2025-11-12 02:36:13", 120)).toEqual(new Date("2025-11-12T00:36:13Z"));
    expect(parseRouterDate("2025-02-31 00:00:00")).toBeNull();
    expect(parseRouterDate("2025-01-01 24:00:00")).toBeNull();
    expect(parseRouterDate("yesterday")).toBeNull();
  });

  it("decodes RouterOS string escapes including hex bytes of UTF-8", () => {
    expect(decodeQuoted('a\\"b\\\\c\\$d\\?e')).toBe('a"b\\c$d?e');
    expect(decodeQuoted("\\C5\\BEluva")).toBe("žluva");
    expect(decodeQuoted("é\\_x")).toBe("é x");
    expect(() => decodeQuoted("bad\\q")).toThrowError(expect.objectContaining({ kind: "protocol" }));
  });
});

describe("RouterOS versions", () => {
  it("reads releases, pre-releases and channels", () => {
    expect(parseRouterOsVersion("7.22 (stable)\r\n")).toMatchObject({
      major: 7,
      minor: 22,
      patch: 0,
      channel: "stable",
    });
    expect(parseRouterOsVersion("7.24rc2 (testing)")).toMatchObject({ minor: 24, prerelease: "rc2" });
    expect(parseRouterOsVersion("7.12.2")).toMatchObject({ minor: 12, patch: 2, channel: null });
    expect(() => parseRouterOsVersion("bad command name version")).toThrowError(
      expect.objectContaining({ kind: "protocol" }),
    );
  });

  it("gates features by the version that introduced them", () => {
    expect(supports(parseRouterOsVersion("7.12.2"), "serializeJson")).toBe(false);
    expect(supports(parseRouterOsVersion("7.13"), "serializeJson")).toBe(true);
    expect(supports(parseRouterOsVersion("7.18beta2"), "btrfsSubvolumes")).toBe(true);
    expect(supports(parseRouterOsVersion("7.20.8 (stable)"), "nvmeServerNqn")).toBe(false);
  });
});
