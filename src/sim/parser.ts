import type { ArgNode, Statement, ValueNode, WhereNode } from "./ast.js";
import { type RosError, rosErrors } from "./errors.js";
import { parseParenExpr, parseString } from "./literal-parser.js";
import { Scanner } from "./scanner.js";
import type { ArgSpec, CommandSpec, MenuSpec } from "./schema.js";
import { availableIn, type RosVersion, versionAtLeast } from "./version.js";
import { parseWhere } from "./where-parser.js";

export interface ParseOptions {
  readonly root: MenuSpec;
  /** Commands written with a leading colon (`:put`, `:serialize`). */
  readonly globals: MenuSpec;
  readonly version: RosVersion;
}

const WORD = /[A-Za-z0-9_-]/;
const NAME = /[A-Za-z0-9._-]/;
/** Characters that end an unquoted value. */
const VALUE_END = new Set([" ", "\t", ";", "="]);
/** Characters that are illegal inside an unquoted value. */
const VALUE_ILLEGAL = new Set(["$", "\\", '"', "'", "(", ")", "[", "{", "}", "`"]);

/**
 * Parses one exec line into statements. The whole line is parsed before anything runs, so any error
 * here means nothing executes (RouterOS behaves the same way).
 */
export function parseLine(line: string, options: ParseOptions): Statement[] {
  return new Parser(line, options).parseLine();
}

export class Parser {
  readonly s: Scanner;

  constructor(
    line: string,
    readonly options: ParseOptions,
  ) {
    this.s = new Scanner(line);
  }

  parseLine(): Statement[] {
    const newline = this.s.src.search(/[\r\n]/);
    if (newline >= 0) throw rosErrors.syntax(this.s.col(newline));
    const statements = this.parseStatements(this.options.root, null);
    if (!this.s.eof()) throw rosErrors.syntax(this.s.col());
    return statements;
  }

  /** Statements separated by `;`, up to the end of the line or the closing `]` of a substitution. */
  parseStatements(menu: MenuSpec, closer: "]" | null): Statement[] {
    let current = menu;
    const out: Statement[] = [];
    for (;;) {
      this.s.skipSpace();
      const c = this.s.peek();
      if (c === undefined) {
        if (closer !== null) throw rosErrors.syntax(this.s.col());
        return out;
      }
      if (c === closer) return out;
      if (c === ";") {
        this.s.pos++;
        continue;
      }
      if (c === "#") {
        if (closer !== null) throw rosErrors.syntax(this.s.col());
        this.s.pos = this.s.src.length;
        return out;
      }
      const statement = this.parseStatement(current, closer);
      if (statement.kind === "cd") current = statement.menu;
      out.push(statement);
      this.s.skipSpace();
      const next = this.s.peek();
      if (next !== undefined && next !== ";" && next !== closer) throw rosErrors.expectedEnd(this.s.col());
    }
  }

  private parseStatement(menu: MenuSpec, closer: "]" | null): Statement {
    if (this.s.peek() === ":") return this.parseGlobal(closer);
    let current = menu;
    if (this.s.peek() === "/") {
      current = this.options.root;
      this.s.pos++;
    }
    for (;;) {
      this.s.skipSpace();
      const col = this.s.col();
      const word = this.s.take(WORD);
      if (word === "") {
        const c = this.s.peek();
        if (c === undefined || c === ";" || c === closer) return { kind: "cd", menu: current };
        if (c === "/") {
          this.s.pos++;
          continue;
        }
        throw rosErrors.expectedCommandName(col);
      }
      const found = this.lookupWord(current, word, col);
      if (found.kind === "menu") {
        current = found.menu;
        if (this.s.peek() === "/") this.s.pos++;
        continue;
      }
      const { args, where } = this.parseArgs(current, found.command, closer);
      return { kind: "command", menu: current, command: found.command, args, where, col };
    }
  }

  private parseGlobal(closer: "]" | null): Statement {
    const col = this.s.col();
    this.s.pos++;
    const word = this.s.take(WORD);
    const command = this.options.globals.commands.find(
      (c) => c.name === word && availableIn(this.options.version, c),
    );
    if (!command) throw rosErrors.badCommandName(word === "" ? ":" : word, col + 1);
    const { args, where } = this.parseArgs(this.options.globals, command, closer);
    return { kind: "command", menu: this.options.globals, command, args, where, col };
  }

  /** Exact names first, then a unique prefix (RouterOS accepts unambiguous abbreviations). */
  private lookupWord(
    menu: MenuSpec,
    word: string,
    col: number,
  ): { kind: "menu"; menu: MenuSpec } | { kind: "command"; command: CommandSpec } {
    const v = this.options.version;
    const menus = menu.menus.filter((m) => availableIn(v, m));
    const commands = menu.commands.filter((c) => availableIn(v, c));
    const exactMenu = menus.find((m) => m.name === word);
    if (exactMenu) return { kind: "menu", menu: exactMenu };
    const exactCommand = commands.find((c) => c.name === word);
    if (exactCommand) return { kind: "command", command: exactCommand };
    const prefixed = [
      ...menus.filter((m) => m.name.startsWith(word)).map((m) => ({ kind: "menu" as const, menu: m })),
      ...commands
        .filter((c) => c.name.startsWith(word))
        .map((c) => ({ kind: "command" as const, command: c })),
    ];
    if (prefixed.length === 1) return prefixed[0] as { kind: "menu"; menu: MenuSpec };
    throw rosErrors.badCommandName(word, col);
  }

