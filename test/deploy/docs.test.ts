import { readFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import type { ManifestValidator } from "./k8s-schema.js";
import { createValidator } from "./schemas.js";
import { CHART_DIR, type K8sObject, parseManifests, REPO_ROOT, renderChart } from "./tools.js";

// The install guide is followed by people copying from it: its manifests must be accepted by the
// API server, and every chart value it names must exist.

const guide = readFileSync(path.join(REPO_ROOT, "docs/install.md"), "utf8");
const values = parseYaml(readFileSync(path.join(CHART_DIR, "values.yaml"), "utf8")) as Record<
  string,
  unknown
>;

const yamlBlocks = [...guide.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);

let validator: ManifestValidator;
let examples: K8sObject[];
beforeAll(() => {
  validator = createValidator();
  examples = yamlBlocks.flatMap((b) => parseManifests(b));
});

/** Chart value paths the guide names: `a.b.c`, `a.b=value` and `--set a.b=value`. */
function valuePathsIn(text: string): string[] {
  const found = new Set<string>();
  for (const m of text.matchAll(/`([a-zA-Z]+(?:\.[a-zA-Z0-9]+)+)(?:=[^`]*)?`/g)) found.add(m[1]!);
  for (const m of text.matchAll(/--set(?:-file)? ([a-zA-Z]+(?:\.[a-zA-Z0-9]+)+)=/g)) found.add(m[1]!);
  // The driver name also starts with "rds.", like the rds.* values.
  return [...found].filter((p) => Object.hasOwn(values, p.split(".")[0]!) && p !== "rds.csi.mikrotik.com");
}

function hasValue(p: string): boolean {
  let node: unknown = values;
  for (const key of p.split(".")) {
    if (typeof node !== "object" || node === null || !Object.hasOwn(node, key)) return false;
    node = (node as Record<string, unknown>)[key];
  }
  return true;
}

describe("docs/install.md", () => {
  it("has manifests that validate against the Kubernetes and snapshot schemas", () => {
    expect(examples.map((o) => o.kind).sort()).toEqual(
      [
        "Pod",
        "Pod",
        "PersistentVolumeClaim",
        "PersistentVolumeClaim",
        "PersistentVolumeClaim",
        "StorageClass",
        "VolumeSnapshot",
        "VolumeSnapshotClass",
      ].sort(),
    );
    const problems = examples.flatMap((o) =>
      validator.validate(o).map((p) => `${o.kind}/${o.metadata.name}${p}`),
    );
    expect(problems).toEqual([]);
  });

  it("uses the driver name and the class names the chart creates by default", () => {
    const rendered = parseManifests(renderChart());
    const scNames = new Set(
      [...rendered, ...examples].filter((o) => o.kind === "StorageClass").map((o) => o.metadata.name),
    );
    const vscNames = new Set(
      [...rendered, ...examples].filter((o) => o.kind === "VolumeSnapshotClass").map((o) => o.metadata.name),
    );
    for (const o of examples) {
      const spec = o.spec as { storageClassName?: string; volumeSnapshotClassName?: string } | undefined;
      if (spec?.storageClassName)
        expect(scNames.has(spec.storageClassName), spec.storageClassName).toBe(true);
      if (spec?.volumeSnapshotClassName) expect(vscNames.has(spec.volumeSnapshotClassName)).toBe(true);
      if (o.kind === "StorageClass") expect(o.provisioner).toBe("rds.csi.mikrotik.com");
      if (o.kind === "VolumeSnapshotClass") expect(o.driver).toBe("rds.csi.mikrotik.com");
    }
  });

  it("names only chart values that exist", () => {
    const named = valuePathsIn(guide);
    expect(named.length).toBeGreaterThan(25);
    expect(named.filter((p) => !hasValue(p))).toEqual([]);
  });

  it("states the sidecar versions the chart pins", () => {
    const prose = guide.replace(/\s+/g, " ");
    const sidecars = values.sidecars as Record<string, { image?: { repository: string; tag: string } }>;
    for (const s of Object.values(sidecars)) {
      if (s?.image) expect(prose).toContain(`${s.image.repository} ${s.image.tag}`);
    }
    const sc = values.snapshotController as { image: { repository: string; tag: string } };
    expect(prose).toContain(`${sc.image.repository} ${sc.image.tag}`);
  });

  it("links only to sections it has", () => {
    const anchors = new Set(
      [...guide.matchAll(/^#{2,3} (.+)$/gm)].map((m) =>
        m[1]!
          .toLowerCase()
          .replace(/[^a-z0-9 -]/g, "")
          .replace(/ /g, "-"),
      ),
    );
    const links = [...guide.matchAll(/\]\(#([^)]+)\)/g)].map((m) => m[1]!);
    expect(links.length).toBeGreaterThan(5);
    expect(links.filter((l) => !anchors.has(l))).toEqual([]);
  });
});
