import { formatHumanSize, groupDigits } from "./sizes.js";
import { formatId, type RosValue, toText } from "./values.js";

/**
 * How a property is rendered by `print`: strings are quoted (even when empty), enums/paths/numbers are
 * bare, big numbers are space-grouped, sizes human-readable, booleans yes/no, `use` as a percentage.
 */
export type PropStyle = "quoted" | "bare" | "grouped" | "human" | "yesno" | "percent";

export interface PropValue {
  readonly name: string;
  readonly value: RosValue;
  readonly style: PropStyle;
}

export interface FlagDef {
  readonly letter: string;
  /** Lower-case property name, e.g. `block-device`; the legend prints it upper-case. */
  readonly name: string;
}

export interface PrintRow {
  /** Position in the whole table (not renumbered by `where`). */
  readonly index: number;
  readonly flags: ReadonlySet<string>;
  readonly comment?: string;
  readonly props: readonly PropValue[];
}

export interface PrintOptions {
  readonly width: number;
  readonly humanThreshold: number;
  readonly separator: string;
  readonly emptyLegend: boolean;
}

const NAMED_ESCAPES: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };

/** Escapes a string for display inside double quotes, with RouterOS's escape set. */
export function quote(text: string): string {
  if (!/["\\\x00-\x1f\x7f]/.test(text)) return `"${text}"`;
  let out = '"';
  for (const ch of text) {
    const code = ch.charCodeAt(0);
    if (ch === '"' || ch === "\\") out += `\\${ch}`;
    else if (NAMED_ESCAPES[ch] !== undefined) out += NAMED_ESCAPES[ch];
    else if (code < 0x20 || code === 0x7f) out += `\\${code.toString(16).toUpperCase().padStart(2, "0")}`;
    else out += ch;
  }
  return `${out}"`;
}

/** The text of one property value as `print` shows it (`terse` leaves strings unquoted). */
export function renderValue(prop: PropValue, threshold: number, terse = false): string {
  const v = prop.value;
  switch (prop.style) {
    case "quoted":
      return terse ? toText(v) : quote(toText(v));
    case "yesno":
      return v.t === "bool" ? (v.v ? "yes" : "no") : toText(v);
    case "grouped":
      return v.t === "num" ? groupDigits(v.v) : toText(v);
    case "human":
      return v.t === "num" ? formatHumanSize(v.v, threshold) : toText(v);
    case "percent":
      return `${toText(v)}%`;
    case "bare": {
      const text = v.t === "id" ? formatId(v.v, v.opaque) : toText(v);
      return text === "" && !terse ? '""' : text;
    }
  }
}

/** `Flags: B - BLOCK-DEVICE; t - NVME-TCP-EXPORT` for the flags present among the printed rows. */
export function presentFlags(allFlags: readonly FlagDef[], rows: readonly PrintRow[]): FlagDef[] {
  return allFlags.filter((f) => rows.some((r) => r.flags.has(f.name)));
}

export function legendLine(flags: readonly FlagDef[]): string {
  return `Flags: ${flags.map((f) => `${f.letter} - ${f.name.toUpperCase()}`).join("; ")}`;
}

/**
 * What a print that matched nothing shows: RouterOS 7.2x prints the menu's whole legend (setting
 * `empty_print_legend`); a menu without flags prints nothing.
 */
function emptyLegend(
  allFlags: readonly FlagDef[],
  rows: readonly PrintRow[],
  opts: PrintOptions,
): string | undefined {
  if (rows.length > 0 || !opts.emptyLegend || allFlags.length === 0) return undefined;
  return legendLine(allFlags);
}

/** `31 Bt `: the index right-aligned, one column per present flag, a space. */
function rowPrefix(row: PrintRow, flags: readonly FlagDef[], indexWidth: number): string {
  const index = String(row.index).padStart(indexWidth, " ");
  if (flags.length === 0) return `${index} `;
  const columns = flags.map((f) => (row.flags.has(f.name) ? f.letter : " ")).join("");
  return `${index} ${columns} `;
}

function indexWidth(rows: readonly PrintRow[]): number {
  return Math.max(2, ...rows.map((r) => String(r.index).length));
}

/**
 * Greedy wrapping at property boundaries: every token is followed by a space and a line never exceeds
 * `width`; a token longer than a whole continuation line is split hard. Width 0 disables wrapping.
 */
export function wrapTokens(
  first: string,
  indentWidth: number,
  tokens: readonly string[],
  width: number,
): string[] {
  const indent = " ".repeat(indentWidth);
  const lines: string[] = [];
  let line = first;
  let fresh = true;
  for (const token of tokens) {
    const piece = `${token} `;
    if (width <= 0 || line.length + piece.length <= width) {
      line += piece;
      fresh = false;
      continue;
    }
    if (!fresh) {
      lines.push(line);
      line = indent;
    }
    let rest = piece;
    while (line.length + rest.length > width && width > line.length) {
      const room = width - line.length;
      lines.push(line + rest.slice(0, room));
      rest = rest.slice(room);
      line = indent;
    }
    line += rest;
    fresh = false;
  }
  lines.push(line);
  return lines;
}

/** `print detail`: legend, then each row wrapped, with a separator line between rows. */
export function formatDetail(
  allFlags: readonly FlagDef[],
  rows: readonly PrintRow[],
  opts: PrintOptions,
): string[] {
  const flags = presentFlags(allFlags, rows);
  const out: string[] = [];
  const legend = emptyLegend(allFlags, rows, opts);
  if (legend !== undefined) out.push(legend);
  else if (flags.length > 0) out.push(legendLine(flags));
  const width = indexWidth(rows);
  rows.forEach((row, i) => {
    if (i > 0) out.push(opts.separator);
    const prefix = rowPrefix(row, flags, width);
    const tokens = row.props.map((p) => `${p.name}=${renderValue(p, opts.humanThreshold)}`);
    if (row.comment === undefined) {
      out.push(...wrapTokens(prefix, prefix.length, tokens, opts.width));
      return;
    }
    out.push(`${prefix};;; ${row.comment}`);
    out.push(...wrapTokens(" ".repeat(prefix.length), prefix.length, tokens, opts.width));
  });
  return out;
}

/** `print terse`: one unwrapped line per row, no legend, strings unquoted. */
export function formatTerse(
  allFlags: readonly FlagDef[],
  rows: readonly PrintRow[],
  threshold: number,
): string[] {
  const flags = presentFlags(allFlags, rows);
  const width = indexWidth(rows);
  return rows.map((row) => {
    const prefix = rowPrefix(row, flags, width);
    const comment = row.comment !== undefined ? [`comment=${row.comment}`] : [];
    const tokens = [...comment, ...row.props.map((p) => `${p.name}=${renderValue(p, threshold, true)}`)];
    return prefix + tokens.join(" ");
  });
}

export interface TableColumn {
  readonly title: string;
  readonly prop: string;
  readonly align: "left" | "right";
}

/** The default `print` table: legend, `Columns:` line, header, rows; columns two spaces apart. */
export function formatTable(
  allFlags: readonly FlagDef[],
  columns: readonly TableColumn[],
  rows: readonly PrintRow[],
  opts: PrintOptions,
): string[] {
  const flags = presentFlags(allFlags, rows);
  const cells = rows.map((row) =>
    columns.map((c) => {
      const prop = row.props.find((p) => p.name === c.prop);
      return prop ? renderValue(prop, opts.humanThreshold, true) : "";
    }),
  );
  const shown = columns.map((_, i) => cells.some((r) => (r[i] ?? "") !== "")).map((v, i) => v || i === 0);
  const cols = columns.filter((_, i) => shown[i]);
  const rowCells = cells.map((r) => r.filter((_, i) => shown[i]));
  const out: string[] = [];
  const legend = emptyLegend(allFlags, rows, opts);
  if (legend !== undefined) out.push(legend);
  else if (flags.length > 0) out.push(legendLine(flags));
  if (rows.length === 0) return out;
  out.push(`Columns: ${cols.map((c) => c.title).join(", ")}`);
  const idxWidth = Math.max(...rows.map((r) => String(r.index).length));
  const prefixes = rows.map((r) => {
    const index = String(r.index).padStart(idxWidth, " ");
    return flags.length === 0
      ? `${index} `
      : `${index} ${flags.map((f) => (r.flags.has(f.name) ? f.letter : " ")).join("")} `;
  });
  const prefixWidth = Math.max(...prefixes.map((p) => p.length));
  const widths = cols.map((c, i) => Math.max(c.title.length, ...rowCells.map((r) => (r[i] ?? "").length)));
  const line = (first: string, values: readonly string[]) =>
    (
      first.padEnd(prefixWidth, " ") +
      values
        .map((v, i) =>
          (cols[i] as TableColumn).align === "right" ? v.padStart(widths[i] ?? 0) : v.padEnd(widths[i] ?? 0),
        )
        .join("  ")
    ).trimEnd();
  out.push(
    line(
      "#",
      cols.map((c) => c.title),
    ),
  );
  rows.forEach((_, i) => {
    out.push(line(prefixes[i] as string, rowCells[i] as string[]));
  });
  return out;
}
