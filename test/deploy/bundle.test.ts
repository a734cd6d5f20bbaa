import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
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

/** Starts `rds-csi <args>` from the bundle and resolves once its CSI socket exists. */
async function startsServing(args: (dir: string) => string[]): Promise<void> {
  const dir = mkdtempSync(path.join(out, "run-"));
  const child = spawn(process.execPath, [path.join(out, "cli.js"), ...args(dir), "--log-level", "silent"], {
    stdio: ["ignore", "ignore", "pipe"],
  });
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
  } finally {
    child.kill("SIGKILL");
  }
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

  it("serves the node plugin (gRPC, the CSI descriptor from proto/, pino)", async () => {
    await startsServing((dir) => ["node", "--endpoint", `unix://${dir}/csi.sock`, "--node-id", "n1"]);
  }, 90_000);

  it("serves the controller (ssh2 loaded; the RDS need not answer for the socket to be up)", async () => {
    await startsServing((dir) => [
      "controller",
      "--endpoint",
      `unix://${dir}/csi.sock`,
      "--rds-address",
      "127.0.0.1",
      "--rds-port",
      "1",
      "--rds-key-file",
      path.join(dir, "absent-key"),
      "--rds-insecure-skip-host-key-check",
    ]);
  }, 90_000);
});