  private findArg(command: CommandSpec, name: string): ArgSpec | undefined {
    const args = command.args.filter((a) => availableIn(this.options.version, a));
    const exact = args.find((a) => a.name === name);
    if (exact) return exact;
    const prefixed = args.filter((a) => a.name.startsWith(name));
    return prefixed.length === 1 ? prefixed[0] : undefined;
  }

  /** Unknown argument: the wording and column changed in 7.23. */
  unknownArg(name: string, col: number, endCol: number): RosError {
    if (versionAtLeast(this.options.version, "7.23")) return rosErrors.badParameter(name, endCol);
    return rosErrors.expectedEnd(col);
  }

  private parseArgs(
    menu: MenuSpec,
    command: CommandSpec,
    closer: "]" | null,
  ): { args: ArgNode[]; where: WhereNode | null } {
    const args: ArgNode[] = [];
    const unnamed = [...(command.unnamed ?? [])];
    for (;;) {
      this.s.skipSpace();
      const c = this.s.peek();
      if (c === undefined || c === ";" || c === closer) return { args, where: null };
      if (c === "#" && closer === null) {
        this.s.pos = this.s.src.length;
        return { args, where: null };
      }
      const start = this.s.pos;
      const col = this.s.col();
      const word = this.s.take(NAME);
      if (word !== "" && this.s.peek() === "=") {
        const spec = this.findArg(command, word);
        if (!spec) throw this.unknownArg(word, col, this.s.col());
        if (spec.kind === "flag") throw rosErrors.expectedEnd(this.s.col());
        this.s.pos++;
        this.s.skipSpace();
        const value = this.atValueEnd(closer) ? this.emptyValue() : this.parseValue(menu, closer);
        this.removeUnnamed(unnamed, spec.name);
        args.push({ spec, value, col });
        continue;
      }
      if (word === "where" && command.where && this.atWordEnd(closer)) {
        const where = parseWhere(this, menu, closer);
        return { args, where };
      }
      const flag =
        word !== "" && this.atWordEnd(closer) ? this.flagFor(command, word, unnamed.length > 0) : null;
      if (flag) {
        args.push({ spec: flag, value: null, col });
        continue;
      }
      this.s.pos = start;
      const slot = unnamed.shift();
      const spec = slot === undefined ? undefined : command.args.find((a) => a.name === slot);
      if (!spec) {
        const token = word === "" ? (this.s.peek() as string) : word;
        throw this.unknownArg(token, col, this.s.col(start + token.length));
      }
      args.push({ spec, value: this.parseValue(menu, closer), col });
    }
  }

  private flagFor(command: CommandSpec, word: string, unnamedLeft: boolean): ArgSpec | null {
    const flags = command.args.filter((a) => a.kind === "flag" && availableIn(this.options.version, a));
    const exact = flags.find((a) => a.name === word);
    if (exact) return exact;
    if (unnamedLeft) return null;
    const prefixed = flags.filter((a) => a.name.startsWith(word));
    return prefixed.length === 1 ? (prefixed[0] as ArgSpec) : null;
  }

  private removeUnnamed(unnamed: string[], name: string): void {
    const i = unnamed.indexOf(name);
    if (i >= 0) unnamed.splice(0, i + 1);
  }

  private atWordEnd(closer: "]" | null): boolean {
    const c = this.s.peek();
    return c === undefined || c === " " || c === "\t" || c === ";" || c === closer;
  }

  private atValueEnd(closer: "]" | null): boolean {
    const c = this.s.peek();
    return c === undefined || c === ";" || c === closer;
  }

  private emptyValue(): ValueNode {
    return { kind: "word", text: "", col: this.s.col() };
  }

  /** One argument value: a bare word, a quoted string, `[command]`, `$var` or `(expression)`. */
  parseValue(menu: MenuSpec, closer: "]" | null): ValueNode {
    const col = this.s.col();
    const c = this.s.peek();
    let value: ValueNode;
    if (c === '"') value = parseString(this, menu);
    else if (c === "[") value = this.parseSubst(menu);
    else if (c === "$") value = this.parseVariable();
    else if (c === "(") value = parseParenExpr(this, menu);
    else value = this.parseBareWord(closer);
    const next = this.s.peek();
    if (next !== undefined && next !== " " && next !== "\t" && next !== ";" && next !== closer) {
      if (next === "=") throw rosErrors.expectedEnd(this.s.col());
      throw rosErrors.syntax(this.s.col());
    }
    return value.kind === "word" ? { ...value, col } : value;
  }

  private parseBareWord(closer: "]" | null): ValueNode {
    const col = this.s.col();
    const start = this.s.pos;
    for (;;) {
      const c = this.s.peek();
      if (c === undefined || VALUE_END.has(c) || c === closer) break;
      if (VALUE_ILLEGAL.has(c) || c === "]") throw rosErrors.syntax(this.s.col());
      this.s.pos++;
    }
    if (this.s.pos === start) throw rosErrors.expectedInputValue(col);
    return { kind: "word", text: this.s.src.slice(start, this.s.pos), col };
  }

  parseVariable(): ValueNode {
    const col = this.s.col();
    this.s.pos++;
    const name = this.s.take(WORD);
    if (name === "") throw rosErrors.syntax(this.s.col());
    return { kind: "var", name, col };
  }

  parseSubst(menu: MenuSpec): ValueNode {
    const start = this.s.pos;
    const col = this.s.col();
    this.s.pos++;
    const body = this.parseStatements(menu, "]");
    this.s.pos++;
    return { kind: "subst", body, col, source: this.s.src.slice(start, this.s.pos) };
  }
}
