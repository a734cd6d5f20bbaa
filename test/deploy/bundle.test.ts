import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startUpArgs } from "../helpers/role-args.js";
import { REPO_ROOT } from "./tools.js";

// The program as the images and the benchmark run it: src/cli.ts bundled by scripts/bundle.mjs.
// Built here into a scratch directory inside the package (the bundle finds package.json and
// proto/ by walking up from its own files, as it does from /app/dist in the images).

let out: string;

beforeAll(() => {
  mkdirSync(path.join(REPO_ROOT, ".tmp"), { recursive: true });
  out = mkdtempSync(path.join(REPO_ROOT, ".tmp", "bundle-"));
  execFileSync(process.execPath, ["scripts/bundle.mjs", path.relative(REPO_ROOT, out)], {
    cwd: REPO_ROOT,
    stdio: "pipe",
  });
}, 120_000);

afterAll(() => {
  if (out) rmSync(out, { recursive: true, force: true });
});

const outputs = () => [
  path.join(out, "cli.js"),
  ...readdirSync(path.join(out, "chunks"))
    .filter((f) => f.endsWith(".js"))
    .map((f) => path.join(out, "chunks", f)),
];

/**
 * Starts `rds-csi <args>` from the bundle, waits for its CSI socket (and a moment more, for what
 * start-up loads in the background), and returns the sources bundled into the files it loaded, as
 * their source maps name them: package names for dependencies, src/ paths for the driver.
 */
async function sourcesLoadedBy(args: (dir: string) => string[]): Promise<Set<string>> {
  const dir = mkdtempSync(path.join(out, "run-"));
  const seenFile = path.join(dir, "seen.txt");
  // The resolve hook runs on its own thread, so it writes what it sees to a file.
  const hooks = `import { appendFileSync } from "node:fs";
    export async function resolve(spec, ctx, next) {
      const r = await next(spec, ctx);
      appendFileSync(${JSON.stringify(seenFile)}, r.url + "\\n");
      return r;
    }`;
  const register = `data:text/javascript,${encodeURIComponent(
    `import { register } from "node:module"; register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hooks)}`)});`,
  )}`;
  const child = spawn(
    process.execPath,
    ["--import", register, path.join(out, "cli.js"), ...args(dir), "--log-level", "silent"],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr.on("data", (d) => {
    stderr += String(d);
  });
  try {
    for (let waited = 0; !existsSync(path.join(dir, "csi.sock")); waited += 100) {
      if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode}: ${stderr}`);
      if (waited > 60_000) throw new Error(`the CSI socket did not appear: ${stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, 500));
  } finally {
    child.kill("SIGKILL");
  }
  const files = readFileSync(seenFile, "utf8")
    .split("\n")
    .filter((u) => u.startsWith(`file://${out}/`))
    .map((u) => fileURLToPath(u));
  const sources = new Set<string>();
  for (const file of new Set(files)) {
    const map = JSON.parse(readFileSync(`${file}.map`, "utf8")) as { sources: string[] };
    for (const source of map.sources) {
      const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(source)?.[1];
      sources.add(pkg ?? source.slice(source.lastIndexOf("src/")));
    }
  }
  return sources;
}

describe("the bundled program", () => {
  it("reads its version from the package's package.json", () => {
    const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")) as { version: string };
    const printed = execFileSync(process.execPath, [path.join(out, "cli.js"), "--version"], {
      encoding: "utf8",
    });
    expect(printed.trim()).toBe(pkg.version);
  });

  it("leaves the Kubernetes client out, reached only by import() when the reconciler runs", () => {
    const texts = outputs().map((f) => readFileSync(f, "utf8"));
    const dynamic = texts.flatMap((t) => t.match(/import\("@kubernetes\/client-node"\)/g) ?? []);
    const mentions = texts.flatMap((t) => t.match(/@kubernetes\/client-node/g) ?? []);
    expect(dynamic).toHaveLength(1);
    expect(mentions).toHaveLength(1);
  });

  it("serves the node plugin (gRPC, the CSI descriptor from proto/, pino) without SSH, storage or zod", async () => {
    const sources = await sourcesLoadedBy(startUpArgs.node);
    expect(sources.has("src/csi/node-service.ts")).toBe(true);
    expect(sources.has("@grpc/grpc-js")).toBe(true);
    const loaded = [...sources];
    expect(loaded.filter((s) => s === "ssh2" || s === "zod")).toEqual([]);
    expect(loaded.filter((s) => /^src\/(rds|storage|doctor|lineage\/read)/.test(s))).toEqual([]);
  }, 90_000);

  it("serves the controller (the RDS need not answer) without zod, reconciler or schedules", async () => {
    const sources = await sourcesLoadedBy(startUpArgs.controller);
    expect(sources.has("src/csi/controller-service.ts")).toBe(true);
    expect(sources.has("src/rds/connection.ts")).toBe(true);
    expect(sources.has("ssh2")).toBe(true);
    const loaded = [...sources];
    expect(loaded.filter((s) => s === "zod" || s === "@kubernetes/client-node")).toEqual([]);
    expect(loaded.filter((s) => /^src\/(reconcile|schedule|demo)\/|^src\/sim\/emulator/.test(s))).toEqual([]);
  }, 90_000);
});
