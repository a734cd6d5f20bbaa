import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The package's root directory (package.json, proto/, dist/, src/), found from where this code
 * runs: src/ under tsx, dist/ as compiled, dist/ or dist/chunks/ in the bundle (scripts/bundle.mjs),
 * which moves code between directories, so a fixed `../` from `import.meta.url` would not do.
 */
export const PACKAGE_ROOT = findPackageRoot(dirname(fileURLToPath(import.meta.url)));

function findPackageRoot(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, "package.json"))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${start}`);
  }
}
