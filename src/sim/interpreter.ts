import type { ArgNode, ExprNode, Statement, StringPart, ValueNode, WhereNode } from "./ast.js";
import { RosError, rosErrors } from "./errors.js";
import { parseLine } from "./parser.js";
import type { ArgSpec, CommandSpec, ExecContext, MenuSpec, ResolvedWhere } from "./schema.js";
import type { Settings } from "./settings.js";
import { parseInteger, parseSize } from "./sizes.js";
import { bool, isTruthy, NIL, num, type RosValue, str, toText } from "./values.js";
import { availableIn, parseRosVersion } from "./version.js";

/** A `$…` evaluation inside a value: proof that text sent as data was executed as code. */
export interface InjectionEvent {
  readonly kind: "variable" | "command" | "expression";
  readonly source: string;
  readonly col: number;
  readonly result: string;
  readonly quoted: boolean;
}

export interface InterpreterDeps {
  readonly root: MenuSpec;
  readonly globals: MenuSpec;
  settings(): Settings;
  onInjection(event: InjectionEvent, line: string): void;
  /** Runs a state-changing command under the emulator's write lock. */
  withWriteLock<T>(fn: () => Promise<T>): Promise<T>;
}

export interface LineOutcome {
  readonly lines: string[];
  /** Parse or runtime error text, when the line failed. */
  readonly error?: string;
  /** Whether any command of the line started running (false after a parse error). */
  readonly ran: boolean;
}

/** Parses one exec line and runs its commands in order; a runtime error stops the rest. */
export class Interpreter {
  constructor(private readonly deps: InterpreterDeps) {}

  async executeLine(line: string, width: number): Promise<LineOutcome> {
    const settings = this.deps.settings();
    const version = parseRosVersion(settings.routeros_version);
    const lines: string[] = [];
    let statements: Statement[];
    try {
      statements = parseLine(line, { root: this.deps.root, globals: this.deps.globals, version });
    } catch (e) {
      if (!(e instanceof RosError)) throw e;
      lines.push(e.message);
      return { lines, error: e.message, ran: false };
    }
    const run = new LineRun(this.deps, settings, width, lines, line);
    // Whether RouterOS runs the rest of a `;`-joined line after a runtime error is unknown
    // (setting `line_error_mode`); the first error is the line's error either way.
    let error: string | undefined;
    for (const statement of statements) {
      try {
        await run.statement(statement);
      } catch (e) {
        if (!(e instanceof RosError)) throw e;
        lines.push(e.message);
        error ??= e.message;
        if (settings.line_error_mode === "stop") break;
      }
    }
    return error === undefined ? { lines, ran: true } : { lines, error, ran: true };
  }
}

class LineRun {
  private readonly variables = new Map<string, RosValue>();
  readonly ctx: ExecContext;

  constructor(
    private readonly deps: InterpreterDeps,
    settings: Settings,
    width: number,
    lines: string[],
    private readonly line: string,
  ) {
    this.ctx = {
      write: (line) => lines.push(line),
      width,
      settings,
      version: parseRosVersion(settings.routeros_version),
      resolveWhere: (node) => this.resolveWhere(node),
    };
  }

  async statement(statement: Statement, nested = false): Promise<RosValue> {
    if (statement.kind === "cd") return NIL;
    const args = new Map<string, RosValue>();
    const cols = new Map<string, number>();
    for (const arg of statement.args) {
      args.set(arg.spec.name, await this.argValue(arg));
      cols.set(arg.spec.name, arg.value?.col ?? arg.col);
    }
    const where = statement.where ? await this.resolveWhere(statement.where) : null;
    const invoke = () => statement.command.run({ args, cols, where, nested, ctx: this.ctx });
    return isMutating(statement.command) ? this.deps.withWriteLock(invoke) : invoke();
  }

  private async argValue(arg: ArgNode): Promise<RosValue> {
    if (arg.value === null) return bool(true);
    return this.convert(arg.spec, await this.value(arg.value, false));
  }

  /** Checks and converts a value to the argument's type, with RouterOS's error for each mismatch. */
  private convert(spec: ArgSpec, value: RosValue): RosValue {
    // Values passed through untouched (a listing given to `:serialize`) are never made text.
    if (spec.kind === "any" || spec.kind === "items") return value;
    const text = toText(value);
    switch (spec.kind) {
      case "string":
      case "property":
        return str(text);
      case "flag":
        return bool(true);
      case "bool":
        if (value.t === "bool") return value;
        if (text === "yes" || text === "true") return bool(true);
        if (text === "no" || text === "false") return bool(false);
        throw rosErrors.noMatch(spec.name);
      case "size": {
        // Whether `file-size=` takes a plain number of bytes is unknown (setting).
        if (
          spec.name === "file-size" &&
          /^\d+$/.test(text) &&
          this.ctx.settings.file_size_plain_bytes === "refuse"
        )
          throw rosErrors.invalidValue(spec.name);
        const n = value.t === "num" ? value.v : parseSize(text);
        if (n === undefined) throw rosErrors.invalidValue(spec.name);
        return num(n);
      }
      case "num": {
        const n = value.t === "num" ? value.v : parseInteger(text);
        if (n === undefined) throw rosErrors.invalidValue(spec.name);
        if ((spec.min !== undefined && n < spec.min) || (spec.max !== undefined && n > spec.max)) {
          throw rosErrors.invalidValue(spec.name);
        }
        return num(n);
      }
      case "enum": {
        const allowed = (spec.values ?? [])
          .map((v) => (typeof v === "string" ? { value: v } : v))
          .filter((v) => availableIn(this.ctx.version, v));
        if (!allowed.some((v) => v.value === text)) throw rosErrors.noMatch(spec.name);
        return str(text);
      }
    }
  }

