/**
 * Renders bench/results/latest.md and latest-cost-model.md again from their JSON (after a change
 * to the report, or to show a run's figures beside the other's): `node --import tsx bench/render.ts`.
 */
import { fileURLToPath } from "node:url";
import { renderResults } from "./lib/write-results.js";

const dir = fileURLToPath(new URL("./results/", import.meta.url));
for (const file of await renderResults(dir)) process.stdout.write(`${file}\n`);
