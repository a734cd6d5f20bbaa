import type { ExprNode, StringPart, ValueNode } from "./ast.js";
import { rosErrors } from "./errors.js";
import type { Parser } from "./parser.js";
import type { MenuSpec } from "./schema.js";

const WORD = /[A-Za-z0-9_-]/;
/** Characters a string literal takes as they are: all but the closing quote, escapes and `$`. */
const PLAIN_RUN = /[^"\\$]+/y;
const SIMPLE_ESCAPES: Record<string, string> = {
  '"': '"',
  "\\": "\\",
  n: "\n",
  r: "\r",
  t: "\t",
  $: "$",
  _: " ",
  a: "\x07",
  b: "\b",
  f: "\f",
  v: "\v",
  "?": "?",
};

/** Expression operators by precedence: logic < comparison < concatenation/additive < multiplicative. */
const LEVELS: readonly (readonly string[])[] = [
  ["||", "&&"],
  ["!=", "<=", ">=", "=", "<", ">", "~"],
  [".", "+", "-"],
  ["*", "/", "%"],
];
const WORD_OPERATORS: readonly (readonly string[])[] = [["or", "and"], [], [], []];

/** A double-quoted string with RouterOS escapes; `$` substitutions are kept as parts. */
export function parseString(p: Parser, menu: MenuSpec): ValueNode {
  const s = p.s;
  const col = s.col();
  s.pos++;
  const parts: StringPart[] = [];
  let text = "";
  for (;;) {
    const c = s.peek();
    if (c === undefined) throw rosErrors.syntax(s.col());
    if (c === '"') {
      s.pos++;
      break;
    }
    if (c === "\\") {
      text += parseEscape(p);
      continue;
    }
    const part = c === "$" ? parseStringSubstitution(p, menu) : null;
    if (part) {
      if (text !== "") parts.push({ kind: "text", text });
      text = "";
      parts.push(part);
      continue;
    }
    // A run of plain characters at once (a page of names is a dozen KB of them).
    PLAIN_RUN.lastIndex = s.pos;
    const run = PLAIN_RUN.exec(s.src);
    const taken = run === null ? c : run[0];
    text += taken;
    s.pos += taken.length;
  }
  if (text !== "") parts.push({ kind: "text", text });
  return { kind: "string", parts, col };
}

/** `\"`, `\\`, `\n`, … and `\XX` (two upper-case hex digits); anything else is a syntax error. */
function parseEscape(p: Parser): string {
  const s = p.s;
  const col = s.col();
  const e = s.peek(1);
  if (e !== undefined && SIMPLE_ESCAPES[e] !== undefined) {
    s.pos += 2;
    return SIMPLE_ESCAPES[e] as string;
  }
  const hex = s.src.slice(s.pos + 1, s.pos + 3);
  if (/^[0-9A-F]{2}$/.test(hex)) {
    s.pos += 3;
    return String.fromCharCode(Number.parseInt(hex, 16));
  }
  throw rosErrors.syntax(col);
}

/** `$name`, `$[command]`, `$(expression)` inside quotes; null when the `$` is a literal. */
function parseStringSubstitution(p: Parser, menu: MenuSpec): StringPart | null {
  const s = p.s;
  const start = s.pos;
  const col = s.col();
  const next = s.peek(1);
  if (next === "[") {
    s.pos++;
    const sub = p.parseSubst(menu);
    if (sub.kind !== "subst") throw rosErrors.syntax(col);
    return { kind: "cmd", body: sub.body, col, source: s.src.slice(start, s.pos) };
  }
  if (next === "(") {
    s.pos++;
    const sub = parseParenExpr(p, menu);
    if (sub.kind !== "expr") throw rosErrors.syntax(col);
    return { kind: "expr", expr: sub.expr, col, source: s.src.slice(start, s.pos) };
  }
  if (next !== undefined && WORD.test(next)) {
    s.pos++;
    const name = s.take(WORD);
    return { kind: "var", name, col, source: `$${name}` };
  }
  return null;
}

/** `( expression )` as a value. */
export function parseParenExpr(p: Parser, menu: MenuSpec): ValueNode {
  const s = p.s;
  const start = s.pos;
  const col = s.col();
  s.pos++;
  const expr = parseBinary(p, menu, 0);
  s.skipSpace();
  if (s.peek() !== ")") throw rosErrors.syntax(s.col());
  s.pos++;
  return { kind: "expr", expr, col, source: s.src.slice(start, s.pos) };
}

function operatorAt(p: Parser, level: number): string | undefined {
  const s = p.s;
  const symbol = (LEVELS[level] as readonly string[]).find((o) => s.startsWith(o));
  if (symbol) return symbol;
  return (WORD_OPERATORS[level] as readonly string[]).find((w) => {
    const after = s.peek(w.length);
    return s.startsWith(w) && (after === undefined || !/[A-Za-z0-9_]/.test(after));
  });
}

function parseBinary(p: Parser, menu: MenuSpec, level: number): ExprNode {
  if (level >= LEVELS.length) return parsePrimary(p, menu);
  let left = parseBinary(p, menu, level + 1);
  for (;;) {
    p.s.skipSpace();
    const op = operatorAt(p, level);
    if (!op) return left;
    p.s.pos += op.length;
    const right = parseBinary(p, menu, level + 1);
    left = { kind: "binary", op: op === "or" ? "||" : op === "and" ? "&&" : op, left, right };
  }
}

function parsePrimary(p: Parser, menu: MenuSpec): ExprNode {
  const s = p.s;
  s.skipSpace();
  const c = s.peek();
  if (c === "!") {
    s.pos++;
    return { kind: "not", inner: parsePrimary(p, menu) };
  }
  if (c === "(") {
    const inner = parseParenExpr(p, menu);
    return inner.kind === "expr" ? inner.expr : { kind: "value", value: inner };
  }
  if (c === '"') return { kind: "value", value: parseString(p, menu) };
  if (c === "[") return { kind: "value", value: p.parseSubst(menu) };
  if (c === "$") return { kind: "value", value: p.parseVariable() };
  const col = s.col();
  if (c === "*") s.pos++;
  const word = c === "*" ? `*${s.take(/[0-9A-Fa-f]/)}` : s.take(/[A-Za-z0-9_]/);
  if (word === "" || word === "*") throw rosErrors.syntax(col);
  return { kind: "value", value: { kind: "word", text: word, col } };
}
