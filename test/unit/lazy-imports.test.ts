import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { startUpArgs } from "../helpers/role-args.js";

/**
 * Heavy modules the driver's processes load only when they use them: the Kubernetes client (tens
 * of MiB resident) only when the reconciler runs, the emulator and the demo only for their
 * commands. A static `import … from` of them anywhere under src/ would load them at start.
 */
const ROOT = join(import.meta.dirname, "..", "..");

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

describe("lazy imports", () => {
  it("@kubernetes/client-node is imported for types only, and loaded with import() where it is used", () => {
    const valueImports: string[] = [];
    let dynamic = 0;
    for (const file of sources(join(ROOT, "src"))) {
      const text = readFileSync(file, "utf8");
      for (const m of text.matchAll(/^import\s+(type\s+)?[^;]*?from\s+"@kubernetes\/client-node";/gms)) {
        if (!m[1]) valueImports.push(`${file}: ${m[0].split("\n")[0]}`);
      }
      dynamic += text.match(/import\("@kubernetes\/client-node"\)\.catch/g)?.length ?? 0;
    }
    expect(valueImports).toEqual([]);
    expect(dynamic).toBe(1);
  });

  it("the CLI and the driver load neither the Kubernetes client nor the emulator until asked", () => {
    // A child process records every module URL resolved while importing the CLI's commands (the
    // resolve hook runs on its own thread, so it writes to a file).
    const dir = mkdtempSync(join(tmpdir(), "lazy-imports-"));
    const seenFile = join(dir, "seen.txt");
    const hooks = `import { appendFileSync } from "node:fs";
      export async function resolve(spec, ctx, next) {
        const r = await next(spec, ctx);
        appendFileSync(${JSON.stringify(seenFile)}, r.url + "\\n");
        return r;
      }`;
    const script = `
      import { register } from "node:module";
      register("data:text/javascript,${encodeURIComponent(hooks)}");
      await import("./src/commands/driver.ts");
      await import("./src/commands/sim.ts");
      await import("./src/commands/demo.ts");
      await import("./src/commands/lineage.ts");
    `;
    let out: string;
    try {
      execFileSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { cwd: ROOT });
      out = readFileSync(seenFile, "utf8");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const urls = out.split("\n");
    // The hook saw the commands load; the driver itself (its gRPC side) waits for controller, node or all.
    expect(urls.some((u) => u.includes("/src/commands/driver.ts"))).toBe(true);
    expect(urls.filter((u) => u.endsWith("/src/driver.ts"))).toEqual([]);
    expect(urls.filter((u) => u.includes("@kubernetes/client-node"))).toEqual([]);
    expect(urls.filter((u) => u.includes("/src/sim/emulator.ts") || u.includes("/src/demo/"))).toEqual([]);
  });
});

/**
 * Every module URL a real `rds-csi <args>` process resolves until its CSI socket is up (and a
 * moment after, for what start-up loads in the background).
 */
async function modulesLoadedBy(args: (dir: string) => string[]): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), "lazy-start-"));
  const seenFile = join(dir, "seen.txt");
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
    ["--import", register, "--import", "tsx", "src/cli.ts", ...args(dir), "--log-level", "silent"],
    { cwd: ROOT, stdio: "ignore" },
  );
  try {
    const socket = join(dir, "csi.sock");
    for (let waited = 0; !existsSync(socket); waited += 100) {
      if (child.exitCode !== null) throw new Error(`rds-csi ${args(dir)[0]} exited with ${child.exitCode}`);
      if (waited > 60_000) throw new Error("the CSI socket did not appear");
      await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, 500));
    return readFileSync(seenFile, "utf8").split("\n");
  } finally {
    child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }
}

const packageOf = (url: string) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1];

describe("what each role loads at start-up (its resident memory)", () => {
  it("the node plugin loads no SSH, no storage layer and no zod", async () => {
    const urls = await modulesLoadedBy(startUpArgs.node);
    expect(urls.some((u) => u.includes("/src/csi/node-service.ts"))).toBe(true);
    expect(new Set(urls.map(packageOf).filter((p) => p === "ssh2" || p === "zod"))).toEqual(new Set());
    expect(urls.filter((u) => /\/src\/(rds|storage|doctor|lineage\/read)/.test(u))).toEqual([]);
  }, 90_000);

  it("a controller without reconciler or schedules loads no zod and no Kubernetes client", async () => {
    const urls = await modulesLoadedBy(startUpArgs.controller);
    expect(urls.some((u) => u.includes("/src/storage/index.ts"))).toBe(true);
    const packages = new Set(urls.map(packageOf));
    expect(packages.has("zod")).toBe(false);
    expect(packages.has("@kubernetes/client-node")).toBe(false);
    expect(urls.filter((u) => /\/src\/(reconcile|schedule)\//.test(u))).toEqual([]);
  }, 90_000);
});