  async value(node: ValueNode, quoted: boolean): Promise<RosValue> {
    switch (node.kind) {
      case "word":
        return str(node.text);
      case "opaque":
        return str(node.text);
      case "string":
        return str(await this.stringValue(node.parts));
      case "var":
        return this.variable(node.name, `$${node.name}`, node.col, quoted);
      case "subst":
        return this.substitution(node.body);
      case "expr":
        return this.expr(node.expr);
    }
  }

  private async stringValue(parts: readonly StringPart[]): Promise<string> {
    let out = "";
    for (const part of parts) {
      if (part.kind === "text") {
        out += part.text;
        continue;
      }
      if (part.kind === "var") {
        out += toText(this.variable(part.name, part.source, part.col, true));
        continue;
      }
      const result = part.kind === "cmd" ? await this.substitution(part.body) : await this.expr(part.expr);
      const text = toText(result);
      this.deps.onInjection(
        {
          kind: part.kind === "cmd" ? "command" : "expression",
          source: part.source,
          col: part.col,
          result: text,
          quoted: true,
        },
        this.line,
      );
      out += text;
    }
    return out;
  }

  private variable(name: string, source: string, col: number, quoted: boolean): RosValue {
    const value = this.variables.get(name) ?? NIL;
    this.deps.onInjection({ kind: "variable", source, col, result: toText(value), quoted }, this.line);
    return value;
  }

  private async substitution(body: readonly Statement[]): Promise<RosValue> {
    let last: RosValue = NIL;
    for (const statement of body) last = await this.statement(statement, true);
    return last;
  }

  private async expr(node: ExprNode): Promise<RosValue> {
    if (node.kind === "value") return this.value(node.value, false);
    if (node.kind === "not") return bool(!isTruthy(await this.expr(node.inner)));
    const left = await this.expr(node.left);
    if (node.op === "&&" || node.op === "and")
      return bool(isTruthy(left) && isTruthy(await this.expr(node.right)));
    if (node.op === "||" || node.op === "or")
      return bool(isTruthy(left) || isTruthy(await this.expr(node.right)));
    return binary(node.op, left, await this.expr(node.right));
  }

  private async resolveWhere(node: WhereNode): Promise<ResolvedWhere> {
    switch (node.kind) {
      case "and":
      case "or":
        return {
          kind: node.kind,
          left: await this.resolveWhere(node.left),
          right: await this.resolveWhere(node.right),
        };
      case "not":
        return { kind: "not", inner: await this.resolveWhere(node.inner) };
      case "is":
        return { kind: "is", inner: await this.resolveWhere(node.inner), expect: node.expect };
      case "truthy":
        return node;
      case "compare": {
        const value = node.value.kind === "opaque" ? undefined : await this.value(node.value, false);
        return { kind: "compare", prop: node.prop, op: node.op, value, col: node.value.col };
      }
    }
  }
}

function isMutating(command: CommandSpec): boolean {
  return command.mutating === true;
}

function binary(op: string, left: RosValue, right: RosValue): RosValue {
  const a = toText(left);
  const b = toText(right);
  if (op === ".") return str(a + b);
  const x = left.t === "num" ? left.v : parseInteger(a);
  const y = right.t === "num" ? right.v : parseInteger(b);
  const numeric = x !== undefined && y !== undefined;
  switch (op) {
    case "+":
      return numeric ? num(x + y) : str(a + b);
    case "-":
      return numeric ? num(x - y) : NIL;
    case "*":
      return numeric ? num(x * y) : NIL;
    case "/":
      return numeric && y !== 0n ? num(x / y) : NIL;
    case "%":
      return numeric && y !== 0n ? num(x % y) : NIL;
    case "=":
      return bool(numeric ? x === y : a === b);
    case "!=":
      return bool(numeric ? x !== y : a !== b);
    case "<":
      return bool(numeric ? x < y : a < b);
    case ">":
      return bool(numeric ? x > y : a > b);
    case "<=":
      return bool(numeric ? x <= y : a <= b);
    case ">=":
      return bool(numeric ? x >= y : a >= b);
    case "~":
      try {
        return bool(new RegExp(b).test(a));
      } catch {
        return bool(false);
      }
    default:
      return NIL;
  }
}
