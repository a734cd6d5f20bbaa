import { execFile } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { renderReport } from "./report.js";
import type { BenchResults } from "./results.js";

const run = promisify(execFile);
const BIOME = fileURLToPath(new URL("../../node_modules/.bin/biome", import.meta.url));

/** The two result sets: cost model off (`latest`) and on (`latest-cost-model`); each report shows the other's scale targets. */
export const RESULT_NAMES = ["latest", "latest-cost-model"] as const;
export type ResultName = (typeof RESULT_NAMES)[number];

async function readResults(dir: string, name: ResultName): Promise<BenchResults | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, `${name}.json`), "utf8")) as BenchResults;
  } catch {
    return undefined;
  }
}

/**
 * Writes `<name>.json` (raw samples) and `<name>.md` (the report), and renders the other result
 * set's report again so each shows the other's scale targets; formatted the way the repository's
 * formatter wants them, so `npm run lint` stays clean after a benchmark run.
 */
export async function writeResults(
  dir: string,
  results: Omit<BenchResults, "version">,
  name: ResultName = "latest",
): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const full: BenchResults = { version: 1, ...results };
  const json = join(dir, `${name}.json`);
  await writeFile(json, `${JSON.stringify(full, null, 2)}\n`);
  return renderResults(dir, [json]);
}

/** Renders the markdown report of every result set present in `dir` from its JSON. */
export async function renderResults(dir: string, alsoFormat: string[] = []): Promise<string[]> {
  const written = [...alsoFormat];
  for (const name of RESULT_NAMES) {
    const own = await readResults(dir, name);
    if (!own) continue;
    const otherName = RESULT_NAMES.find((n) => n !== name) as ResultName;
    const other = await readResults(dir, otherName);
    const markdown = join(dir, `${name}.md`);
    await writeFile(
      markdown,
      renderReport(own, other ? { results: other, file: `${otherName}.md` } : undefined),
    );
    written.push(markdown);
  }
  try {
    await run(BIOME, ["format", "--write", ...written]);
  } catch {
    // formatting is cosmetic; the figures are written either way
  }
  return written;
}
