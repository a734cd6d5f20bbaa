import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ManifestValidator } from "./k8s-schema.js";
import { createValidator } from "./schemas.js";
import { helmBinary, type K8sObject, parseManifests, REPO_ROOT } from "./tools.js";
import { container, find, podTemplate } from "./workloads.js";

// deploy/ serves users without Helm: it must be exactly what the chart renders, so a chart
// change that was not rendered again fails here, and it must be valid on its own.

const DEPLOY = path.join(REPO_ROOT, "deploy");
const RENDERED = [
  "rds-csi.yaml",
  "snapshot-controller.yaml",
  "storageclass.yaml",
  "volumesnapshotclass.yaml",
];

let outDir: string;
let validator: ManifestValidator;

beforeAll(() => {
  outDir = mkdtempSync(path.join(tmpdir(), "rds-csi-render-"));
  const r = spawnSync("bash", ["scripts/render-manifests.sh", outDir], {
    cwd: REPO_ROOT,
    encoding: "utf8",
    env: { ...process.env, HELM_BIN: helmBinary() },
  });
  if (r.status !== 0) throw new Error(`scripts/render-manifests.sh failed:\n${r.stderr}`);
  validator = createValidator();
});

afterAll(() => {
  if (outDir) rmSync(outDir, { recursive: true, force: true });
});

const committed = (file: string) => readFileSync(path.join(DEPLOY, file), "utf8");
const objectsOf = (file: string): K8sObject[] => parseManifests(committed(file));

describe("deploy/", () => {
  it("holds the rendered manifests, nothing else (kubectl apply -R -f deploy/ reads every file)", () => {
    expect(readdirSync(DEPLOY).sort()).toEqual([...RENDERED].sort());
    expect(readdirSync(outDir).sort()).toEqual([...RENDERED].sort());
  });

  it.each(RENDERED)("%s equals what scripts/render-manifests.sh renders from the chart", (file) => {
    const fresh = readFileSync(path.join(outDir, file), "utf8");
    expect(committed(file), `deploy/${file} is stale: run scripts/render-manifests.sh`).toBe(fresh);
  });

  it.each(RENDERED)("%s validates against the schemas", (file) => {
    const objects = objectsOf(file);
    expect(objects.length).toBeGreaterThan(0);
    const problems = objects.flatMap((o) =>
      validator.validate(o).map((p) => `${o.kind}/${o.metadata.name}${p}`),
    );
    expect(problems).toEqual([]);
  });

  it("splits the driver from the classes users adapt, and the snapshot-controller users may not want", () => {
    const kinds = (file: string) => objectsOf(file).map((o) => o.kind);
    expect(kinds("storageclass.yaml")).toEqual(["StorageClass"]);
    expect(kinds("volumesnapshotclass.yaml")).toEqual(["VolumeSnapshotClass"]);
    expect(kinds("rds-csi.yaml")).not.toContain("StorageClass");
    expect(kinds("rds-csi.yaml")).not.toContain("VolumeSnapshotClass");
    expect(kinds("rds-csi.yaml").filter((k) => k === "Deployment")).toHaveLength(1);
    expect(kinds("snapshot-controller.yaml")).toContain("Deployment");
  });

  it("contains no Secret: the credentials Secret is created by the user", () => {
    const all = RENDERED.flatMap(objectsOf);
    expect(all.filter((o) => o.kind === "Secret")).toEqual([]);
    const driver = container(find(all, "Deployment", "rds-csi-controller"), "rds-csi");
    const fromSecret = (driver.env ?? [])
      .filter((e) => e.valueFrom?.secretKeyRef)
      .map((e) => e.valueFrom?.secretKeyRef?.name);
    expect(new Set(fromSecret)).toEqual(new Set(["rds-csi-credentials"]));
    const sshSources = podTemplate(find(all, "Deployment", "rds-csi-controller")).spec.volumes?.find(
      (v) => v.name === "ssh",
    );
    expect(sshSources?.projected?.sources.map((s) => s.secret?.name)).toEqual(["rds-csi-credentials"]);
  });
});
