#!/usr/bin/env node
// Fails when package-lock.json is not complete for every platform: each optional dependency a
// locked package declares (biome's and esbuild's per-platform binaries, for example) must have an
// entry of its own. `npm ci` installs only from the lock, so a complete lock keeps set-up independent
// of which platform packages a package mirror happens to serve; an incomplete one makes `npm ci`
// refuse the lock as soon as the mirror serves one more of them.
import { readFileSync } from "node:fs";

const lock = JSON.parse(readFileSync(new URL("../package-lock.json", import.meta.url), "utf8"));
const packages = lock.packages ?? {};

/** Node's lookup: the nearest node_modules folder up from the package that depends on `name`. */
function isLocked(dependent, name) {
  let base = dependent;
  for (;;) {
    if (packages[`${base ? `${base}/` : ""}node_modules/${name}`]) return true;
    if (!base) return false;
    const cut = base.lastIndexOf("/node_modules/");
    base = cut < 0 ? "" : base.slice(0, cut);
  }
}

const missing = [];
for (const [path, entry] of Object.entries(packages)) {
  for (const name of Object.keys(entry.optionalDependencies ?? {})) {
    if (!isLocked(path, name)) missing.push(`${path || "(root)"} → ${name}`);
  }
}
if (missing.length > 0) {
  console.error(`package-lock.json lacks ${missing.length} optional package(s):`);
  for (const line of missing) console.error(`  ${line}`);
  console.error("Regenerate it with `npm install` against a registry that serves every platform.");
  process.exit(1);
}
console.log(`package-lock.json: complete (${Object.keys(packages).length - 1} packages, every optional one locked)`);
