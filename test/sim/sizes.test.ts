import { describe, expect, it } from "vitest";
import { formatHumanSize, groupDigits, parseSize } from "../../src/sim/sizes.js";

const GiB = 1024n ** 3n;

describe("size arguments", () => {
  it.each([
    ["1T", 1099511627776n],
    ["50G", 53687091200n],
    ["512", 512n],
    ["64M", 64n * 1024n * 1024n],
    ["4k", 4096n],
  ])("%s is %s bytes", (text, bytes) => {
    expect(parseSize(text)).toBe(bytes);
  });

  it.each(["", "1.5G", "G", "-1", "1 G", "10X", "1GiB"])("%j is not a size", (text) => {
    expect(parseSize(text)).toBeUndefined();
  });
});

describe("printed numbers", () => {
  it("groups digits with spaces", () => {
    expect(groupDigits(1099511627776n)).toBe("1 099 511 627 776");
    expect(groupDigits(512n)).toBe("512");
    expect(groupDigits(1000n)).toBe("1 000");
    expect(groupDigits(0n)).toBe("0");
  });

  it.each([
    [GiB, "1024.0MiB"],
    [4n * GiB, "4096.0MiB"],
    [5n * GiB, "5.0GiB"],
    [50n * GiB, "50.0GiB"],
    [1024n * GiB, "1024.0GiB"],
    [4096n * 1024n, "4096.0KiB"],
    [4411085n, "4307.7KiB"],
    [5138022n, "4.9MiB"],
    [4607n, "4607"],
    [0n, "0"],
  ])("%s bytes print as %s", (bytes, text) => {
    expect(formatHumanSize(bytes)).toBe(text);
  });

  it("promotes at the configured threshold", () => {
    expect(formatHumanSize(4608n * 1024n * 1024n)).toBe("4.5GiB");
    expect(formatHumanSize(4608n * 1024n * 1024n, 5000)).toBe("4608.0MiB");
  });
});
