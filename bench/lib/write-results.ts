import { execFile } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { renderReport } from "./report.js";
import type { BenchResults } from "./results.js";

const run = promisify(execFile);
const BIOME = fileURLToPath(new URL("../../node_modules/.bin/biome", import.meta.url));

/**
 * Writes latest.json (raw samples) and latest.md (the report), formatted the way the repository's
 * formatter wants them, so `npm run lint` stays clean after a benchmark run.
 */
export async function writeResults(dir: string, results: Omit<BenchResults, "version">): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const full: BenchResults = { version: 1, ...results };
  const json = join(dir, "latest.json");
  const markdown = join(dir, "latest.md");
  await writeFile(json, `${JSON.stringify(full, null, 2)}\n`);
  await writeFile(markdown, renderReport(full));
  try {
    await run(BIOME, ["format", "--write", json, markdown]);
  } catch {
    // formatting is cosmetic; the figures are written either way
  }
  return [markdown, json];
}
