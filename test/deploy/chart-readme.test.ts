/**
 * The chart README's table of values is generated from values.yaml (scripts/chart-values-table.mjs):
 * it must be current, list every value with a description, and NOTES.txt must say what to do next.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
// @ts-expect-error: a plain JavaScript script, run by node and imported here to check its output.
import { README, renderedReadme, valueRows } from "../../scripts/chart-values-table.mjs";
import { CHART_DIR, helm } from "./tools.js";

type Row = [key: string, def: string, description: string];

/** Every leaf of a parsed values file, as dotted keys (maps without fixed keys count as one value). */
function leaves(value: unknown, prefix: string[] = []): string[] {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return [prefix.join(".")];
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 0) return [prefix.join(".")];
  return entries.flatMap(([k, v]) => leaves(v, [...prefix, k]));
}

describe("chart README", () => {
  it("holds the table generated from values.yaml (run node scripts/chart-values-table.mjs)", () => {
    expect(readFileSync(README as string, "utf8")).toBe((renderedReadme as () => string)());
  });

  it("lists every value of values.yaml once, each with a description", () => {
    const rows = (valueRows as () => Row[])();
    const keys = rows.map(([key]) => key);
    expect(new Set(keys).size).toBe(keys.length);
    const values = parseYaml(readFileSync(path.join(CHART_DIR, "values.yaml"), "utf8")) as unknown;
    // A row may stand for a whole map (resources, nodeSelector): every leaf lies under some row.
    for (const leaf of leaves(values)) {
      expect(
        keys.some((k) => leaf === k || leaf.startsWith(`${k}.`)),
        leaf,
      ).toBe(true);
    }
    for (const [key, , description] of rows) expect(description, key).not.toBe("");
    expect(keys).toEqual(expect.arrayContaining(["rds.pool", "controller.reconciler.leaderElection"]));
  });
});

/** NOTES.txt as `helm install` prints it: `helm template` skips it, so a copy of the chart includes it in a manifest. */
function renderNotes(set: string[]): string {
  const dir = mkdtempSync(path.join(tmpdir(), "rds-csi-notes-"));
  try {
    cpSync(CHART_DIR, path.join(dir, "rds-csi"), { recursive: true });
    writeFileSync(
      path.join(dir, "rds-csi/templates/zz-notes.yaml"),
      'notes: {{ include (print $.Template.BasePath "/NOTES.txt") . | toJson }}\n',
    );
    const r = helm([
      "template",
      "rds-csi",
      path.join(dir, "rds-csi"),
      "-n",
      "kube-system",
      "--show-only",
      "templates/zz-notes.yaml",
      ...set.flatMap((s) => ["--set", s]),
    ]);
    if (r.status !== 0) throw new Error(r.stderr);
    return (parseYaml(r.stdout) as { notes: string }).notes;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const CREDENTIALS = [
  "rds.address=192.0.2.1",
  "rds.hostKey.fingerprint=SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s",
];

describe("NOTES.txt", () => {
  it("says what to do next with this release's names: pods, logs, a first PVC and snapshot, metrics, guides", () => {
    const notes = renderNotes([...CREDENTIALS, "storageClass.name=fast", "volumeSnapshotClass.name=snaps"]);
    expect(notes).toContain("What to do next");
    expect(notes).toContain("kubectl -n kube-system get pods -l app.kubernetes.io/instance=rds-csi");
    expect(notes).toContain("logs deploy/rds-csi-controller -c rds-csi");
    expect(notes).toContain("storageClassName: fast");
    expect(notes).toContain("volumeSnapshotClassName: snaps");
    expect(notes).toContain("port-forward deploy/rds-csi-controller 9809");
    expect(notes).toMatch(/docs\/metrics\.md/);
    expect(notes).toMatch(/docs\/backup\.md/);
    expect(notes).toContain("The orphan reconciler is off");
    // Every PVC and VolumeSnapshot it suggests is valid YAML.
    for (const block of notes.matchAll(/<<EOF\n([\s\S]*?)\n\s*EOF/g)) {
      expect(() => parseYaml(block[1]!.replace(/^ {5}/gm, ""))).not.toThrow();
    }
  });

  it("follows the settings: no class, no step for it; the reconciler's mode when it runs", () => {
    const notes = renderNotes([
      ...CREDENTIALS,
      "storageClass.create=false",
      "volumeSnapshotClass.create=false",
      "controller.reconciler.interval=10m",
    ]);
    expect(notes).not.toContain("storageClassName");
    expect(notes).not.toContain("volumeSnapshotClassName");
    expect(notes).toContain("The orphan reconciler runs every 10m in dry-run");
  });
});
