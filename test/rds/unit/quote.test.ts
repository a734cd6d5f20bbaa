import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isRdsError } from "../../../src/rds/errors.js";
import { decodeQuoted } from "../../../src/rds/parse/values.js";
import {
  quoteString,
  validatedPath,
  validateId,
  validateNqn,
  validatePath,
  validatePathPrefix,
  validatePort,
  validateText,
} from "../../../src/rds/quote.js";

function refused(fn: () => unknown): boolean {
  try {
    fn();
    return false;
  } catch (err) {
    return isRdsError(err, "invalid-input");
  }
}

/**
 * An independent reading of a quoted RouterOS string: checks that every character RouterOS treats
 * specially inside quotes is escaped, and returns the decoded text.
 */
function readQuoted(quoted: string): string {
  if (!quoted.startsWith('"') || !quoted.endsWith('"') || quoted.length < 2)
    throw new Error(`not quoted: ${quoted}`);
  const inner = quoted.slice(1, -1);
  let out = "";
  for (let i = 0; i < inner.length; i++) {
    const ch = inner[i]!;
    if (ch === "\\") {
      const next = inner[i + 1];
      if (next !== "\\" && next !== '"' && next !== "$" && next !== "?")
        throw new Error(`bad escape at ${i}`);
      out += next;
      i++;
      continue;
    }
    if (ch === '"' || ch === "$" || ch === "?") throw new Error(`unescaped ${ch} at ${i}`);
    out += ch;
  }
  return out;
}

describe("quoteString", () => {
  it.each([
    ["plain", '"plain"'],
    ["", '""'],
    ["a b", '"a b"'],
    ['say "hi"', '"say \\"hi\\""'],
    ["C:\\dir", '"C:\\\\dir"'],
    ["$[/system reboot]", '"\\$[/system reboot]"'],
    ["$(1+1)", '"\\$(1+1)"'],
    ["what?", '"what\\?"'],
    ["a;b", '"a;b"'],
    ["/pool/x.img", '"/pool/x.img"'],
    ["žluťoučký kůň", '"žluťoučký kůň"'],
  ])("quotes %j as %s", (input, expected) => {
    expect(quoteString(input)).toBe(expected);
  });

  it.each(["a\nb", "a\rb", "tab\there", "nul\u0000", "del\u007f", "c1\u0085", "\u001b[31m"])(
    "refuses control characters in %j",
    (input) => {
      expect(refused(() => quoteString(input))).toBe(true);
    },
  );

  it("refuses unpaired surrogates and oversize text", () => {
    expect(refused(() => quoteString("\ud800x"))).toBe(true);
    expect(refused(() => quoteString("x".repeat(5000)))).toBe(true);
  });

  it("property: any string is refused or quoted so that it decodes back exactly", () => {
    const hostile = fc.oneof(
      fc.string({ unit: "binary", maxLength: 200 }),
      fc.string({
        unit: fc.constantFrom(
          "$",
          "[",
          "]",
          "(",
          ")",
          '"',
          "\\",
          "?",
          ";",
          "'",
          "`",
          "{",
          "}",
          "#",
          " ",
          "a",
          "/",
          ":",
          "=",
        ),
        maxLength: 60,
      }),
      fc.string({ unit: "grapheme", maxLength: 40 }),
      fc.string({ maxLength: 1500 }),
    );
    fc.assert(
      fc.property(hostile, (text) => {
        let quoted: string;
        try {
          quoted = quoteString(text);
        } catch (err) {
          expect(isRdsError(err, "invalid-input")).toBe(true);
          return;
        }
        expect(readQuoted(quoted)).toBe(text);
        // The client's own decoder (used on print output) agrees with the independent one.
        expect(decodeQuoted(quoted.slice(1, -1))).toBe(text);
      }),
      { numRuns: 500 },
    );
  });
});

describe("validators", () => {
  it("accepts ids from the allow-list and refuses the rest", () => {
    expect(validateId("pvc-0b6f0c0e-1d2a-4c1f-9e3b-7d1c2b3a4f5e")).toMatch(/^pvc-/);
    for (const bad of ["", "-x", "PVC", "a_b", "a b", "a;b", "a/b", "x".repeat(129), "é"]) {
      expect(
        refused(() => validateId(bad)),
        bad,
      ).toBe(true);
    }
  });

  it("checks every path component", () => {
    expect(validatePath("/pool/rds-csi/vols/pvc-1/disk.img")).toEqual([
      "pool",
      "rds-csi",
      "vols",
      "pvc-1",
      "disk.img",
    ]);
    expect(validatePath("pool/x/")).toEqual(["pool", "x"]);
    for (const bad of ["", "/", "a//b", "a/../b", "./a", "a/b c", "a/$x", 'a/"b', "a/\nb"]) {
      expect(
        refused(() => validatePath(bad)),
        bad,
      ).toBe(true);
    }
  });

  it("validatedPath accepts and refuses exactly what validatePath does, joined again", () => {
    const outcome = (fn: () => string) => {
      try {
        return fn();
      } catch (err) {
        return isRdsError(err, "invalid-input") ? "refused" : `threw ${String(err)}`;
      }
    };
    const same = (path: string) =>
      expect(
        outcome(() => validatedPath(path)),
        JSON.stringify(path),
      ).toBe(outcome(() => validatePath(path).join("/")));
    const long = "a".repeat(255);
    for (const path of [
      "/pool/rds-csi/vols/pvc-1/disk.img",
      "pool/x/",
      "//pool//",
      "..a/b..",
      `${long}/b`,
      `${long}a/b`,
      `/${"abc/".repeat(256)}`,
      "",
      "/",
      "a//b",
      "a/../b",
      "./a",
      "a/.",
      "a/b c",
      "a/$x",
      "a/\nb",
    ]) {
      same(path);
    }
    fc.assert(
      fc.property(fc.stringMatching(/^[a./_$-]{0,12}$/), (path) => {
        same(path);
      }),
      { numRuns: 2000 },
    );
  });

  it("checks prefixes, NQNs, ports and free text", () => {
    expect(validatePathPrefix("/vols/pvc-")).toBe("vols/pvc-");
    expect(refused(() => validatePathPrefix("vols/../x"))).toBe(true);
    expect(refused(() => validatePathPrefix("vols/$x"))).toBe(true);
    expect(validateNqn("nqn.2000-02.com.mikrotik:rds-csi:pvc-1")).toContain("pvc-1");
    expect(refused(() => validateNqn("nqn.2000-02.com.mikrotik"))).toBe(true);
    expect(refused(() => validateNqn('nqn.2000-02.com.x:a"b'))).toBe(true);
    expect(validatePort(4420)).toBe(4420);
    expect(refused(() => validatePort(0))).toBe(true);
    expect(refused(() => validatePort(70000))).toBe(true);
    expect(validateText("any text; with $ and [brackets]")).toContain("$");
    expect(refused(() => validateText("two\nlines"))).toBe(true);
  });
});
