import type { ResolvedWhere } from "../schema.js";
import { idsOf, parseIdLiteral, type RosValue, toText } from "../values.js";
import { regexPrefixes } from "./regex-prefixes.js";

/**
 * What a `where` (or a `[find]` result) says about the items that can match, so a table can read
 * only those instead of all of it — as RouterOS answers from its in-memory item tables. A scope is
 * always a superset of the answer: the caller still applies the whole `where` to what comes back,
 * and a table that cannot use a scope reads everything.
 */
export type ScopeLeaf =
  /** Only items whose string property `prop` is exactly one of these. */
  | { readonly kind: "values"; readonly prop: string; readonly values: readonly string[] }
  /** Only items whose string property `prop` starts with one of these. */
  | { readonly kind: "prefixes"; readonly prop: string; readonly prefixes: readonly string[] }
  /** Only items with these ids. */
  | { readonly kind: "ids"; readonly ids: readonly number[] };

export type ListScope =
  | ScopeLeaf
  /** Each part bounds the answer: the table reads through whichever is cheapest for it. */
  | { readonly kind: "and"; readonly parts: readonly ListScope[] }
  /** Together the parts bound the answer: the table reads the union. */
  | { readonly kind: "or"; readonly parts: readonly ListScope[] };

/** The scope a condition implies, or undefined when it may match any item. */
export function scopeOf(where: ResolvedWhere | null): ListScope | undefined {
  if (where === null) return undefined;
  switch (where.kind) {
    case "and": {
      const parts = [scopeOf(where.left), scopeOf(where.right)].filter(
        (s): s is ListScope => s !== undefined,
      );
      if (parts.length <= 1) return parts[0];
      return { kind: "and", parts };
    }
    case "or": {
      const left = scopeOf(where.left);
      const right = scopeOf(where.right);
      if (left === undefined || right === undefined) return undefined;
      // `p="a" or p="b"` reads as one leaf, so a table looks both up together.
      if (left.kind === "values" && right.kind === "values" && left.prop === right.prop)
        return { kind: "values", prop: left.prop, values: [...left.values, ...right.values] };
      if (left.kind === "ids" && right.kind === "ids")
        return { kind: "ids", ids: [...left.ids, ...right.ids] };
      return { kind: "or", parts: [left, right] };
    }
    case "compare":
      return compareScope(where.prop, where.op, where.value);
    default:
      // `!`, `(…)=false` and bare truthiness may match items no value names.
      return undefined;
  }
}

function compareScope(prop: string, op: string, value: RosValue | undefined): ScopeLeaf | undefined {
  if (value === undefined) return undefined;
  if (prop === ".id") {
    if (op !== "=") return undefined;
    const id = value.t === "id" ? value.v : parseIdLiteral(toText(value));
    return id === undefined ? undefined : { kind: "ids", ids: [id] };
  }
  // A table narrows by a property only where it holds plain strings, compared as text: `=` is
  // then equality of the texts and `~` a regular expression over the text.
  if (op === "=") return { kind: "values", prop, values: [toText(value)] };
  if (op === "~") {
    const prefixes = regexPrefixes(toText(value));
    return prefixes === undefined ? undefined : { kind: "prefixes", prop, prefixes };
  }
  return undefined;
}

/** The scope of an unnamed target that is a `[find]` result (item ids); undefined for names and indexes. */
export function scopeOfTargets(value: RosValue): ListScope | undefined {
  const ids = idsOf(value);
  return ids === undefined ? undefined : { kind: "ids", ids };
}

/**
 * The leaves a table reads for a scope: through the cheapest part of each `and`, the union of an
 * `or`'s parts. `cost` says how many items a leaf would read (undefined: the table cannot narrow
 * by it). Undefined when the table has to read everything, or when the leaves would read half of
 * its `size` or more anyway.
 */
export function planScope(
  scope: ListScope | undefined,
  cost: (leaf: ScopeLeaf) => number | undefined,
  size = Number.POSITIVE_INFINITY,
): ScopeLeaf[] | undefined {
  const found = scope === undefined ? undefined : plan(scope, cost);
  // A scope that reads about the whole table is not worth its lookups: read the table in order.
  return found === undefined || found.cost >= size / 2 ? undefined : found.leaves;
}

function plan(
  scope: ListScope,
  cost: (leaf: ScopeLeaf) => number | undefined,
): { leaves: ScopeLeaf[]; cost: number } | undefined {
  switch (scope.kind) {
    case "and": {
      let best: { leaves: ScopeLeaf[]; cost: number } | undefined;
      for (const part of scope.parts) {
        const p = plan(part, cost);
        if (p !== undefined && (best === undefined || p.cost < best.cost)) best = p;
      }
      return best;
    }
    case "or": {
      const out: { leaves: ScopeLeaf[]; cost: number } = { leaves: [], cost: 0 };
      for (const part of scope.parts) {
        const p = plan(part, cost);
        if (p === undefined) return undefined;
        out.leaves.push(...p.leaves);
        out.cost += p.cost;
      }
      return out;
    }
    default: {
      const c = cost(scope);
      return c === undefined ? undefined : { leaves: [scope], cost: c };
    }
  }
}
