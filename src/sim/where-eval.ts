import type { ResolvedWhere } from "./schema.js";
import { parseSize } from "./sizes.js";
import { isTruthy, parseIdLiteral, type RosValue, toText } from "./values.js";

/** Looks up a property of one item: `.id`, flags (as booleans), comment and printed properties. */
export type PropLookup = (name: string) => RosValue | undefined;

export function whereMatches(node: ResolvedWhere, lookup: PropLookup): boolean {
  switch (node.kind) {
    case "and":
      return whereMatches(node.left, lookup) && whereMatches(node.right, lookup);
    case "or":
      return whereMatches(node.left, lookup) || whereMatches(node.right, lookup);
    case "not":
      return !whereMatches(node.inner, lookup);
    case "is":
      return whereMatches(node.inner, lookup) === node.expect;
    case "truthy":
      return isTruthy(lookup(node.prop));
    case "compare":
      return compare(lookup(node.prop), node.op, node.value);
  }
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
