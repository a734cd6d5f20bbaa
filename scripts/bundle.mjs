// Bundles the program (src/cli.ts and everything it imports, dependencies included) into
// dist/cli.js and dist/chunks/, overwriting the compiler's dist/cli.js; `npm run build` runs it
// after tsc. Why: every module's source text stays on V8's heap for the life of the process, and
// the driver's ~400 modules (ssh2, gRPC, protobufjs, valibot, pino, ours) are ~3 MiB of it, with
// comments and indentation. Whitespace- and syntax-minified in one module graph, a controller or
// node plugin idles ~4 MiB smaller. Identifiers are kept, so stack traces and CPU profiles still
// name functions; the source maps (dist/cli.js.map, dist/chunks/*.map) lead back to the files.
//
// Lazy imports stay lazy: each `import()` becomes its own chunk, loaded when it is reached (the
// Kubernetes client is not bundled at all). The rest of dist/ (the compiler's per-file output)
// stays for the benchmarks and tools that import single modules; only dist/cli.js is replaced.
import { rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const root = fileURLToPath(new URL("..", import.meta.url));
// Another directory inside the package for a test build (the program finds the package root by
// walking up from its own files: src/package-root.ts).
const outdir = process.argv[2] ?? "dist";

// CommonJS dependencies call require() and read __dirname; an ES module bundle has neither, so
// each output file defines them for itself (they are module-scoped, one per file).
const banner = [
  'import { createRequire as __bundleRequire } from "node:module";',
  'import { fileURLToPath as __bundlePath } from "node:url";',
  'import { dirname as __bundleDir } from "node:path";',
  "const require = __bundleRequire(import.meta.url);",
  "const __filename = __bundlePath(import.meta.url);",
  "const __dirname = __bundleDir(__filename);",
].join(" ");

rmSync(join(root, outdir, "chunks"), { recursive: true, force: true });
await esbuild.build({
  absWorkingDir: root,
  entryPoints: { cli: "src/cli.ts" },
  outdir,
  chunkNames: "chunks/[name]-[hash]",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: "eof",
  sourcemap: "linked",
  sourcesContent: false,
  banner: { js: banner },
  // Loaded only when the reconciler runs (and large); native addons are optional speed-ups that
  // their packages load by path inside node_modules, and fall back from when absent.
  external: ["@kubernetes/client-node", "cpu-features", "*.node"],
  logLevel: "warning",
});
