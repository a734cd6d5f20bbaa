/**
 * The literal prefixes every text a `where prop~"^…"` pattern matches starts with, so a table can
 * look them up in a sorted index instead of testing the pattern on every item: `^snap-(0[0-2]|03)`
 * gives `snap-00`, `snap-01`, `snap-02`, `snap-03`; `^/?a/` gives `/a/` and `a/`.
 *
 * Only a small, safe part of the pattern language is read: after the anchor, literal characters,
 * identity escapes (`\.`), bracket classes of literal characters and ranges (`[0-9a-f]`, `[.]`),
 * groups of alternatives made of these, and `?` after any of them. The first other construct ends
 * the prefixes (what follows it only narrows the answer further), unless the pattern has a `|`
 * outside what was read, which could match anywhere. Undefined when the pattern is not anchored, a
 * group holds anything else, or the prefixes would be too many to look up one by one.
 */

/** More prefixes than this are not worth looking up one by one. */
const MAX_PREFIXES = 4096;

/** Characters with a meaning of their own in a regular expression. */
const SPECIAL = new Set([..."\\^$.|?*+()[]{}"]);

class Unsupported extends Error {}

/** A parse position over the pattern. */
interface Cursor {
  readonly text: string;
  at: number;
}

/** Patterns come back (a walk sends each page's once per query): read each once. */
const cache = new Map<string, readonly string[] | undefined>();

export function regexPrefixes(pattern: string): readonly string[] | undefined {
  if (cache.has(pattern)) return cache.get(pattern);
  const prefixes = read(pattern);
  if (cache.size > 1000) cache.clear();
  cache.set(pattern, prefixes);
  return prefixes;
}

function read(pattern: string): string[] | undefined {
  if (!pattern.startsWith("^")) return undefined;
  const cursor: Cursor = { text: pattern, at: 1 };
  let prefixes: string[];
  try {
    prefixes = sequence(cursor, false);
  } catch (e) {
    if (e instanceof Unsupported) return undefined;
    throw e;
  }
  // What was not read narrows the answer, unless a `|` there opens an unanchored alternative.
  if (cursor.text.slice(cursor.at).includes("|")) return undefined;
  return [...new Set(prefixes)];
}

/**
 * Reads atoms until the end, a `)` or `|` (inside a group), or a construct it does not read; the
 * texts the atoms read so far can start with. Inside a group anything unread is unsupported.
 */
function sequence(c: Cursor, inGroup: boolean): string[] {
  let out = [""];
  while (c.at < c.text.length) {
    const ch = c.text[c.at] as string;
    if (inGroup && (ch === ")" || ch === "|")) return out;
    const start = c.at;
    const choices = atom(c);
    if (choices === undefined) {
      if (inGroup) throw new Unsupported();
      c.at = start;
      return out;
    }
    const next = c.text[c.at];
    if (next === "*" || next === "+" || next === "{") {
      // Repetition: the atom may repeat (or be absent), so the prefixes end before it.
      if (inGroup) throw new Unsupported();
      c.at = start;
      return out;
    }
    const options = next === "?" ? ["", ...choices] : choices;
    if (next === "?") {
      c.at += 1;
      // A lazy `??` or a quantifier after `?` is not read.
      if (c.text[c.at] === "?" || c.text[c.at] === "*" || c.text[c.at] === "+" || c.text[c.at] === "{") {
        throw new Unsupported();
      }
    }
    if (out.length * options.length > MAX_PREFIXES) throw new Unsupported();
    out = out.flatMap((p) => options.map((o) => p + o));
  }
  return out;
}

/** The texts one atom matches, with the cursor after it; undefined (cursor unchanged) if not read. */
function atom(c: Cursor): string[] | undefined {
  const ch = c.text[c.at] as string;
  if (ch === "\\") {
    const escaped = c.text[c.at + 1];
    // `\d`, `\w`, `\1`… are classes and references; only punctuation escapes stand for themselves.
    if (escaped === undefined || /[A-Za-z0-9]/.test(escaped)) return undefined;
    c.at += 2;
    return [escaped];
  }
  if (ch === "[") return bracket(c);
  if (ch === "(") return group(c);
  if (SPECIAL.has(ch)) return undefined;
  c.at += 1;
  return [ch];
}

/** `[0-9a-f]`, `[.]`: literal characters and ranges of letters or digits; no negation or escapes. */
function bracket(c: Cursor): string[] | undefined {
  const end = c.text.indexOf("]", c.at + 1);
  if (end < 0) return undefined;
  const body = c.text.slice(c.at + 1, end);
  if (body === "" || body.startsWith("^")) return undefined;
  const out: string[] = [];
  for (let i = 0; i < body.length; i++) {
    const ch = body[i] as string;
    if (ch === "\\" || ch === "[") return undefined;
    if (body[i + 1] === "-" && i + 2 < body.length) {
      const last = body[i + 2] as string;
      const range = /[0-9]/.test(ch)
        ? /[0-9]/
        : /[a-z]/.test(ch)
          ? /[a-z]/
          : /[A-Z]/.test(ch)
            ? /[A-Z]/
            : null;
      if (range === null || !range.test(last) || last < ch) return undefined;
      for (let code = ch.charCodeAt(0); code <= last.charCodeAt(0); code++)
        out.push(String.fromCharCode(code));
      i += 2;
      continue;
    }
    out.push(ch);
  }
  c.at = end + 1;
  return [...new Set(out)];
}

/** `(a|b[0-3]|)`: the union of its alternatives (a plain group; `(?:…)` and the like are not read). */
function group(c: Cursor): string[] | undefined {
  if (c.text[c.at + 1] === "?") return undefined;
  const start = c.at;
  c.at += 1;
  const out: string[] = [];
  try {
    for (;;) {
      out.push(...sequence(c, true));
      if (out.length > MAX_PREFIXES) throw new Unsupported();
      const ch = c.text[c.at];
      c.at += 1;
      if (ch === ")") return out;
      if (ch !== "|") throw new Unsupported();
    }
  } catch (e) {
    if (!(e instanceof Unsupported)) throw e;
    c.at = start;
    throw e;
  }
}
