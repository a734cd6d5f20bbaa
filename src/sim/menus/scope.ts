import type { ResolvedWhere } from "../schema.js";
import { idsOf, parseIdLiteral, type RosValue, toText } from "../values.js";

/**
 * What a `where` (or a `[find]` result) says about the items that can match, so a table can read
 * only those instead of all of it — as RouterOS answers from its in-memory item tables. A scope is
 * always a superset of the answer: the caller still applies the whole `where` to what comes back.
 */
export type ListScope =
  /** Only items whose `name` is one of these. */
  | { readonly kind: "names"; readonly names: readonly string[] }
  /** Only items whose `name` starts with this. */
  | { readonly kind: "prefix"; readonly prefix: string }
  /** Only items with these ids. */
  | { readonly kind: "ids"; readonly ids: readonly number[] };

/** The narrowest scope a condition implies, or undefined when it may match any item. */
export function scopeOf(where: ResolvedWhere | null): ListScope | undefined {
  if (where === null) return undefined;
  switch (where.kind) {
    case "and": {
      // Any conjunct bounds the result; prefer the narrowest kind.
      const left = scopeOf(where.left);
      const right = scopeOf(where.right);
      if (left === undefined) return right;
      if (right === undefined) return left;
      return rank(left) <= rank(right) ? left : right;
    }
    case "or": {
      const left = scopeOf(where.left);
      const right = scopeOf(where.right);
      if (left?.kind === "names" && right?.kind === "names")
        return { kind: "names", names: [...left.names, ...right.names] };
      if (left?.kind === "ids" && right?.kind === "ids")
        return { kind: "ids", ids: [...left.ids, ...right.ids] };
      return undefined;
    }
    case "compare": {
      if (where.value === undefined) return undefined;
      if (where.prop === "name" && where.op === "=") return { kind: "names", names: [toText(where.value)] };
      if (where.prop === "name" && where.op === "~") {
        const prefix = literalPrefix(toText(where.value));
        return prefix === undefined ? undefined : { kind: "prefix", prefix };
      }
      if (where.prop === ".id" && where.op === "=") {
        const id = where.value.t === "id" ? where.value.v : parseIdLiteral(toText(where.value));
        return id === undefined ? undefined : { kind: "ids", ids: [id] };
      }
      return undefined;
    }
    default:
      return undefined;
  }
}

/** The scope of an unnamed target that is a `[find]` result (item ids); undefined for names and indexes. */
export function scopeOfTargets(value: RosValue): ListScope | undefined {
  const ids = idsOf(value);
  return ids === undefined ? undefined : { kind: "ids", ids };
}

function rank(scope: ListScope): number {
  return scope.kind === "prefix" ? 1 : 0;
}

/** `^abc/d[.]e\.x` → `abc/d.e.x`; undefined unless the pattern is an anchored plain prefix. */
function literalPrefix(pattern: string): string | undefined {
  const m = /^\^((?:[A-Za-z0-9_/\- ]|\\[.\-_/]|\[\.\])*)$/.exec(pattern);
  return m?.[1]?.replace(/\[\.\]/g, ".").replace(/\\(.)/g, "$1");
}
