import { readFileSync } from "node:fs";
import { join } from "node:path";
import type * as grpc from "@grpc/grpc-js";
import protobuf from "protobufjs";
import { PACKAGE_ROOT } from "../package-root.js";
import { int64Preparer } from "./proto-int64.js";

/** proto/csi.proto, found from the package root (src/, dist/ and the bundle sit at different depths). */
export const CSI_PROTO_PATH = join(PACKAGE_ROOT, "proto", "csi.proto");

/**
 * proto/csi.json: csi.proto as protobufjs JSON, made by scripts/csi-descriptor.mjs (a test checks
 * it matches the .proto). The driver loads it rather than parsing the .proto at start-up: one
 * reflection of the protocol instead of @grpc/proto-loader's parse plus descriptor.proto's, about
 * 4 MiB less resident memory.
 */
export const CSI_DESCRIPTOR_PATH = join(PACKAGE_ROOT, "proto", "csi.json");

export const CSI_PACKAGE = "csi.v1";

/** The services this driver serves; SnapshotMetadata is alpha and stays out. */
export const CSI_SERVICE_NAMES = ["Identity", "Controller", "Node", "GroupController"] as const;
export type CsiServiceName = (typeof CSI_SERVICE_NAMES)[number];

export type CsiServices = Readonly<Record<CsiServiceName, grpc.ServiceDefinition>>;

export interface CsiMethodTypes {
  /** gRPC path, e.g. "/csi.v1.Controller/CreateVolume". */
  readonly path: string;
  /** Fully-qualified message names, e.g. "csi.v1.CreateVolumeRequest". */
  readonly request: string;
  readonly response: string;
}

/** Method name → its message types, per service. */
export type CsiMethodTable = Readonly<Record<CsiServiceName, ReadonlyMap<string, CsiMethodTypes>>>;

export const REDACTED = "[REDACTED]";

/**
 * How requests arrive in handlers: proto field names, int64 as exact decimal strings, enums by
 * name, every field present (absent messages as null), and oneof discriminators. These are the
 * conversion options @grpc/proto-loader was given (the JSON keeps the proto field names).
 */
const TO_OBJECT: protobuf.IConversionOptions = {
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};

interface LoadedCsi {
  readonly services: CsiServices;
  readonly methods: CsiMethodTable;
  readonly reflection: protobuf.Root;
  readonly secretPaths: ReadonlySet<string>;
}

let loaded: LoadedCsi | undefined;

function load(): LoadedCsi {
  if (loaded) return loaded;
  const reflection = protobuf.Root.fromJSON(JSON.parse(readFileSync(CSI_DESCRIPTOR_PATH, "utf8")));
  reflection.resolveAll();
  const services = {} as Record<CsiServiceName, grpc.ServiceDefinition>;
  const methods = {} as Record<CsiServiceName, ReadonlyMap<string, CsiMethodTypes>>;
  for (const name of CSI_SERVICE_NAMES) {
    const service = reflection.lookupService(`${CSI_PACKAGE}.${name}`);
    services[name] = serviceDefinition(service);
    methods[name] = methodTypes(service);
  }
  loaded = { services, methods, reflection, secretPaths: collectSecretPaths(reflection) };
  return loaded;
}

/** What `server.addService` and client constructors take, built as @grpc/proto-loader builds it. */
function serviceDefinition(service: protobuf.Service): grpc.ServiceDefinition {
  const definition: Record<string, grpc.MethodDefinition<object, object>> = {};
  for (const method of service.methodsArray) {
    method.resolve();
    const request = resolved(method.resolvedRequestType);
    const response = resolved(method.resolvedResponseType);
    definition[method.name] = {
      path: `/${fullNameOf(service)}/${method.name}`,
      requestStream: Boolean(method.requestStream),
      responseStream: Boolean(method.responseStream),
      requestSerialize: serializer(request),
      requestDeserialize: deserializer(request),
      responseSerialize: serializer(response),
      responseDeserialize: deserializer(response),
      // Client stubs also get a method of this name (CSI's method names are PascalCase words).
      originalName: method.name.charAt(0).toLowerCase() + method.name.slice(1),
    };
  }
  return definition;
}

function resolved(type: protobuf.Type | null): protobuf.Type {
  if (!type) throw new Error("csi.proto reflection is not resolved");
  return type;
}

function serializer(type: protobuf.Type): (value: object) => Buffer {
  const prepare = int64Preparer(type);
  return (value) => {
    if (Array.isArray(value)) {
      throw new Error(
        `Failed to serialize message: expected object with ${type.name} structure, got array instead`,
      );
    }
    const message = prepare ? prepare(value as Record<string, unknown>) : value;
    // Under Node, protobufjs writes into a Buffer (its BufferWriter), so this is not a copy.
    return type.encode(type.fromObject(message)).finish() as Buffer;
  };
}

function deserializer(type: protobuf.Type): (bytes: Buffer) => object {
  return (bytes) => type.toObject(type.decode(bytes), TO_OBJECT);
}

function methodTypes(service: protobuf.Service): ReadonlyMap<string, CsiMethodTypes> {
  const table = new Map<string, CsiMethodTypes>();
  for (const method of service.methodsArray) {
    method.resolve();
    table.set(method.name, {
      path: `/${fullNameOf(service)}/${method.name}`,
      request: fullNameOf(method.resolvedRequestType),
      response: fullNameOf(method.resolvedResponseType),
    });
  }
  return table;
}

