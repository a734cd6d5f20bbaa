import { readFileSync } from "node:fs";
import path from "node:path";
import { Ajv, type ValidateFunction } from "ajv";
import { parse as parseYaml } from "yaml";
import type { K8sObject } from "./tools.js";

/**
 * Validates Kubernetes objects the way `kubectl apply --validate=strict` would, offline: built-in
 * kinds against the Kubernetes OpenAPI v3 documents, custom resources against their CRD's
 * openAPIV3Schema (and metadata against ObjectMeta). Unknown fields are errors, as they are for
 * the API server's strict field validation. CEL rules (x-kubernetes-validations) are not evaluated.
 */

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";
const CORE_DOC = "k8s-openapi/api/v1";

function isObject(v: Json | undefined): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * A copy of a schema in which every object with declared properties refuses other properties,
 * unless it says it keeps unknown fields (OpenAPI leaves additionalProperties open by default).
 */
export function closeObjects(schema: Json): Json {
  if (Array.isArray(schema)) return schema.map(closeObjects);
  if (!isObject(schema)) return schema;
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(schema)) {
    // Property names are data, not schemas: copy the map, close each property's schema.
    if (k === "properties" && isObject(v)) {
      out[k] = Object.fromEntries(Object.entries(v).map(([name, s]) => [name, closeObjects(s)]));
    } else {
      out[k] = closeObjects(v);
    }
  }
  if (
    isObject(out.properties) &&
    out.additionalProperties === undefined &&
    out["x-kubernetes-preserve-unknown-fields"] !== true
  ) {
    out.additionalProperties = false;
  }
  return out;
}

function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.indexOf("/");
  return slash < 0
    ? { group: "", version: apiVersion }
    : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

function openApiFileFor(group: string, version: string): string {
  return group === "" ? `api__${version}_openapi.json` : `apis__${group}__${version}_openapi.json`;
}

export interface SchemaSources {
  /** api/openapi-spec/v3 of the Kubernetes source tree. */
  openApiDir: string;
  /** CustomResourceDefinition YAML files. */
  crdFiles: string[];
}

export class ManifestValidator {
  private readonly ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  private readonly loadedDocs = new Map<string, JsonObject>();
  private readonly validators = new Map<string, ValidateFunction>();
  private readonly crds = new Map<string, { schema: Json; scope: string }>();

  constructor(private readonly sources: SchemaSources) {
    for (const file of sources.crdFiles) this.addCrd(file);
  }

  private addCrd(file: string): void {
    const crd = parseYaml(readFileSync(file, "utf8")) as JsonObject;
    const spec = crd.spec as JsonObject;
    const names = spec.names as JsonObject;
    for (const v of spec.versions as JsonObject[]) {
      if (v.served !== true) continue;
      const schema = (v.schema as JsonObject).openAPIV3Schema as Json;
      const key = `${spec.group as string}/${v.name as string}/${names.kind as string}`;
      this.crds.set(key, { schema: closeObjects(schema), scope: spec.scope as string });
    }
  }

  /** Loads (once) the OpenAPI document of a built-in group-version; undefined if there is none. */
  private openApiDoc(group: string, version: string): JsonObject | undefined {
    const id = group === "" ? CORE_DOC : `k8s-openapi/apis/${group}/${version}`;
    const cached = this.loadedDocs.get(id);
    if (cached) return cached;
    let text: string;
    try {
      text = readFileSync(path.join(this.sources.openApiDir, openApiFileFor(group, version)), "utf8");
    } catch {
      return undefined;
    }
    const doc = JSON.parse(text) as JsonObject;
    const schemas = (doc.components as JsonObject).schemas as JsonObject;
    const closed = closeObjects(schemas) as JsonObject;
    // Only the schemas are added: paths and responses are not schema documents.
    this.ajv.addSchema({ $id: id, components: { schemas: closed } } as object);
    const entry: JsonObject = { id, schemas: closed };
    this.loadedDocs.set(id, entry);
    return entry;
  }

  private builtInValidator(group: string, version: string, kind: string): ValidateFunction | undefined {
    const doc = this.openApiDoc(group, version);
    if (!doc) return undefined;
    const schemas = doc.schemas as JsonObject;
    const name = Object.keys(schemas).find((n) => {
      const gvks = (schemas[n] as JsonObject)["x-kubernetes-group-version-kind"];
      return (
        Array.isArray(gvks) &&
        gvks.some((g) => isObject(g) && g.group === group && g.version === version && g.kind === kind)
      );
    });
    if (!name) return undefined;
    return this.ajv.getSchema(`${doc.id as string}#/components/schemas/${name}`);
  }

  private validatorFor(obj: K8sObject): { validate: ValidateFunction; custom: boolean } | undefined {
    const key = `${obj.apiVersion}/${obj.kind}`;
    const { group, version } = splitApiVersion(obj.apiVersion);
    const crd = this.crds.get(`${group}/${version}/${obj.kind}`);
    let validate = this.validators.get(key);
    if (!validate) {
      validate = crd
        ? this.ajv.compile(crd.schema as object)
        : this.builtInValidator(group, version, obj.kind);
      if (!validate) return undefined;
      this.validators.set(key, validate);
    }
    return { validate, custom: crd !== undefined };
  }

  /** Problems found in one object, each naming the field; empty when it is valid. */
  validate(obj: K8sObject): string[] {
    const found = this.validatorFor(obj);
    if (!found) return [`no schema for ${obj.apiVersion} ${obj.kind}`];
    const problems: string[] = [];
    const report = (fn: ValidateFunction, value: unknown, prefix: string) => {
      if (fn(value)) return;
      for (const e of fn.errors ?? []) {
        const extra = e.keyword === "additionalProperties" ? ` (${String(e.params.additionalProperty)})` : "";
        problems.push(`${prefix}${e.instancePath || "/"}: ${e.message ?? e.keyword}${extra}`);
      }
    };
    report(found.validate, obj, "");
    if (found.custom) {
      // CRD schemas leave metadata open; the API server checks it as ObjectMeta.
      this.openApiDoc("", "v1");
      const meta = this.ajv.getSchema(`${CORE_DOC}#/components/schemas/${OBJECT_META}`);
      if (!meta) throw new Error("ObjectMeta schema missing from the core OpenAPI document");
      report(meta, obj.metadata, "/metadata");
    }
    return problems;
  }

  /** Whether a kind is cluster-scoped, for the kinds this project renders. */
  isClusterScoped(obj: K8sObject): boolean {
    const { group, version } = splitApiVersion(obj.apiVersion);
    const crd = this.crds.get(`${group}/${version}/${obj.kind}`);
    if (crd) return crd.scope === "Cluster";
    return CLUSTER_SCOPED_BUILT_INS.has(`${group}/${obj.kind}`);
  }
}

const CLUSTER_SCOPED_BUILT_INS = new Set([
  "/Namespace",
  "/Node",
  "/PersistentVolume",
  "rbac.authorization.k8s.io/ClusterRole",
  "rbac.authorization.k8s.io/ClusterRoleBinding",
  "storage.k8s.io/CSIDriver",
  "storage.k8s.io/CSINode",
  "storage.k8s.io/StorageClass",
  "storage.k8s.io/VolumeAttachment",
  "storage.k8s.io/VolumeAttributesClass",
  "scheduling.k8s.io/PriorityClass",
  "apiextensions.k8s.io/CustomResourceDefinition",
]);
