import { RdsError, type RdsErrorKind } from "./errors.js";

/**
 * The one classifier of RouterOS replies. RouterOS ends every exec channel with exit status 0 and
 * prints errors on stdout (reference §0-1, §1.8), so success or failure is read from the text.
 *
 * Errors are printed from column 0 and stand alone on a line, so only the first and the last
 * non-empty line are examined, anchored at the line start. Data lines never look like that:
 * `print detail` items start with an index or indentation, JSON with `[`, `as-value` with `.id=`.
 * That keeps a comment or file name that happens to contain "failure:" from being taken for an
 * error.
 */

interface Rule {
  kind: RdsErrorKind;
  pattern: RegExp;
}

/** Standalone error lines (reference §1.8). */
const LINE_RULES: readonly Rule[] = [
  { kind: "not-found", pattern: /^no such (item|file|entry)\b/i },
  {
    kind: "already-exists",
    pattern: /^(already have such (item|entry|name)|item with such name already exists)\b/i,
  },
  {
    kind: "invalid-input",
    pattern:
      /^(bad command name|syntax error|expected end of command|expected command name|expected input value|expected item id|expected closing|input does not match any value|invalid value for argument|bad parameter|value of \S+ out of range|ambiguous value|missing value|invalid internal item number|unknown parameter)\b/i,
  },
  {
    kind: "no-space",
    pattern: /^(not enough (free )?(disk )?space|no space left|out of (disk )?space|disk full)\b/i,
  },
  { kind: "transient", pattern: /^(action timed out|timeout|interrupted|busy\b|try again|not ready)/i },
];

/** The wording after `failure: `: storage errors are undocumented, so the patterns are deliberately broad. */
const FAILURE_RULES: readonly Rule[] = [
  {
    kind: "no-space",
    pattern:
      /no (free )?space|not enough (free )?(disk )?space|out of (disk )?space|disk (is )?full|enospc|quota/i,
  },
  {
    kind: "already-exists",
    pattern: /already (have|has|exists?)|exists already|such (item|entry|name) already|file exists/i,
  },
  {
    kind: "not-found",
    pattern:
      /no such|not found|does not exist|doesn't exist|not exist|cannot find|could not find|unknown (item|subvolume|disk|file)/i,
  },
  {
    kind: "transient",
    pattern:
      /timed? ?out|timeout|busy|in use|try again|temporar|in progress|interrupted|not ready|unavailable|locked/i,
  },
  {
    kind: "invalid-input",
    pattern:
      /invalid|not allowed|not supported|unsupported|bad |must be|out of range|too (long|short|big|small|large)|can ?not shrink|not empty|read-only/i,
  },
];

function firstAndLastLines(text: string): string[] {
  const lines = text.split(/\r?\n/);
  let first: string | undefined;
  let last: string | undefined;
  for (const raw of lines) {
    const line = raw.trimEnd();
    if (line === "") continue;
    if (first === undefined) first = line;
    last = line;
  }
  if (first === undefined) return [];
  return first === last || last === undefined ? [first] : [first, last];
}

function classifyLine(line: string): { kind: RdsErrorKind; text: string } | null {
  const failure = /^failure:\s*(.*)$/i.exec(line);
  if (failure) {
    const rest = failure[1] ?? "";
    const rule = FAILURE_RULES.find((r) => r.pattern.test(rest));
    // An unrecognised `failure:` is still a failure; "protocol" says the client could not interpret it.
    return { kind: rule?.kind ?? "protocol", text: line };
  }
  const rule = LINE_RULES.find((r) => r.pattern.test(line));
  return rule ? { kind: rule.kind, text: line } : null;
}

/**
 * Returns the typed error RouterOS reported in `output`, or null when the reply is not an error.
 * `command` is attached to the error for logs and messages.
 */
export function classifyReply(output: string, command?: string): RdsError | null {
  for (const line of firstAndLastLines(output)) {
    const found = classifyLine(line);
    if (!found) continue;
    const message =
      found.kind === "protocol"
        ? `RouterOS reported an unrecognised failure: ${found.text}`
        : `RouterOS: ${found.text}`;
    return new RdsError(found.kind, message, {
      command,
      routerText: found.text.slice(0, 500),
      retryable: found.kind === "transient",
    });
  }
  return null;
}
