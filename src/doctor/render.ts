import type { CheckResult, DoctorReport } from "./report.js";

const HEADERS = ["CHECK", "OBSERVED", "SUPPORTED", "NOTE"] as const;

export function supportedText(c: Pick<CheckResult, "supported">): string {
  return c.supported === null ? "-" : c.supported ? "yes" : "no";
}

/** The note with the status in front when it is not plain ok, so a skim finds what needs action. */
function noteText(c: CheckResult): string {
  const prefix = c.status === "ok" ? "" : `${c.status.toUpperCase()}: `;
  return `${prefix}${c.note}`;
}

/** The human report: a heading, one aligned row per check, error wordings, cleanup and the summary. */
export function renderHuman(report: DoctorReport): string {
  const { target } = report;
  const rows = report.checks.map((c) => [c.id, c.observed, supportedText(c), noteText(c)]);
  const widths = HEADERS.slice(0, 3).map((h, i) =>
    Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i < 3 ? cell.padEnd(widths[i] ?? 0) : cell))
      .join("  ")
      .trimEnd();
  const out = [
    `rds-csi doctor ${report.driverVersion}: ${target.user}@${target.address}:${target.port}, pool /${target.pool} (fs label ${target.fsLabel}), root ${target.root}`,
    `scratch directory ${report.scratch}`,
    "",
    line(HEADERS),
    ...rows.map(line),
  ];
  const texts = report.checks.find((c) => c.id === "error_texts")?.details;
  if (texts && Object.keys(texts).length > 0) {
    out.push("", "RouterOS's wording of storage failures:");
    for (const [key, text] of Object.entries(texts)) out.push(`  ${key}: ${text}`);
  }
  out.push("", "Cleanup:");
  if (report.cleanup.removed.length === 0 && report.cleanup.left.length === 0)
    out.push("  nothing was created");
  else out.push(`  removed ${report.cleanup.removed.length} objects`);
  for (const l of report.cleanup.left) out.push(`  LEFT BEHIND ${l.object}: ${l.error}`);
  for (const k of report.cleanup.kept) out.push(`  kept ${k.object}: ${k.reason}`);
  out.push("", `${report.summary} (exit status ${report.exitCode})`);
  return `${out.join("\n")}\n`;
}

export function renderJson(report: DoctorReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}
