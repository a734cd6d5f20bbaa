import { describe, expect, it } from "vitest";
import { SUPPORTED_BEHAVIOUR } from "../../src/doctor/support.js";
import { settingsSchema } from "../../src/sim/settings.js";
import { missingPairs, pairwise } from "../matrix/pairwise.js";
import {
  eachValueCombinations,
  MATRIX_FACTORS,
  matrixCombinations,
  UNSUPPORTED,
} from "../matrix/settings.js";

describe("the settings matrix", () => {
  it("names only settings the emulator has, with values it accepts, the default first", () => {
    const defaults = settingsSchema.parse({}) as Record<string, unknown>;
    for (const [name, values] of Object.entries(MATRIX_FACTORS)) {
      expect(values.length, name).toBeGreaterThan(1);
      for (const value of values)
        expect(() => settingsSchema.parse({ [name]: value }), `${name}=${String(value)}`).not.toThrow();
      const first = settingsSchema.parse({ [name]: values[0] }) as Record<string, unknown>;
      expect(first[name], name).toEqual(defaults[name]);
    }
  });

  it("holds every pair of values of every two settings, except the unsupported pairings", () => {
    const combinations = matrixCombinations().map((c) => c.settings);
    expect(missingPairs(MATRIX_FACTORS, combinations, UNSUPPORTED)).toEqual([]);
    for (const c of combinations)
      for (const ex of UNSUPPORTED) expect(Object.entries(ex).every(([n, v]) => c[n] === v)).toBe(false);
    // Far fewer runs than the full product (2^20 × 3).
    expect(combinations.length).toBeLessThan(16);
  });

  it("gives CI a few combinations with every value other than the default", () => {
    const chosen = eachValueCombinations();
    expect(chosen.length).toBeLessThanOrEqual(3);
    for (const [name, values] of Object.entries(MATRIX_FACTORS))
      for (const value of values.slice(1))
        expect(
          chosen.some((c) => c.settings[name] === value),
          `${name}=${String(value)}`,
        ).toBe(true);
  });

  it("finds pairwise sets that are complete for small factors, and reports what a set misses", () => {
    const factors = { a: [1, 2, 3], b: ["x", "y"], c: [true, false], d: ["p", "q"] };
    const set = pairwise(factors);
    expect(missingPairs(factors, set)).toEqual([]);
    expect(set.length).toBeGreaterThanOrEqual(6);
    expect(missingPairs(factors, set.slice(1)).length).toBeGreaterThan(0);
  });
});

describe("the matrix and rds-csi doctor", () => {
  // The doctor calls a behaviour supported exactly when CI runs the driver under it.
  it("support the same value of every behaviour setting", () => {
    const tested = Object.entries(MATRIX_FACTORS)
      .filter(([name]) => name !== "error_texts") // wording: the doctor judges each text, not a profile
      .map(([name, values]) => [name, values.map(String).sort()] as const);
    const supported = Object.entries(SUPPORTED_BEHAVIOUR).map(
      // "other": an order the emulator cannot play, supported because nothing reads the order
      ([name, values]) => [name, values.filter((v) => v !== "other").sort()] as const,
    );
    expect(Object.fromEntries(supported)).toEqual(Object.fromEntries(tested));
  });
});
