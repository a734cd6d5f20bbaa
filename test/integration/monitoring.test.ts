/**
 * The example alert rules and Grafana dashboard in docs/monitoring, and the metrics reference in
 * docs/metrics.md, against a real scrape of the driver: every query parses with the Prometheus
 * project's PromQL grammar, every metric a query names is served, and the reference lists every
 * metric the driver serves.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parser } from "@prometheus-io/lezer-promql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { type LocalStack, startLocalStack } from "../../src/demo/local-stack.js";
import { freePort } from "../../src/demo/processes.js";

const docs = join(import.meta.dirname, "../../docs");
const workDir = mkdtempSync(join(tmpdir(), "rds-csi-monitoring-"));
let stack: LocalStack;
let served: Set<string>;
let families: string[];

beforeAll(async () => {
  const port = await freePort();
  stack = await startLocalStack({
    workDir: join(workDir, "stack"),
    logLevel: "warn",
    driverArgs: ["--metrics-address", `127.0.0.1:${port}`],
  });
  const body = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const types = [...body.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => ({ name: m[1]!, type: m[2]! }));
  families = types.map((t) => t.name);
  // The series names a query can select: a histogram's or summary's family is not one itself.
  served = new Set(
    types.flatMap(({ name, type }) =>
      type === "histogram"
        ? [`${name}_bucket`, `${name}_sum`, `${name}_count`]
        : type === "summary"
          ? [name, `${name}_sum`, `${name}_count`]
          : [name],
    ),
  );
});

afterAll(async () => {
  const problems = (await stack?.stop()) ?? [];
  rmSync(workDir, { recursive: true, force: true });
  expect(problems).toEqual([]);
});

/** Grafana's variables, replaced by values of the same kind so the query is plain PromQL. */
function withoutGrafanaVariables(expr: string): string {
  return expr
    .replaceAll("$__rate_interval", "5m")
    .replaceAll("$__range", "1h")
    .replaceAll("$__interval", "1m")
    .replace(/\$\{?[a-z_]+\}?/gi, "x");
}

/** The metric names a PromQL expression selects; throws when it does not parse. */
function metricNames(expr: string): string[] {
  const tree = parser.parse(expr);
  const names: string[] = [];
  const cursor = tree.cursor();
  do {
    if (cursor.type.isError) throw new Error(`PromQL does not parse at ${cursor.from}: ${expr}`);
    if (cursor.name === "Identifier" && cursor.node.parent?.name === "VectorSelector") {
      names.push(expr.slice(cursor.from, cursor.to));
    }
  } while (cursor.next());
  return names;
}

interface Rule {
  alert?: string;
  expr?: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

describe("PromQL metric name extraction", () => {
  it("finds selected metrics and not functions, labels or keywords, and refuses broken queries", () => {
    expect(
      metricNames(
        'sum by (le) (rate(a_bucket{code!="OK"}[5m])) / ignoring(code) group_left b > 0 and on() c',
      ),
    ).toEqual(["a_bucket", "b", "c"]);
    expect(() => metricNames("sum(rate(a[5m])")).toThrow(/does not parse/);
  });
});

describe("example alert rules", () => {
  const file = parseYaml(readFileSync(join(docs, "monitoring/rds-csi-alerts.yaml"), "utf8")) as {
    groups: { name: string; rules: Rule[] }[];
  };
  const rules = file.groups.flatMap((g) => g.rules);

  it("are alerts with a severity and a summary, each named once", () => {
    expect(rules.length).toBeGreaterThanOrEqual(5);
    for (const rule of rules) {
      expect(rule.alert, JSON.stringify(rule)).toMatch(/^RdsCsi[A-Za-z]+$/);
      expect(rule.labels?.severity).toMatch(/^(critical|warning|info)$/);
      expect(rule.annotations?.summary).toBeTruthy();
      if (rule.for !== undefined) expect(rule.for).toMatch(/^\d+[smh]$/);
    }
    expect(new Set(rules.map((r) => r.alert)).size).toBe(rules.length);
  });

  it("query only metrics a running driver serves", () => {
    for (const rule of rules) {
      const names = metricNames(rule.expr ?? "");
      expect(names.length, rule.alert).toBeGreaterThan(0);
      for (const name of names) expect(served, `${rule.alert}: ${name}`).toContain(name);
    }
  });
});

describe("example Grafana dashboard", () => {
  const dashboard = JSON.parse(readFileSync(join(docs, "monitoring/rds-csi-dashboard.json"), "utf8")) as {
    uid: string;
    panels: { title: string; targets: { expr: string }[] }[];
    templating: { list: { name: string; query: string | { query: string } }[] };
  };

  it("queries only metrics a running driver serves, in every panel and variable", () => {
    expect(dashboard.uid).toBe("rds-csi");
    expect(dashboard.panels.length).toBeGreaterThanOrEqual(8);
    const seen = new Set<string>();
    for (const panel of dashboard.panels) {
      expect(panel.targets.length, panel.title).toBeGreaterThan(0);
      for (const target of panel.targets) {
        for (const name of metricNames(withoutGrafanaVariables(target.expr))) {
          expect(served, `${panel.title}: ${name}`).toContain(name);
          seen.add(name);
        }
      }
    }
    for (const variable of dashboard.templating.list) {
      const query = typeof variable.query === "string" ? variable.query : variable.query.query;
      const m = /^label_values\((\w+),/.exec(query);
      if (m) expect(served).toContain(m[1]);
    }
    // The dashboard shows each of the driver's own metric families.
    const own = families.filter((f) => f.startsWith("rds_csi_"));
    for (const family of own) {
      expect(
        [...seen].some((s) => s === family || s.startsWith(`${family}_`)),
        family,
      ).toBe(true);
    }
  });
});

describe("metrics reference (docs/metrics.md)", () => {
  const text = readFileSync(join(docs, "metrics.md"), "utf8");

  it("lists every rds_csi_* metric the driver serves, and none that it does not", () => {
    const documented = new Set([...text.matchAll(/`(rds_csi_[a-z_]+)`/g)].map((m) => m[1]!));
    const own = families.filter((f) => f.startsWith("rds_csi_"));
    expect(own.length).toBeGreaterThan(5);
    for (const family of own) expect(documented, family).toContain(family);
    for (const name of documented) expect([...families, ...served], name).toContain(name);
  });
});
