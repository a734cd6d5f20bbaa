import type { CompareOp, ValueNode, WhereNode } from "./ast.js";
import { rosErrors } from "./errors.js";
import { parseString } from "./literal-parser.js";
import type { Parser } from "./parser.js";
import type { MenuSpec } from "./schema.js";

const PROP = /[A-Za-z0-9._-]/;
/** Characters safe in an unquoted `where` value; `/` or `:` after them turns it into arithmetic. */
const SAFE_VALUE = /[A-Za-z0-9._*-]/;
const OPS: readonly CompareOp[] = ["!=", "<=", ">=", "=", "<", ">", "~"];

/**
 * `where <expr>` up to the end of the command: `= != < > <= >= ~`, `!`, `and`/`&&`, `or`/`||`,
 * parentheses, `(expr)=true|false`, and bare property names as truthiness tests. Adjacent terms
 * without an operator are combined with `and`.
 */
export function parseWhere(parser: Parser, menu: MenuSpec, closer: "]" | null): WhereNode {
  const w = new WhereParser(parser, menu, closer);
  const node = w.parseOr();
  w.expectEnd();
  return node;
}

class WhereParser {
  constructor(
    private readonly p: Parser,
    private readonly menu: MenuSpec,
    private readonly closer: "]" | null,
  ) {}

  private get s() {
    return this.p.s;
  }

  private atEnd(): boolean {
    this.s.skipSpace();
    const c = this.s.peek();
    return c === undefined || c === ";" || c === this.closer || c === ")";
  }

  expectEnd(): void {
    this.s.skipSpace();
    const c = this.s.peek();
    if (c !== undefined && c !== ";" && c !== this.closer) throw rosErrors.syntax(this.s.col());
  }

  private keyword(...words: string[]): boolean {
    this.s.skipSpace();
    for (const word of words) {
      if (!this.s.startsWith(word)) continue;
      const after = this.s.peek(word.length);
      const symbolic = !/[a-z]/.test(word);
      if (symbolic || after === undefined || !PROP.test(after)) {
        this.s.pos += word.length;
        return true;
      }
    }
    return false;
  }

  parseOr(): WhereNode {
    let left = this.parseAnd();
    while (this.keyword("||", "or")) left = { kind: "or", left, right: this.parseAnd() };
    return left;
  }

  private parseAnd(): WhereNode {
    let left = this.parseUnary();
    for (;;) {
      if (this.keyword("&&", "and")) {
        left = { kind: "and", left, right: this.parseUnary() };
        continue;
      }
      if (this.atEnd() || this.s.startsWith("||") || this.startsWord("or")) return left;
      left = { kind: "and", left, right: this.parseUnary() };
    }
  }

  private startsWord(word: string): boolean {
    if (!this.s.startsWith(word)) return false;
    const after = this.s.peek(word.length);
    return after === undefined || !PROP.test(after);
  }

  private parseUnary(): WhereNode {
    this.s.skipSpace();
    if (this.s.peek() === "!" && this.s.peek(1) !== "=") {
      this.s.pos++;
      return { kind: "not", inner: this.parseUnary() };
    }
    if (this.keyword("not")) return { kind: "not", inner: this.parseUnary() };
    return this.parsePrimary();
  }

  private parsePrimary(): WhereNode {
    this.s.skipSpace();
    const col = this.s.col();
    if (this.s.peek() === "(") {
      this.s.pos++;
      const inner = this.parseOr();
      this.s.skipSpace();
      if (this.s.peek() !== ")") throw rosErrors.syntax(this.s.col());
      this.s.pos++;
      return this.parseIsSuffix(inner);
    }
    const prop = this.s.take(PROP);
    if (prop === "") throw rosErrors.syntax(col);
    this.s.skipSpace();
    const op = OPS.find((o) => this.s.startsWith(o));
    if (!op) return { kind: "truthy", prop };
    this.s.pos += op.length;
    this.s.skipSpace();
    return { kind: "compare", prop, op, value: this.parseWhereValue() };
  }

  private parseIsSuffix(inner: WhereNode): WhereNode {
    const save = this.s.pos;
    this.s.skipSpace();
    if (this.s.peek() !== "=") {
      this.s.pos = save;
      return inner;
    }
    this.s.pos++;
    this.s.skipSpace();
    const word = this.s.take(/[a-z]/);
    if (word === "true" || word === "yes") return { kind: "is", inner, expect: true };
    if (word === "false" || word === "no") return { kind: "is", inner, expect: false };
    throw rosErrors.syntax(this.s.col());
  }

  private parseWhereValue(): ValueNode {
    const col = this.s.col();
    const c = this.s.peek();
    if (c === undefined || c === ";" || c === this.closer) throw rosErrors.expectedInputValue(col);
    if (c === '"') return parseString(this.p, this.menu);
    if (c === "[") return this.p.parseSubst(this.menu);
    if (c === "$") return this.p.parseVariable();
    const text = this.s.take(SAFE_VALUE);
    const next = this.s.peek();
    if (next === "/" || next === ":") {
      // RouterOS reads `a/b` or `x:y` here as an expression, which then never equals a property.
      const rest = this.s.take(/[^\s;)\]]/);
      return { kind: "opaque", text: text + rest, col };
    }
    if (text === "") throw rosErrors.syntax(col);
    return { kind: "word", text, col };
  }
}
