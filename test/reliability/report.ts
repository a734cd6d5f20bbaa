/** Plain-text tables of the cases run, for the test's console output. */
import { status } from "@grpc/grpc-js";

export interface Row {
  cells: string[];
  passed: boolean;
  problems: string[];
}

/** The `;`-separated commands of an exec line (a `;` inside quotes or brackets does not count). */
function commandsOf(line: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === "\\") i++;
      else if (c === '"') quoted = false;
    } else if (c === '"') quoted = true;
    else if (c === "[") depth++;
    else if (c === "]") depth--;
    else if (c === ";" && depth === 0) {
      out.push(line.slice(start, i).trim());
      start = i + 1;
    }
  }
  out.push(line.slice(start).trim());
  return out;
}

/** One command, a listing shortened to `LIST <menu> <condition>`; a bare `:put "…"` (a reply separator) is dropped. */
function describeOne(command: string): string | undefined {
  if (command === "" || /^:put "[^"]*"$/.test(command)) return undefined;
  const listing = /^:put \[:serialize to=json \[(\S+) print detail as-value(?: (.*?))?\]\]$/.exec(command);
  if (!listing) return command;
  return `LIST ${listing[1]}${listing[2] ? ` ${listing[2].replace(/^where /, "")}` : ""}`;
}

/** A readable form of an exec line: its commands joined by ` + `, cut at 110 characters. */
export function describeCommand(template: string, occurrence: number): string {
  const text = commandsOf(template)
    .map(describeOne)
    .filter((p) => p !== undefined)
    .join(" + ");
  const short = text.length > 110 ? `${text.slice(0, 109)}…` : text;
  return occurrence > 1 ? `${short} (again, #${occurrence})` : short;
}

/** `UNAVAILABLE → OK`; a final error that was checked for rollback is marked. */
export function describeCodes(codes: readonly status[], rolledBack: number): string {
  const names = codes.map((c) => status[c] ?? String(c));
  return `${names.join(" → ")}${rolledBack > 0 ? " (final error rolled back)" : ""}`;
}

export function formatTable(title: string, header: string[], rows: readonly Row[]): string {
  const all = [header, ...rows.map((r) => [...r.cells, r.passed ? "pass" : "FAIL"])];
  if (all[0]) all[0] = [...header, "verdict"];
  const widths = all[0]!.map((_, i) => Math.max(...all.map((cells) => (cells[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join(" | ")
      .trimEnd();
  const passed = rows.filter((r) => r.passed).length;
  const out = [
    title,
    line(all[0]!),
    widths.map((w) => "-".repeat(w)).join("-+-"),
    ...all.slice(1).map(line),
    `${rows.length} cases run, ${passed} passed, ${rows.length - passed} failed`,
  ];
  for (const row of rows.filter((r) => !r.passed)) {
    out.push(`FAILED ${row.cells.join(" | ")}:\n    ${row.problems.join("\n    ")}`);
  }
  return out.join("\n");
}
