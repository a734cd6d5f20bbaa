import { protocolError } from "../errors.js";
import { emptyItem, keyAt, type PrintedItem, parseProperties } from "./properties.js";

/**
 * Parser for `print terse` (reference §1.7): one line per item, `<index> <flags> key=value …`,
 * no legend, no wrapping, and string values printed without quotes even when they hold spaces, so
 * a value runs until the next ` key=`.
 */
export function parseTerse(output: string): PrintedItem[] {
  const items: PrintedItem[] = [];
  for (const rawLine of output.split("\n")) {
    const line = rawLine.endsWith("\r") ? rawLine.slice(0, -1) : rawLine;
    if (line.trim() === "") continue;
    const m = /^ *(\d{1,9})(?= |$)/.exec(line);
    if (!m) throw protocolError("unexpected line in print terse output", line.slice(0, 200));
    const item = emptyItem(Number(m[1]));
    let p = m[0].length;
    while (p < line.length) {
      if (line[p] === " ") {
        p++;
        continue;
      }
      if (keyAt(line, p) >= 0) break;
      while (p < line.length && line[p] !== " ") item.flags.push(line[p++]!);
    }
    parseProperties(line.slice(p), item.properties, { quoted: false });
    items.push(item);
  }
  return items;
}
