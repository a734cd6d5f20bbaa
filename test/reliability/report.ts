/** Plain-text tables of the cases run, for the test's console output. */
import { status } from "@grpc/grpc-js";

export interface Row {
  cells: string[];
  passed: boolean;
  problems: string[];
}

/** A readable form of a RouterOS line: listings shortened to `LIST <menu> <condition>`. */
export function describeCommand(template: string, occurrence: number): string {
  const listing = /^:put \[:serialize to=json \[(\S+) print detail as-value(?: where (.*))?\]\]$/.exec(
    template,
  );
  const text = listing ? `LIST ${listing[1]}${listing[2] ? ` ${listing[2]}` : ""}` : template;
  const short = text.length > 96 ? `${text.slice(0, 95)}…` : text;
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
