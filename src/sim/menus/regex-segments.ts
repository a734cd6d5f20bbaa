import { regexPrefixes } from "./regex-prefixes.js";

/**
 * An anchored `where name~"^…"` pattern over `/` separated paths, read one path component at a
 * time, so `/file` can walk a pool level by level and descend only into the names that can match
 * (`^raid1/snaps/[^/]+/snap-(0[0-2]|03)[^/]+/disk[.]img` reads `raid1`, `snaps`, every name under
 * it, the names that start `snap-00`…`snap-03`, then `disk.img`) instead of every file.
 *
 * The pattern splits at its top-level literal `/` characters when no part of it can match a `/`:
 * literal characters, punctuation escapes, `\d` `\w` `\s`, bracket classes that leave `/` out
 * (`[^/]`, `[0-9a-f]`), groups (plain or `(?:`) of alternatives made of these, and quantifiers.
 * Then a path matches exactly when each of its first components matches its segment whole and the
 * next one starts with a match of the last segment (what follows, deeper paths included, is free),
 * or matches it whole when the pattern ends with `$`. Anything else — `.`, a class or escape that
 * admits `/`, a `/` inside a group or under a quantifier, a top-level `|`, other anchors,
 * look-arounds, back-references — gives undefined: the pattern is tested on every path instead.
 */

export interface PathSegments {
  /** Tests of the components before the last segment's, each whole (index 0: the pool's name). */
  readonly whole: readonly RegExp[];
  /** The test of the component at index `whole.length`: a match at its start (or whole, with `$`). */
  readonly last: RegExp;
  /** Whether what lies under a component that passes `last` matches too (no final `$`). */
  readonly descendants: boolean;
  /**
   * Per level (index 0: the pool's name, up to `whole.length`), the literal texts every name its
   * segment accepts starts with (`regexPrefixes`; `[""]` when the segment starts with no literal),
   * so a directory's names can be looked up in a sorted listing instead of each tested.
   */
  readonly prefixes: ReadonlyArray<readonly string[]>;
}

/** Patterns come back (a walk sends each page's once per query): read each once. */
const cache = new Map<string, PathSegments | undefined>();

export function regexSegments(pattern: string): PathSegments | undefined {
  if (cache.has(pattern)) return cache.get(pattern);
  const segments = read(pattern);
  if (cache.size > 1000) cache.clear();
  cache.set(pattern, segments);
  return segments;
}

function read(pattern: string): PathSegments | undefined {
  if (!pattern.startsWith("^")) return undefined;
  try {
    new RegExp(pattern);
  } catch {
    // An invalid pattern matches nothing, as the full scan answers.
    return undefined;
  }
  const parts = split(pattern);
  if (parts === undefined || parts.segments.length < 2) return undefined;
  const compiled = (source: string) => {
    try {
      return new RegExp(source);
    } catch {
      return undefined;
    }
  };
  const whole = parts.segments.slice(0, -1).map((s) => compiled(`^(?:${s})$`));
  const lastSource = parts.segments.at(-1) as string;
  const last = compiled(parts.anchoredEnd ? `^(?:${lastSource})$` : `^(?:${lastSource})`);
  if (last === undefined || whole.some((r) => r === undefined)) return undefined;
  const prefixes = parts.segments.map((s) => regexPrefixes(`^${s}`) ?? [""]);
  return { whole: whole as RegExp[], last, descendants: !parts.anchoredEnd, prefixes };
}

/** The segments between the top-level `/` characters, or undefined when one could match a `/`. */
function split(pattern: string): { segments: string[]; anchoredEnd: boolean } | undefined {
  const segments: string[] = [];
  let current = "";
  let depth = 0;
  let anchoredEnd = false;
  let i = 1;
  while (i < pattern.length) {
    const ch = pattern[i] as string;
    const next = pattern[i + 1];
    if (ch === "\\") {
      // Punctuation stands for itself (but `\/` is a `/` inside a segment); `\d` `\w` `\s` never
      // match `/`; other letters and digits are classes, assertions or references.
      if (next === undefined || next === "/") return undefined;
      if (/[A-Za-z0-9]/.test(next) && !/[dws]/.test(next)) return undefined;
      current += ch + next;
      i += 2;
    } else if (ch === "[") {
      const end = classEnd(pattern, i);
      if (end === undefined) return undefined;
      const cls = pattern.slice(i, end + 1);
      // The engine itself says whether the class admits `/` (ranges, escapes, negation).
      if (new RegExp(`^${cls}$`).test("/")) return undefined;
      current += cls;
      i = end + 1;
    } else if (ch === "(") {
      // Only plain and non-capturing groups: look-arounds and named groups are not read.
      if (next === "?" && pattern[i + 2] !== ":") return undefined;
      const open = next === "?" ? "(?:" : "(";
      current += open;
      depth += 1;
      i += open.length;
    } else if (ch === ")") {
      depth -= 1;
      if (depth < 0) return undefined;
      current += ch;
      i += 1;
    } else if (ch === "|") {
      // A top-level alternative is a pattern of its own, anchored or not.
      if (depth === 0) return undefined;
      current += ch;
      i += 1;
    } else if (ch === "." || ch === "^") {
      return undefined;
    } else if (ch === "$") {
      if (i !== pattern.length - 1 || depth !== 0) return undefined;
      anchoredEnd = true;
      i += 1;
    } else if (ch === "/") {
      // A `/` in a group, or repeated or optional, does not separate components one to one.
      if (depth > 0 || next === "*" || next === "+" || next === "?" || next === "{") return undefined;
      segments.push(current);
      current = "";
      i += 1;
    } else {
      // Literal characters and quantifiers (`*` `+` `?` `{n,m}`), which never add a `/`.
      current += ch;
      i += 1;
    }
  }
  if (depth !== 0) return undefined;
  segments.push(current);
  return { segments, anchoredEnd };
}

/** The index of the `]` closing the class opened at `start`, read as JavaScript reads it. */
function classEnd(pattern: string, start: number): number | undefined {
  let i = start + 1;
  if (pattern[i] === "^") i += 1;
  while (i < pattern.length) {
    const ch = pattern[i];
    if (ch === "\\") i += 2;
    else if (ch === "]") return i;
    else i += 1;
  }
  return undefined;
}
