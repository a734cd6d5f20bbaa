import type { ResolvedWhere } from "./schema.js";
import { parseSize } from "./sizes.js";
import { isTruthy, parseIdLiteral, type RosValue, toText } from "./values.js";

/** Looks up a property of one item: `.id`, flags (as booleans), comment and printed properties. */
export type PropLookup = (name: string) => RosValue | undefined;

/** Whether the item `lookup` reads matches the condition (compiled on first use, see `compile`). */
export function whereMatches(node: ResolvedWhere, lookup: PropLookup): boolean {
  let test = compiled.get(node);
  if (test === undefined) {
    test = compile(node);
    compiled.set(node, test);
  }
  return test(lookup);
}

/** Whether one item matches; built once per condition and applied to every item of a listing. */
type ItemTest = (lookup: PropLookup) => boolean;

/** A condition is resolved once per command and then tested against each item. */
const compiled = new WeakMap<ResolvedWhere, ItemTest>();

type Compare = Extract<ResolvedWhere, { kind: "compare" }>;

function compile(node: ResolvedWhere): ItemTest {
  switch (node.kind) {
    case "and": {
      const parts = chain(node, "and").map(compile);
      return (lookup) => parts.every((part) => part(lookup));
    }
    case "or":
      return compileOr(chain(node, "or"));
    case "not": {
      const inner = compile(node.inner);
      return (lookup) => !inner(lookup);
    }
    case "is": {
      const inner = compile(node.inner);
      return (lookup) => inner(lookup) === node.expect;
    }
    case "truthy":
      return (lookup) => isTruthy(lookup(node.prop));
    case "compare":
      return (lookup) => compare(lookup(node.prop), node.op, node.value);
  }
}

/** The terms of a run of one operator, `a or (b or c) or d` as `[a, b, c, d]`, in order. */
function chain(node: ResolvedWhere, kind: "and" | "or"): ResolvedWhere[] {
  const out: ResolvedWhere[] = [];
  const pending: ResolvedWhere[] = [node];
  while (pending.length > 0) {
    const at = pending.pop() as ResolvedWhere;
    if (at.kind === kind) pending.push(at.right, at.left);
    else out.push(at);
  }
  return out;
}

/**
 * An `or` of terms. Equalities on one property (`name="a" or name="b" or …`, the way a client asks
 * for a page of items by name) are one test: the property is looked up once and a text value is
 * looked for in the set of wanted texts, so a chain of n names costs one lookup per item, not n
 * comparisons. A value of another type (a number, a flag, an id) is compared term by term; terms
 * have no side effects, so testing them grouped gives the chain's answer.
 */
function compileOr(terms: readonly ResolvedWhere[]): ItemTest {
  const byProp = new Map<string, Compare[]>();
  const others: ResolvedWhere[] = [];
  for (const term of terms) {
    if (term.kind === "compare" && term.op === "=" && term.value !== undefined) {
      const group = byProp.get(term.prop);
      if (group === undefined) byProp.set(term.prop, [term]);
      else group.push(term);
    } else others.push(term);
  }
  const tests: ItemTest[] = [];
  for (const [prop, group] of byProp) {
    if (group.length === 1) others.push(group[0] as Compare);
    else tests.push(memberTest(prop, group));
  }
  tests.push(...others.map(compile));
  if (tests.length === 1) return tests[0] as ItemTest;
  return (lookup) => tests.some((test) => test(lookup));
}

function memberTest(prop: string, group: readonly Compare[]): ItemTest {
  const texts = new Set(group.map((term) => toText(term.value as RosValue)));
  return (lookup) => {
    const actual = lookup(prop);
    if (actual === undefined || actual.t === "nil") return false;
    // A text property equals a wanted value exactly when their texts are the same.
    if (actual.t === "str") return texts.has(actual.v);
    return group.some((term) => compare(actual, "=", term.value));
  };
}

function compare(actual: RosValue | undefined, op: string, wanted: RosValue | undefined): boolean {
  if (wanted === undefined) return false;
  if (actual === undefined || actual.t === "nil") return op === "!=";
  if (op === "~") return regexMatches(toText(actual), toText(wanted));
  const order = compareValues(actual, wanted);
  switch (op) {
    case "=":
      return order === 0;
    case "!=":
      return order !== 0;
    case "<":
      return order !== undefined && order < 0;
    case ">":
      return order !== undefined && order > 0;
    case "<=":
      return order !== undefined && order <= 0;
    case ">=":
      return order !== undefined && order >= 0;
    default:
      return false;
  }
}

/** Compares in the property's own type; undefined when the wanted value cannot be read as that type. */
function compareValues(actual: RosValue, wanted: RosValue): number | undefined {
  const text = toText(wanted);
  switch (actual.t) {
    case "num": {
      const n = wanted.t === "num" ? wanted.v : parseSize(text);
      if (n === undefined) return undefined;
      return actual.v === n ? 0 : actual.v < n ? -1 : 1;
    }
    case "bool": {
      const b =
        wanted.t === "bool"
          ? wanted.v
          : text === "yes" || text === "true"
            ? true
            : text === "no" || text === "false"
              ? false
              : undefined;
      if (b === undefined) return undefined;
      return actual.v === b ? 0 : actual.v ? 1 : -1;
    }
    case "id": {
      const id = wanted.t === "id" ? wanted.v : parseIdLiteral(text);
      if (id === undefined) return undefined;
      return actual.v === id ? 0 : actual.v < id ? -1 : 1;
    }
    default: {
      const a = toText(actual);
      return a === text ? 0 : a < text ? -1 : 1;
    }
  }
}

const regexCache = new Map<string, RegExp | null>();

/** POSIX extended regular expressions, unanchored; an invalid pattern matches nothing. */
function regexMatches(text: string, pattern: string): boolean {
  let re = regexCache.get(pattern);
  if (re === undefined) {
    try {
      re = new RegExp(pattern);
    } catch {
      re = null;
    }
    if (regexCache.size > 1000) regexCache.clear();
    regexCache.set(pattern, re);
  }
  return re?.test(text) === true;
}
