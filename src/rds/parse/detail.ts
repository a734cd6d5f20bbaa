import { protocolError } from "../errors.js";
import { emptyItem, keyAt, type PrintedItem, parseProperties } from "./properties.js";

/**
 * Parser for `print detail` (reference §2.3):
 *
 *   Flags: B - BLOCK-DEVICE; t - NVME-TCP-EXPORT
 *   31 Bt type=file slot="vm-storage-001" … nvme-tcp-export=yes
 *         nvme-tcp-server-port=4420 …
 *
 * An item starts with its right-aligned index and flag letters; continuation lines are indented to
 * where the first property starts; items are separated by blank lines. Lines wrap at property
 * boundaries (the line keeps a trailing space) or, for a token longer than the line, mid-token.
 * A line that ends without a space is therefore glued to the next one, unless the next one starts
 * with `key=` (trailing spaces lost in transit, or a token that filled the line exactly): a cut
 * can only fall inside a key on a terminal narrower than the longest key, and the client asks
 * for 512 columns. The parser is linear: every character is examined a bounded number of times.
 */

interface Piece {
  text: string;
}

interface PendingItem {
  item: PrintedItem;
  contIndent: number;
  commentOpen: boolean;
  pieces: Piece[];
}

const ITEM_LINE = /^( *)(\d{1,9})(?= |$)/;

export function parseLegend(text: string): Map<string, string> {
  const legend = new Map<string, string>();
  for (const part of text.split(/[;,]/)) {
    const m = /^\s*(\S) - (\S.*?)\s*$/.exec(part.length > 200 ? "" : part);
    if (m) legend.set(m[1]!, m[2]!.toLowerCase());
  }
  return legend;
}

function leadingSpaces(line: string): number {
  let n = 0;
  while (n < line.length && line[n] === " ") n++;
  return n;
}

/** Reads index, flag letters and an optional `;;;` comment from an item's first line. */
function startItem(line: string, match: RegExpExecArray, legend: Map<string, string>): PendingItem {
  const item = emptyItem(Number(match[2]));
  let p = match[0].length;
  let contIndent = -1;
  let commentOpen = false;
  const pieces: Piece[] = [];
  while (p < line.length) {
    if (line[p] === " ") {
      p++;
      continue;
    }
    if (line.startsWith(";;;", p)) {
      contIndent = p;
      item.comment = line.slice(p + 3).trim();
      commentOpen = true;
      break;
    }
    if (keyAt(line, p) >= 0) {
      contIndent = p;
      pieces.push({ text: line.slice(p) });
      break;
    }
    // Flag letters: one character per flag column, columns without the flag printed as spaces.
    while (p < line.length && line[p] !== " ") {
      const letter = line[p]!;
      item.flags.push(letter);
      const name = legend.get(letter);
      if (name !== undefined) item.flagNames.push(name);
      p++;
    }
  }
  if (contIndent < 0) contIndent = match[0].length + 1;
  return { item, contIndent, commentOpen, pieces };
}

interface QuoteState {
  inQuote: boolean;
  escaped: boolean;
  prev: string;
}

function advanceQuoteState(state: QuoteState, text: string): void {
  for (const ch of text) {
    if (state.inQuote) {
      if (state.escaped) state.escaped = false;
      else if (ch === "\\") state.escaped = true;
      else if (ch === '"') state.inQuote = false;
    } else if (ch === '"' && state.prev === "=") {
      state.inQuote = true;
    }
    state.prev = ch;
  }
}

/** Rebuilds the single logical line of an item's properties from its wrapped pieces. */
function joinPieces(pieces: Piece[]): string {
  const parts: string[] = [];
  const state: QuoteState = { inQuote: false, escaped: false, prev: "" };
  for (let k = 0; k < pieces.length; k++) {
    const piece = pieces[k]!;
    const prev = pieces[k - 1];
    if (prev !== undefined && !state.inQuote) {
      if (/\s$/.test(prev.text)) {
        // Wrapped at a property boundary: the separating space(s) ended the previous line.
        parts[parts.length - 1] = prev.text.trimEnd();
        parts.push(" ");
      } else if (keyAt(piece.text, 0) >= 0) {
        // The next line starts a property: the previous token ended at the line's end.
        parts.push(" ");
      }
      // Otherwise the token was cut at the line's end: glue it back.
    }
    parts.push(piece.text);
    advanceQuoteState(state, piece.text);
  }
  return parts.join("");
}

function finishItem(pending: PendingItem): PrintedItem {
  const words = parseProperties(joinPieces(pending.pieces), pending.item.properties);
  if (words.length > 0 && pending.item.properties.size === 0) {
    throw protocolError("print detail item has no properties", words.join(" "));
  }
  return pending.item;
}

function addContinuation(pending: PendingItem, line: string): void {
  const text = line.slice(Math.min(leadingSpaces(line), pending.contIndent));
  if (pending.commentOpen) {
    if (keyAt(text, leadingSpaces(text)) < 0 && pending.pieces.length === 0) {
      pending.item.comment = `${pending.item.comment ?? ""} ${text.trim()}`.trim();
      return;
    }
    pending.commentOpen = false;
  }
  pending.pieces.push({ text });
}

export function parseDetail(output: string): PrintedItem[] {
  const items: PrintedItem[] = [];
  let legendText: string | null = null;
  let legend = new Map<string, string>();
  let pending: PendingItem | null = null;
  const flush = () => {
    if (pending) items.push(finishItem(pending));
    pending = null;
  };
  for (const rawLine of output.split("\n")) {
    const line = rawLine.endsWith("\r") ? rawLine.slice(0, -1) : rawLine;
    if (line.trim() === "") {
      flush();
      continue;
    }
    const itemMatch = ITEM_LINE.exec(line);
    const isItemLine =
      itemMatch !== null && (pending === null || itemMatch[1]!.length < (pending as PendingItem).contIndent);
    if (isItemLine) {
      flush();
      if (legendText !== null) legend = parseLegend(legendText);
      legendText = null;
      pending = startItem(line, itemMatch, legend);
    } else if (pending !== null) {
      addContinuation(pending, line);
    } else if (items.length === 0 && line.startsWith("Flags:")) {
      legendText = line.slice("Flags:".length);
    } else if (legendText !== null && items.length === 0) {
      legendText += ` ${line.trim()}`;
    } else if (line.startsWith("Columns:")) {
      throw protocolError("expected print detail output, got a table", line);
    } else {
      throw protocolError("unexpected line in print detail output", line.slice(0, 200));
    }
  }
  flush();
  return items;
}
