import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import protobuf from "protobufjs";

const execFileAsync = promisify(execFile);

export const OFFICIAL_SPEC_MODULE = "github.com/container-storage-interface/spec";
export const OFFICIAL_SPEC_VERSION = "v1.12.0";

interface GoModDownload {
  Path?: string;
  Version?: string;
  Dir?: string;
  Error?: string;
}

/**
 * The official csi.proto text, fetched through the Go module proxy (or found in the module
 * cache). Throws with the reason when it cannot be obtained: the conformance test must fail then.
 */
export async function fetchOfficialCsiProto(): Promise<string> {
  const target = `${OFFICIAL_SPEC_MODULE}@${OFFICIAL_SPEC_VERSION}`;
  const workDir = await mkdtemp(join(tmpdir(), "csi-spec-"));
  try {
    let stdout: string;
    try {
      ({ stdout } = await execFileAsync("go", ["mod", "download", "-json", target], {
        cwd: workDir,
        env: {
          ...process.env,
          PATH: ["/usr/local/go/bin", join(homedir(), "go", "bin"), process.env.PATH ?? ""].join(":"),
          GOFLAGS: "-mod=mod",
        },
        timeout: 240_000,
        maxBuffer: 4 * 1024 * 1024,
      }));
    } catch (err) {
      const e = err as NodeJS.ErrnoException & { stdout?: string; stderr?: string };
      const reason = e.code === "ENOENT" ? "the go command is not installed" : goError(e.stdout) || e.message;
      const stderr = e.stderr?.trim() ? `\n${e.stderr.trim()}` : "";
      throw new Error(
        `cannot obtain the official CSI proto: "go mod download ${target}" failed: ${reason}${stderr}`,
      );
    }
    let info: GoModDownload;
    try {
      info = JSON.parse(stdout) as GoModDownload;
    } catch {
      throw new Error(
        `cannot obtain the official CSI proto: unreadable "go mod download" output:\n${stdout}`,
      );
    }
    if (info.Error) throw new Error(`cannot obtain the official CSI proto: ${info.Error}`);
    if (info.Version !== OFFICIAL_SPEC_VERSION || !info.Dir) {
      throw new Error(`cannot obtain the official CSI proto: unexpected "go mod download" answer ${stdout}`);
    }
    return await readFile(join(info.Dir, "csi.proto"), "utf8");
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

/** The "Error" that `go mod download -json` reports in its JSON output, if any. */
function goError(stdout: string | undefined): string | undefined {
  try {
    return (JSON.parse(stdout ?? "") as GoModDownload).Error;
  } catch {
    return undefined;
  }
}

interface BundledProtoJson {
  nested: { google: { nested: { protobuf: { nested: Record<string, unknown> } } } };
}

let descriptorRegistered = false;

/** Parses proto text into a resolved reflection tree; google/protobuf imports come bundled. */
export function parseProto(text: string, label: string): protobuf.Root {
  if (!descriptorRegistered) {
    const json = createRequire(import.meta.url)(
      "protobufjs/google/protobuf/descriptor.json",
    ) as BundledProtoJson;
    protobuf.common("descriptor", json.nested.google.nested.protobuf.nested);
    descriptorRegistered = true;
  }
  const root = new protobuf.Root();
  const parsed = protobuf.parse(text, root, { keepCase: true });
  for (const imported of parsed.imports ?? []) {
    const bundled = protobuf.common.get(imported);
    if (!bundled) throw new Error(`${label}: import "${imported}" is not a bundled google/protobuf file`);
    root.addJSON((bundled as { nested: Record<string, protobuf.AnyNestedObject> }).nested);
  }
  root.resolveAll();
  return root;
}

/**
 * Element key ("field csi.v1.Volume.capacity_bytes") → everything the wire and the options
 * depend on. Two protocol files are equivalent when their shapes are equal; comments, order
 * and formatting do not appear. The bundled google.* types are left out.
 */
export type ProtoShape = ReadonlyMap<string, string>;

export function describeProto(root: protobuf.Root): ProtoShape {
  const shape = new Map<string, string>();
  const put = (key: string, value: string): void => {
    if (shape.has(key)) throw new Error(`duplicate element ${key}`);
    shape.set(key, value);
  };
  const visit = (ns: protobuf.NamespaceBase): void => {
    for (const object of ns.nestedArray) {
      const name = qualified(object);
      if (object instanceof protobuf.Type) {
        put(`message ${name}`, describeMessage(object));
        for (const field of object.fieldsArray) put(`field ${qualified(field)}`, describeField(field));
        for (const oneof of object.oneofsArray) put(`oneof ${qualified(oneof)}`, describeOneof(oneof));
        visit(object);
      } else if (object instanceof protobuf.Enum) {
        put(`enum ${name}`, `options=${options(object.options)}`);
        for (const [value, number] of Object.entries(object.values)) {
          put(
            `enum value ${name}.${value}`,
            `number=${number} options=${options(object.valuesOptions?.[value])}`,
          );
        }
      } else if (object instanceof protobuf.Service) {
        put(`service ${name}`, `options=${options(object.options)}`);
        for (const method of object.methodsArray) put(`method ${qualified(method)}`, describeMethod(method));
      } else if (object instanceof protobuf.Field) {
        put(`extension ${name}`, `extends=${trimDot(object.extend ?? "")} ${describeField(object)}`);
      } else if (object instanceof protobuf.Namespace) {
        if (ns === object.root && object.name === "google") continue;
        put(`namespace ${name}`, `options=${options(object.options)}`);
        visit(object);
      } else {
        put(`unknown ${name}`, object.toString());
      }
    }
  };
  visit(root);
  return shape;
}

function describeMessage(type: protobuf.Type): string {
  return [
    `options=${options(type.options)}`,
    `reserved=${JSON.stringify(type.reserved ?? [])}`,
    `extensions=${JSON.stringify(type.extensions ?? [])}`,
  ].join(" ");
}

function describeField(field: protobuf.Field): string {
  field.resolve();
  const valueType = field.resolvedType ? qualified(field.resolvedType) : field.type;
  const isMap = field instanceof protobuf.MapField;
  const type = isMap ? `map<${field.keyType},${valueType}>` : valueType;
  const label = isMap ? "map" : labelOf(field);
  const oneof = field.partOf ? field.partOf.name : "-";
  return `number=${field.id} label=${label} type=${type} oneof=${oneof} options=${options(field.options)}`;
}

function labelOf(field: protobuf.Field): string {
  if (field.repeated) return "repeated";
  if (field.required) return "required";
  // proto3 `optional` (explicit presence) is recorded as an option plus a synthetic oneof.
  if (field.options?.proto3_optional === true) return "optional";
  return "singular";
}

function describeOneof(oneof: protobuf.OneOf): string {
  return `fields=${[...oneof.oneof].sort().join(",")} options=${options(oneof.options)}`;
}

function describeMethod(method: protobuf.Method): string {
  method.resolve();
  const request = method.resolvedRequestType ? qualified(method.resolvedRequestType) : method.requestType;
  const response = method.resolvedResponseType ? qualified(method.resolvedResponseType) : method.responseType;
  return [
    `request=${method.requestStream ? "stream " : ""}${request}`,
    `response=${method.responseStream ? "stream " : ""}${response}`,
    `options=${options(method.options)}`,
  ].join(" ");
}

function qualified(object: protobuf.ReflectionObject): string {
  return trimDot(object.fullName);
}

function trimDot(name: string): string {
  return name.replace(/^\./, "");
}

/** Options as sorted JSON, so "(alpha_field)" and "(csi_secret)" compare regardless of order. */
function options(opts: Record<string, unknown> | undefined): string {
  const entries = Object.entries(opts ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify(Object.fromEntries(entries));
}

export interface ProtoDifference {
  /** missing: in the reference only; extra: in the candidate only; changed: in both, different. */
  readonly kind: "missing" | "extra" | "changed";
  readonly element: string;
  readonly reference?: string;
  readonly candidate?: string;
}

export function diffProtoShapes(reference: ProtoShape, candidate: ProtoShape): ProtoDifference[] {
  const diffs: ProtoDifference[] = [];
  for (const [element, ref] of reference) {
    const cand = candidate.get(element);
    if (cand === undefined) diffs.push({ kind: "missing", element, reference: ref });
    else if (cand !== ref) diffs.push({ kind: "changed", element, reference: ref, candidate: cand });
  }
  for (const [element, cand] of candidate) {
    if (!reference.has(element)) diffs.push({ kind: "extra", element, candidate: cand });
  }
  return diffs;
}

export function formatDifferences(diffs: readonly ProtoDifference[]): string {
  return diffs.map(formatDifference).join("\n");
}

function formatDifference(d: ProtoDifference): string {
  if (d.kind === "missing") return `missing ${d.element} (official: ${d.reference})`;
  if (d.kind === "extra") return `extra ${d.element} (ours: ${d.candidate})`;
  return `changed ${d.element}\n  official: ${d.reference}\n  ours:     ${d.candidate}`;
}