function fullNameOf(object: protobuf.ReflectionObject | null): string {
  if (!object) throw new Error("csi.proto reflection is not resolved");
  return object.fullName.replace(/^\./, "");
}

/** True when a custom option such as `(csi_secret)` is set, however the name is qualified. */
function hasOption(options: Record<string, unknown> | undefined, name: string): boolean {
  if (!options) return false;
  return [`(${name})`, `(${CSI_PACKAGE}.${name})`, `(.${CSI_PACKAGE}.${name})`].some(
    (k) => options[k] === true,
  );
}

function isSecretField(field: protobuf.Field): boolean {
  return hasOption(field.options, "csi_secret");
}

function collectSecretPaths(root: protobuf.Root): ReadonlySet<string> {
  const paths = new Set<string>();
  const visit = (ns: protobuf.NamespaceBase): void => {
    for (const nested of ns.nestedArray) {
      if (nested instanceof protobuf.Type) {
        for (const field of nested.fieldsArray) if (isSecretField(field)) paths.add(fullNameOf(field));
      }
      if (nested instanceof protobuf.Namespace || nested instanceof protobuf.Type) visit(nested);
    }
  };
  const csi = root.lookup(CSI_PACKAGE);
  if (csi instanceof protobuf.Namespace) visit(csi);
  return paths;
}

/** Service definitions ready for `server.addService`. Parsed once per process. */
export function loadCsiServices(): CsiServices {
  return load().services;
}

/** For each service, method name → gRPC path and request/response message names. */
export function csiMethodTypes(): CsiMethodTable {
  return load().methods;
}

/** Fully-qualified fields marked csi_secret, e.g. "csi.v1.CreateVolumeRequest.secrets". */
export function secretFieldPaths(): ReadonlySet<string> {
  return load().secretPaths;
}

/**
 * A deep copy of `message` (shaped as the loader delivers it) with every csi_secret field, at
 * any depth, replaced by REDACTED; secret maps keep their keys. Throws for an unknown type name,
 * which is a wiring mistake rather than a request problem.
 */
export function redactSecrets(typeName: string, message: unknown): unknown {
  return secretRedactor(load().reflection)(typeName, message);
}

/** redactSecrets over any parsed protocol whose fields carry a `csi_secret` option. */
export function secretRedactor(root: protobuf.Root): (typeName: string, message: unknown) => unknown {
  return (typeName, message) => {
    const type = root.lookup(typeName.replace(/^\./, ""));
    if (!(type instanceof protobuf.Type)) throw new Error(`unknown message type "${typeName}"`);
    return redactMessage(type, message, 0);
  };
}

/** redactSecrets for a request of `service` ("Controller" or "csi.v1.Controller") and `method`. */
export function redactRequest(service: string, method: string, request: unknown): unknown {
  const short = service.startsWith(`${CSI_PACKAGE}.`) ? service.slice(CSI_PACKAGE.length + 1) : service;
  const table = (load().methods as Record<string, ReadonlyMap<string, CsiMethodTypes> | undefined>)[short];
  const types = table?.get(method);
  if (!types) throw new Error(`unknown CSI method "${service}/${method}"`);
  return redactSecrets(types.request, request);
}

// Messages are trees; the bound only protects against a caller passing a cyclic object.
const MAX_DEPTH = 64;

function redactMessage(type: protobuf.Type, value: unknown, depth: number): unknown {
  if (!isPlainObject(value)) return copyValue(value, depth);
  if (depth > MAX_DEPTH) return REDACTED;
  const out: Record<string, unknown> = {};
  for (const [key, fieldValue] of Object.entries(value)) {
    const field = type.fields[key];
    // Keys that are not fields (oneof discriminators) hold plain values.
    out[key] = field ? redactField(field, fieldValue, depth + 1) : copyValue(fieldValue, depth + 1);
  }
  return out;
}

function redactField(field: protobuf.Field, value: unknown, depth: number): unknown {
  if (value === null || value === undefined) return value;
  if (isSecretField(field)) {
    if (field.map && isPlainObject(value))
      return Object.fromEntries(Object.keys(value).map((k) => [k, REDACTED]));
    if (field.repeated && Array.isArray(value)) return value.map(() => REDACTED);
    return REDACTED;
  }
  field.resolve();
  const nested = field.resolvedType;
  if (!(nested instanceof protobuf.Type)) return copyValue(value, depth);
  if (field.map && isPlainObject(value)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactMessage(nested, v, depth)]));
  }
  if (field.repeated && Array.isArray(value)) return value.map((v) => redactMessage(nested, v, depth));
  return redactMessage(nested, value, depth);
}

function copyValue(value: unknown, depth: number): unknown {
  if (value === null || typeof value !== "object") return value;
  if (depth > MAX_DEPTH) return REDACTED;
  if (Buffer.isBuffer(value)) return Buffer.from(value);
  if (Array.isArray(value)) return value.map((v) => copyValue(v, depth + 1));
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, copyValue(v, depth + 1)]));
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value) && !Buffer.isBuffer(value);
}
