import * as v from "valibot";
import { parseDurationMs } from "./duration.js";

/**
 * The kinds of value a driver flag holds, as valibot schemas. Commander hands over strings (or
 * `true` for a bare boolean flag); these check and convert them, each with one readable message
 * per problem, worded as the driver has always worded them.
 *
 * valibot rather than zod here: every driver process validates its flags at start-up, and zod's
 * core costs about 10 MiB of resident memory to load, valibot under 1.
 */

/** How a value that is not of the expected type is named in a message. */
function received(input: unknown): string {
  if (input === null) return "null";
  if (Array.isArray(input)) return "array";
  if (typeof input === "number" && Number.isNaN(input)) return "NaN";
  return typeof input;
}

const notA = (expected: string) => (issue: v.BaseIssue<unknown>) =>
  `Invalid input: expected ${expected}, received ${received(issue.input)}`;

/** A string; `required` replaces the message for a missing or empty one. */
export function text(required?: string) {
  return required === undefined
    ? v.string(notA("string"))
    : v.pipe(v.string(required), v.minLength(1, required));
}

/** A string of at least one character. */
export const nonEmpty = v.pipe(v.string(notA("string")), v.minLength(1, tooShort(1)));

export function tooShort(min: number): string {
  return `Too small: expected string to have >=${min} characters`;
}

export function tooLong(max: number): string {
  return `Too big: expected string to have <=${max} characters`;
}

/** A string matching `pattern`; `message` says what is expected. */
export function matching(pattern: RegExp, message: string) {
  return v.pipe(v.string(notA("string")), v.regex(pattern, message));
}

/** One of a fixed list of words. */
export function oneOf<const T extends readonly [string, ...string[]]>(options: T) {
  const message = `Invalid option: expected one of ${options.map((o) => JSON.stringify(o)).join("|")}`;
  return v.picklist(options, message);
}

/**
 * A whole number in [min, max], from a number or its text (`Number(text)`, so `0x10` and `1e3` are
 * numbers too and an empty text is 0). The first problem only: not a number, not whole, out of range.
 */
export function intIn(min: number, max: number) {
  return v.pipe(
    v.unknown(),
    v.rawTransform(({ dataset, addIssue, NEVER }) => {
      const n = Number(dataset.value);
      const problem = Number.isNaN(n)
        ? "Invalid input: expected number, received NaN"
        : !Number.isFinite(n)
          ? `Invalid input: expected number, received ${n}`
          : !Number.isInteger(n)
            ? "Invalid input: expected int, received number"
            : n < min
              ? `Too small: expected number to be >=${min}`
              : n > max
                ? `Too big: expected number to be <=${max}`
                : undefined;
      if (problem === undefined) return n;
      addIssue({ message: problem });
      return NEVER;
    }),
  );
}

const TRUE_WORDS = ["true", "1", "yes"];
const BOOL_WORDS = [...TRUE_WORDS, "false", "0", "no"];

/** true/false, 1/0, yes/no, or a bare flag's `true`. */
export const boolish = v.pipe(
  v.unknown(),
  v.rawTransform(({ dataset, addIssue, NEVER }) => {
    const value = dataset.value;
    if (typeof value === "boolean") return value;
    if (typeof value === "string" && BOOL_WORDS.includes(value)) return TRUE_WORDS.includes(value);
    addIssue({ message: "Invalid input" });
    return NEVER;
  }),
);

/** Milliseconds of a duration in Go's form (90s, 1h30m, 500ms) or plain seconds, else undefined. */
function durationMs(value: unknown): number | undefined {
  if (typeof value === "number") return Number.isFinite(value) ? value * 1000 : undefined;
  return typeof value === "string" ? parseDurationMs(value) : undefined;
}

/** A duration in Go's form (90s, 1h30m, 500ms) or plain seconds, returned in milliseconds. */
export const duration = v.pipe(
  v.unknown(),
  v.rawTransform(({ dataset, addIssue, NEVER }) => {
    const ms = durationMs(dataset.value);
    if (ms !== undefined) return ms;
    addIssue({
      message:
        typeof dataset.value === "string"
          ? `not a duration: ${dataset.value} (e.g. 30s, 5m, 1h30m)`
          : "Invalid input",
    });
    return NEVER;
  }),
);

/**
 * A duration or one of `words` (each mapped to its value), e.g. `forever` → -1 or `auto` → "auto".
 * Anything else is "Invalid input", as neither a word nor a duration.
 */
export function durationOr<const W extends Record<string, unknown>>(words: W) {
  return v.pipe(
    v.unknown(),
    v.rawTransform(({ dataset, addIssue, NEVER }): number | W[keyof W] => {
      const value = dataset.value;
      if (typeof value === "string" && Object.hasOwn(words, value)) return words[value] as W[keyof W];
      const ms = durationMs(value);
      if (ms !== undefined) return ms;
      addIssue({ message: "Invalid input" });
      return NEVER;
    }),
  );
}

/** One line per problem, naming the flag: `  --flag-name: message`. */
export function configProblems(issues: readonly v.BaseIssue<unknown>[]): string[] {
  return issues.map((issue) => {
    const key = v.getDotPath(issue) ?? "";
    const flag = key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
    return `  --${flag}: ${issue.message}`;
  });
}
