import { beforeAll, describe, expect, it } from "vitest";
import { closeObjects, type ManifestValidator } from "./k8s-schema.js";
import { createValidator } from "./schemas.js";
import type { K8sObject } from "./tools.js";

// The validator is what stands between a typo in a template and a chart that the API server
// rejects: these tests show it rejects what the API server would.

let validator: ManifestValidator;
beforeAll(() => {
  validator = createValidator();
});

const deployment = (spec: Record<string, unknown>, metadata: Record<string, unknown> = {}): K8sObject => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "d", namespace: "ns", ...metadata },
  spec: {
    selector: { matchLabels: { app: "d" } },
    template: { metadata: { labels: { app: "d" } }, spec: { containers: [{ name: "c", image: "i" }] } },
    ...spec,
  },
});

describe("ManifestValidator", () => {
  it("accepts a valid built-in object", () => {
    expect(validator.validate(deployment({ replicas: 2 }))).toEqual([]);
  });

  it("rejects an unknown field, naming it, as strict field validation does", () => {
    const problems = validator.validate(deployment({ replica: 2 }));
    expect(problems).toEqual(["/spec: must NOT have additional properties (replica)"]);
  });

  it("rejects an unknown field deep inside a pod template", () => {
    const bad = deployment({
      template: {
        metadata: { labels: { app: "d" } },
        spec: { containers: [{ name: "c", image: "i", securityContext: { privilegd: true } }] },
      },
    });
    expect(validator.validate(bad).join("\n")).toContain("(privilegd)");
  });

  it("rejects a wrong type and a missing required field", () => {
    const bad = deployment({
      replicas: "two",
      template: { metadata: { labels: { app: "d" } }, spec: { containers: [{ image: "i" }] } },
    });
    const problems = validator.validate(bad);
    expect(problems).toContain("/spec/replicas: must be integer");
    expect(problems).toContain("/spec/template/spec/containers/0: must have required property 'name'");
  });

  it("accepts both forms of int-or-string and quantity fields", () => {
    const svc: K8sObject = {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "s", namespace: "ns" },
      spec: {
        ports: [
          { port: 80, targetPort: "http" },
          { port: 81, targetPort: 8081 },
        ],
      },
    };
    expect(validator.validate(svc)).toEqual([]);
    const withResources = deployment({
      template: {
        metadata: { labels: { app: "d" } },
        spec: { containers: [{ name: "c", image: "i", resources: { limits: { cpu: 1, memory: "1Gi" } } }] },
      },
    });
    expect(validator.validate(withResources)).toEqual([]);
  });

  it("validates custom resources against their CRD and their metadata as ObjectMeta", () => {
    const vsc = (fields: Record<string, unknown>, metadata: Record<string, unknown> = {}): K8sObject => ({
      apiVersion: "snapshot.storage.k8s.io/v1",
      kind: "VolumeSnapshotClass",
      metadata: { name: "c", ...metadata },
      ...fields,
    });
    expect(validator.validate(vsc({ driver: "d", deletionPolicy: "Delete" }))).toEqual([]);
    expect(validator.validate(vsc({ driver: "d", deletionPolicy: "Sometimes" })).join("\n")).toContain(
      "/deletionPolicy: must be equal to one of the allowed values",
    );
    expect(validator.validate(vsc({ driver: "d" }))).toContain(
      "/: must have required property 'deletionPolicy'",
    );
    expect(validator.validate(vsc({ driver: "d", deletionPolicy: "Delete" }, { labels: { a: 1 } }))).toEqual([
      "/metadata/labels/a: must be string",
    ]);
  });

  it("refuses an object it has no schema for instead of passing it", () => {
    const obj: K8sObject = { apiVersion: "example.com/v1", kind: "Widget", metadata: { name: "w" } };
    expect(validator.validate(obj)).toEqual(["no schema for example.com/v1 Widget"]);
    const oldApi: K8sObject = {
      apiVersion: "snapshot.storage.k8s.io/v1beta1",
      kind: "VolumeSnapshotClass",
      metadata: { name: "w" },
    };
    expect(validator.validate(oldApi)).toEqual([
      "no schema for snapshot.storage.k8s.io/v1beta1 VolumeSnapshotClass",
    ]);
  });

  it("knows the scope of the kinds the chart renders", () => {
    const of = (apiVersion: string, kind: string): K8sObject => ({
      apiVersion,
      kind,
      metadata: { name: "x" },
    });
    expect(validator.isClusterScoped(of("storage.k8s.io/v1", "CSIDriver"))).toBe(true);
    expect(validator.isClusterScoped(of("snapshot.storage.k8s.io/v1", "VolumeSnapshotClass"))).toBe(true);
    expect(validator.isClusterScoped(of("monitoring.coreos.com/v1", "ServiceMonitor"))).toBe(false);
    expect(validator.isClusterScoped(of("apps/v1", "DaemonSet"))).toBe(false);
  });
});

describe("closeObjects", () => {
  it("closes objects with properties but leaves maps and preserved fields open", () => {
    const closed = closeObjects({
      type: "object",
      properties: {
        spec: { type: "object", properties: { a: { type: "string" } } },
        labels: { type: "object", additionalProperties: { type: "string" } },
        raw: {
          type: "object",
          properties: { b: { type: "string" } },
          "x-kubernetes-preserve-unknown-fields": true,
        },
      },
    });
    expect(closed).toEqual({
      type: "object",
      additionalProperties: false,
      properties: {
        spec: { type: "object", additionalProperties: false, properties: { a: { type: "string" } } },
        labels: { type: "object", additionalProperties: { type: "string" } },
        raw: {
          type: "object",
          properties: { b: { type: "string" } },
          "x-kubernetes-preserve-unknown-fields": true,
        },
      },
    });
  });

  it("treats a property named like a keyword as a property", () => {
    const closed = closeObjects({ properties: { properties: { type: "object", properties: { x: {} } } } });
    expect(closed).toEqual({
      additionalProperties: false,
      properties: { properties: { type: "object", additionalProperties: false, properties: { x: {} } } },
    });
  });
});
