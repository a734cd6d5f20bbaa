import type { WhereNode } from "./ast.js";
import type { Settings } from "./settings.js";
import type { RosValue } from "./values.js";
import type { RosVersion } from "./version.js";

/** How an argument's value is checked and converted before its command runs. */
export type ArgKind = "string" | "bool" | "size" | "num" | "enum" | "items" | "flag" | "any" | "property";

export interface VersionGate {
  readonly since?: string;
  readonly until?: string;
}

export interface ArgSpec extends VersionGate {
  readonly name: string;
  readonly kind: ArgKind;
  /** Accepted words for `enum` (each optionally version-gated). */
  readonly values?: ReadonlyArray<string | ({ readonly value: string } & VersionGate)>;
  readonly min?: bigint;
  readonly max?: bigint;
}

/** What a running command may use: output, evaluation helpers and the session's terminal. */
export interface ExecContext {
  write(line: string): void;
  readonly width: number;
  readonly version: RosVersion;
  readonly settings: Settings;
  /** The properties a `print proplist=` (or `get`) asks for; a table may leave costly others out. */
  readonly proplist?: readonly string[];
  /** Evaluates the values inside a where-clause once, so items can be matched synchronously. */
  resolveWhere(node: WhereNode): Promise<ResolvedWhere>;
}

export type ResolvedWhere =
  | { readonly kind: "and" | "or"; readonly left: ResolvedWhere; readonly right: ResolvedWhere }
  | { readonly kind: "not"; readonly inner: ResolvedWhere }
  | { readonly kind: "truthy"; readonly prop: string }
  | {
      readonly kind: "compare";
      readonly prop: string;
      readonly op: string;
      /** undefined: the value can never match (an unquoted `/` or `:` expression). */
      readonly value: RosValue | undefined;
      readonly col: number;
    }
  | { readonly kind: "is"; readonly inner: ResolvedWhere; readonly expect: boolean };

export interface Invocation {
  /** Converted argument values, keyed by canonical argument name. */
  readonly args: ReadonlyMap<string, RosValue>;
  /** 1-based column where each argument's value starts (for `expected item id`). */
  readonly cols: ReadonlyMap<string, number>;
  readonly where: ResolvedWhere | null;
  /** True inside `[…]`: the command's value is used, so prints that return a value stay quiet. */
  readonly nested: boolean;
  readonly ctx: ExecContext;
}

export interface CommandSpec extends VersionGate {
  readonly name: string;
  readonly args: readonly ArgSpec[];
  /** Arguments that may be given without `name=`, in order (`remove <numbers>`, `get <numbers> <value-name>`). */
  readonly unnamed?: readonly string[];
  /** Accepts `where <expr>` (print, find). */
  readonly where?: boolean;
  /** Changes state: runs under the emulator's write lock. */
  readonly mutating?: boolean;
  run(inv: Invocation): Promise<RosValue>;
}

export interface MenuSpec extends VersionGate {
  readonly name: string;
  /** `/disk/btrfs/subvolume` */
  readonly path: string;
  readonly menus: readonly MenuSpec[];
  readonly commands: readonly CommandSpec[];
}
