import type { ArgSpec, CommandSpec, MenuSpec } from "./schema.js";

/** A value as written on the command line; evaluated only when its command runs. */
export type ValueNode =
  | { readonly kind: "word"; readonly text: string; readonly col: number }
  | { readonly kind: "string"; readonly parts: readonly StringPart[]; readonly col: number }
  | {
      readonly kind: "subst";
      readonly body: readonly Statement[];
      readonly col: number;
      readonly source: string;
    }
  | { readonly kind: "var"; readonly name: string; readonly col: number }
  | { readonly kind: "expr"; readonly expr: ExprNode; readonly col: number; readonly source: string }
  /** An unquoted `where` value that RouterOS would read as arithmetic (`a/b`, `x:y`): matches nothing. */
  | { readonly kind: "opaque"; readonly text: string; readonly col: number };

/** Pieces of a double-quoted string: `$var`, `$[cmd]` and `$(expr)` are evaluated in place. */
export type StringPart =
  | { readonly kind: "text"; readonly text: string }
  | { readonly kind: "var"; readonly name: string; readonly col: number; readonly source: string }
  | {
      readonly kind: "cmd";
      readonly body: readonly Statement[];
      readonly col: number;
      readonly source: string;
    }
  | { readonly kind: "expr"; readonly expr: ExprNode; readonly col: number; readonly source: string };

/** `(…)` and `$(…)` expressions: arithmetic, concatenation and comparison over values. */
export type ExprNode =
  | { readonly kind: "value"; readonly value: ValueNode }
  | { readonly kind: "binary"; readonly op: string; readonly left: ExprNode; readonly right: ExprNode }
  | { readonly kind: "not"; readonly inner: ExprNode };

export type CompareOp = "=" | "!=" | "<" | ">" | "<=" | ">=" | "~";

export type WhereNode =
  | { readonly kind: "and" | "or"; readonly left: WhereNode; readonly right: WhereNode }
  | { readonly kind: "not"; readonly inner: WhereNode }
  | { readonly kind: "truthy"; readonly prop: string }
  | { readonly kind: "compare"; readonly prop: string; readonly op: CompareOp; readonly value: ValueNode }
  | { readonly kind: "is"; readonly inner: WhereNode; readonly expect: boolean };

export interface ArgNode {
  readonly spec: ArgSpec;
  /** null for a flag word given without a value (`detail`, `read-only`). */
  readonly value: ValueNode | null;
  readonly col: number;
}

export type Statement =
  | {
      readonly kind: "command";
      readonly menu: MenuSpec;
      readonly command: CommandSpec;
      readonly args: readonly ArgNode[];
      readonly where: WhereNode | null;
      readonly col: number;
    }
  /** A bare menu path (`/disk`): later commands of the line run in that menu. */
  | { readonly kind: "cd"; readonly menu: MenuSpec };
