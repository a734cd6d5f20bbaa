/**
 * The image test runner's safety net (scripts/test-image.sh): after the tests, every directory
 * they left below the run's root is unmounted, its loop devices detached, and removed. Exit code
 * 1 when anything was left, since each test must clean up after itself.
 *   node --import tsx test/image/sweep.ts <run root>
 */
import { existsSync, readdirSync, rmdirSync } from "node:fs";
import { join } from "node:path";
import { removeSharedDir } from "./shared-dir.js";

const root = process.argv[2];
if (!root) throw new Error("usage: sweep.ts <run root>");
let left = 0;
if (existsSync(root)) {
  for (const name of readdirSync(root)) {
    left++;
    const problems = removeSharedDir(join(root, name));
    process.stderr.write(`sweep: ${name} was left behind${problems.map((p) => `\n  ${p}`).join("")}\n`);
  }
  if (readdirSync(root).length === 0) rmdirSync(root);
}
process.exit(left === 0 ? 0 : 1);
