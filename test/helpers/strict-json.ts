import { parseDocument } from "yaml";

/**
 * Parses one JSON text the way strict log stores do: JSON syntax only (JSON.parse), and no object
 * may name a key twice. JSON.parse silently keeps the last of two equal keys, so the duplicates
 * are found by the yaml library's parser (YAML 1.2 is a superset of JSON and it reports
 * DUPLICATE_KEY for flow mappings, with escapes decoded, so `"a"` and `"\u0061"` are equal).
 */
export function parseStrictJson(text: string): unknown {
  const value: unknown = JSON.parse(text);
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false });
  const duplicate = doc.errors.find((e) => e.code === "DUPLICATE_KEY");
  if (duplicate) throw new SyntaxError(`duplicate key in ${text.slice(0, 200)}: ${duplicate.message}`);
  return value;
}
