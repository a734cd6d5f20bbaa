/**
 * The lineage page the controller serves with --lineage-page, looked at in a real headless
 * Chromium: the tree of several levels made through the CSI Controller service, a screenshot of
 * it, and every node and edge of the DOM checked against `rds-csi lineage --json`.
 */
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Child, freePort, startChild } from "../../src/demo/processes.js";
import { humanBytes } from "../../src/lineage/describe.js";
import type { Lineage } from "../../src/lineage/index.js";
import { useHarness } from "../controller/harness.js";
import { alive, type HeadlessBrowser, launchChromium } from "./browser.js";
import { type LineageFixture, makeLineageTree } from "./tree.js";

const repo = fileURLToPath(new URL("../..", import.meta.url));
const SCREENSHOT_DIR = path.join(repo, "test-results", "lineage");
const h = useHarness();
let tree: LineageFixture;
let controller: Child | undefined;
let chromium: HeadlessBrowser | undefined;
let base = "";
let workDir = "";

const connection = () => [
  "--rds-address",
  h.sim.host,
  "--rds-port",
  String(h.sim.port),
  "--rds-user",
  h.sim.user,
  "--rds-key-file",
  h.sim.privateKeyPath,
  "--rds-known-hosts-file",
  h.sim.knownHostsPath,
  "--rds-pool",
  h.sim.pool,
  "--rds-fs-label",
  h.sim.fsLabel,
];

beforeAll(async () => {
  tree = await makeLineageTree(h);
  workDir = mkdtempSync(path.join(tmpdir(), "lineage-page-"));
  const port = await freePort();
  controller = startChild("rds-csi controller", process.execPath, [
    "--import",
    "tsx",
    `${repo}src/cli.ts`,
    "controller",
    "--endpoint",
    `unix://${workDir}/csi.sock`,
    "--metrics-address",
    `127.0.0.1:${port}`,
    "--late-command-window",
    "0",
    "--lineage-page",
    ...connection(),
  ]);
  await controller.waitForLine(/"msg":"metrics listening"/, 60_000);
  base = `http://127.0.0.1:${port}`;
});

afterAll(async () => {
  // Each step on its own, so a failing one still lets the others clean up.
  const pid = chromium?.pid;
  await chromium?.close();
  if (pid !== undefined) expect(alive(pid), "the browser process is gone").toBe(false);
  await controller?.stop();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

async function cliJson(): Promise<Lineage> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ["--import", "tsx", `${repo}src/cli.ts`, "lineage", ...connection(), "--json"],
    { cwd: repo, maxBuffer: 64 * 1024 * 1024 },
  );
  return JSON.parse(stdout) as Lineage;
}

const withoutTime = ({ generatedAt: _, ...rest }: Lineage) => rest;

/** What the page shows of each object, read from the DOM. */
interface ShownNode {
  id: string;
  kind: string;
  present: string;
  parent: string | null;
  edge: string | null;
  safe: string | null;
  relation: string;
  size: string | null;
  exactSize: string | null;
  created: string | null;
  names: string | null;
  verdict: string;
}

