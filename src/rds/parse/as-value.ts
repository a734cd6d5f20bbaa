import { protocolError } from "../errors.js";
import { emptyItem, keyAt, type PrintedItem } from "./properties.js";

/**
 * Parser for `:put [/menu print detail as-value …]` (reference §1.7): one line, records joined by
 * `;`, each record starting at `.id=`, keys in alphabetical order, values unquoted.
 *
 * A value may itself contain `;`. The format cannot say where such a value ends, so a `;` counts
 * as a separator only when what follows is a key that sorts after the previous one (or `.id`,
 * which starts the next record). That resolves every value the driver writes; JSON (7.13+) is
 * the unambiguous form and is preferred where available.
 *
 * `:put` wraps its one line at the session width, inserting CRLF anywhere, even inside a key or a
 * value, so every line break is a wrap and the lines are joined. (A value holding a line break of
 * its own, such as a file's `contents`, cannot be told from a wrap; the client never asks for one.)
 */
export function parseAsValue(output: string): PrintedItem[] {
  const text = output.replace(/\r?\n/g, "");
  if (text.trim() === "") return [];
  const items: PrintedItem[] = [];
  let current: PrintedItem | null = null;
  let previousKey = "";
  let i = 0;
  while (i < text.length) {
    const eq = keyAt(text, i);
    if (eq < 0) throw protocolError("as-value output does not start with key=", text.slice(i, i + 200));
    const key = text.slice(i, eq);
    if (key === ".id" || current === null) {
      current = emptyItem();
      items.push(current);
      previousKey = "";
    }
    if (key !== ".id" && key <= previousKey) {
      throw protocolError(`as-value key ${key} out of order`, text.slice(0, 200));
    }
    const end = valueEnd(text, eq + 1, key);
    current.properties.set(key, text.slice(eq + 1, end));
    previousKey = key;
    i = end + 1;
  }
  return items;
}

/** Index of the `;` that ends the value of `key` starting at `start` (or the text's length). */
function valueEnd(text: string, start: number, key: string): number {
  let i = start;
  while (i < text.length) {
    if (text[i] !== ";") {
      i++;
      continue;
    }
    const stop = { at: i + 1 };
    const eq = keyAt(text, i + 1, stop);
    if (eq >= 0) {
      const next = text.slice(i + 1, eq);
      if (next === ".id" || next > key) return i;
    }
    i = stop.at;
  }
  return i;
}