describe("the lineage page", () => {
  it("serves the same data as rds-csi lineage --json, read-only and locked down", async () => {
    const response = await fetch(`${base}/lineage.json`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/json");
    const served = (await response.json()) as Lineage;
    tree.expectMatches(served);
    expect(withoutTime(served)).toEqual(withoutTime(await cliJson()));

    const page = await fetch(`${base}/lineage`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-security-policy")).toContain("default-src 'none'");
    expect(page.headers.get("x-content-type-options")).toBe("nosniff");
    const html = await page.text();
    expect(html).not.toMatch(/<script|<form|<iframe|on\w+=/i);

    for (const method of ["POST", "PUT", "DELETE", "PATCH"]) {
      expect((await fetch(`${base}/lineage`, { method })).status, method).toBe(405);
      expect((await fetch(`${base}/lineage.json`, { method })).status, method).toBe(405);
    }
  });

  it("renders every node and edge in Chromium, and a screenshot of the tree", async () => {
    const served = (await (await fetch(`${base}/lineage.json`)).json()) as Lineage;
    chromium = await launchChromium();
    const page = await chromium.browser.newPage({ viewport: { width: 1400, height: 700 } });
    const scripts: string[] = [];
    page.on("console", (m) => scripts.push(m.text()));
    const response = await page.goto(`${base}/lineage`);
    expect(response?.status()).toBe(200);

    const shown = await page.$$eval("li[data-id]", (items) =>
      items.map((li) => {
        const text = (selector: string) =>
          li.querySelector(`:scope > .node ${selector}`)?.textContent ?? null;
        return {
          id: li.getAttribute("data-id") ?? "",
          kind: li.getAttribute("data-kind") ?? "",
          present: li.getAttribute("data-present") ?? "",
          parent: li.getAttribute("data-parent"),
          edge: li.getAttribute("data-edge"),
          safe: li.getAttribute("data-safe"),
          relation: text(".relation") ?? "",
          size: text(".size"),
          exactSize: li.querySelector(":scope > .node .size")?.getAttribute("title") ?? null,
          created: text(".created"),
          names: text(".names"),
          verdict: text(".verdict") ?? "",
          // Nesting in the DOM must be the tree: the parent's <li> encloses the child's.
          enclosing: li.parentElement?.closest("li[data-id]")?.getAttribute("data-id") ?? null,
        };
      }),
    );

    // Every node, in the same order, with the same facts.
    expect(shown.map((n) => n.id)).toEqual(served.nodes.map((n) => n.id));
    served.nodes.forEach((node, i) => {
      const s = shown[i]! as ShownNode & { enclosing: string | null };
      expect(s.kind).toBe(node.kind);
      expect(s.present).toBe(String(node.present));
      expect(s.safe).toBe(node.deletion ? String(node.deletion.safe) : null);
      expect(s.size).toBe(node.present ? humanBytes(node.sizeBytes) : null);
      expect(s.exactSize).toBe(node.present ? `${node.sizeBytes} bytes` : null);
      expect(s.created).toBe(node.present ? node.createdAt : null);
      expect(s.verdict).toBe(
        !node.present
          ? "gone"
          : node.deletion?.safe
            ? "safe to delete"
            : `${node.deletion?.dependants.length} dependant${node.deletion?.dependants.length === 1 ? "" : "s"}`,
      );
      expect(s.enclosing).toBe(s.parent);
    });
    // Every edge, and nothing else: a node has a parent exactly when an edge leads to it.
    const edges = shown
      .filter((n) => n.parent !== null)
      .map((n) => ({ from: n.parent, to: n.id, kind: n.edge }));
    expect(edges).toEqual(served.edges);
    expect(shown.filter((n) => n.parent === null).map((n) => n.id)).toEqual(served.roots);
    // The labels a person reads.
    const byId = new Map(shown.map((n) => [n.id, n]));
    expect(byId.get(tree.ids.r2)?.relation).toBe("restored volume");
    expect(byId.get(tree.ids.clone)?.relation).toBe("cloned volume");
    expect(byId.get(tree.ids.s2)?.relation).toBe("snapshot");
    expect(byId.get(tree.ids.db)?.names).toBe(`PV ${tree.pv} (PVC shop/data-db-0)`);
    // The style sheet passed the page's CSP (a refusal would also be a console message).
    const safeBadge = page.locator(`li[data-id="${tree.ids.r2}"] > .node .verdict`);
    const background = await safeBadge.evaluate(
      (e) =>
        (
          globalThis as unknown as { getComputedStyle(e: unknown): { backgroundColor: string } }
        ).getComputedStyle(e).backgroundColor,
    );
    expect(background).toBe("rgb(216, 245, 216)");
    const summary = (await page.textContent(".summary"))?.replace(/\s+/g, " ");
    expect(summary).toContain("4 volumes, 4 snapshots, 4 safe to delete");
    expect(scripts).toEqual([]);

    mkdirSync(SCREENSHOT_DIR, { recursive: true });
    const file = path.join(SCREENSHOT_DIR, "lineage-page.png");
    await page.screenshot({ path: file, fullPage: true });
    const png = readFileSync(file);
    expect(png.subarray(0, 8).toString("hex")).toBe("89504e470d0a1a0a");
    expect(png.subarray(12, 16).toString("ascii")).toBe("IHDR");
    expect(png.readUInt32BE(16)).toBe(1400);
    expect(png.readUInt32BE(20)).toBeGreaterThanOrEqual(300);
    // Text on white compresses well, but a tree of nine objects is far from an empty page.
    expect(png.length).toBeGreaterThan(20_000);
    expect(png.length).toBeLessThan(10_000_000);
  });
});
