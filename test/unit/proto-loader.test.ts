import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { afterEach, describe, expect, it } from "vitest";
// @ts-expect-error: a plain JavaScript script, without type declarations
import { csiDescriptorJson } from "../../scripts/csi-descriptor.mjs";
import {
  CSI_DESCRIPTOR_PATH,
  CSI_PROTO_PATH,
  CSI_SERVICE_NAMES,
  csiMethodTypes,
  loadCsiServices,
  REDACTED,
  redactRequest,
  redactSecrets,
  secretFieldPaths,
  secretRedactor,
} from "../../src/csi/proto.js";
import type {
  ControllerGetCapabilitiesResponse,
  CreateVolumeGroupSnapshotResponse,
  CreateVolumeRequest,
  CreateVolumeResponse,
  CsiMethods,
  GetCapacityResponse,
  GetPluginCapabilitiesResponse,
  GroupControllerGetCapabilitiesResponse,
  ListSnapshotsResponse,
  ListVolumesResponse,
  NodeGetCapabilitiesResponse,
  NodeGetInfoResponse,
  NodeGetVolumeStatsResponse,
  Outgoing,
  ProbeResponse,
  Snapshot,
  ValidateVolumeCapabilitiesResponse,
  Volume,
} from "../../src/csi/types.js";
import { parseProto } from "../helpers/official-proto.js";

// `satisfies` makes the compiler check these lists against the method tables in types.ts, in
// both directions; the test then checks them against what the loader serves.
const expectedMethods = {
  Identity: { GetPluginInfo: true, GetPluginCapabilities: true, Probe: true },
  Controller: {
    CreateVolume: true,
    DeleteVolume: true,
    ControllerPublishVolume: true,
    ControllerUnpublishVolume: true,
    ValidateVolumeCapabilities: true,
    ListVolumes: true,
    GetCapacity: true,
    ControllerGetCapabilities: true,
    CreateSnapshot: true,
    DeleteSnapshot: true,
    ListSnapshots: true,
    GetSnapshot: true,
    ControllerExpandVolume: true,
    ControllerGetVolume: true,
    ControllerModifyVolume: true,
  },
  Node: {
    NodeStageVolume: true,
    NodeUnstageVolume: true,
    NodePublishVolume: true,
    NodeUnpublishVolume: true,
    NodeGetVolumeStats: true,
    NodeExpandVolume: true,
    NodeGetCapabilities: true,
    NodeGetInfo: true,
  },
  GroupController: {
    GroupControllerGetCapabilities: true,
    CreateVolumeGroupSnapshot: true,
    DeleteVolumeGroupSnapshot: true,
    GetVolumeGroupSnapshot: true,
  },
} satisfies { [S in keyof CsiMethods]: Record<keyof CsiMethods[S], true> };

/** csi.proto as @grpc/proto-loader reads it, with the options the driver's descriptor matches. */
function referenceDefinitions() {
  return protoLoader.loadSync(CSI_PROTO_PATH, {
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
}

describe("loadCsiServices", () => {
  it("serves exactly the methods of each CSI service, all unary", () => {
    const services = loadCsiServices();
    expect(Object.keys(services).sort()).toEqual([...CSI_SERVICE_NAMES].sort());
    for (const name of CSI_SERVICE_NAMES) {
      const definition = services[name];
      expect(Object.keys(definition).sort(), name).toEqual(Object.keys(expectedMethods[name]).sort());
      for (const [method, attrs] of Object.entries(definition)) {
        expect(attrs.path).toBe(`/csi.v1.${name}/${method}`);
        expect(attrs.requestStream || attrs.responseStream, method).toBe(false);
      }
    }
  });

  it("parses once per process", () => {
    expect(loadCsiServices()).toBe(loadCsiServices());
  });

  it("loads proto/csi.json, which is csi.proto as it stands", () => {
    expect(readFileSync(CSI_DESCRIPTOR_PATH, "utf8")).toBe(csiDescriptorJson());
  });

  it("encodes and decodes every message as @grpc/proto-loader does from csi.proto", () => {
    const reference = referenceDefinitions();
    const samples: Record<string, object> = {
      CreateVolume: {
        name: "pvc-1",
        capacity_range: { required_bytes: "9007199254740993" },
        volume_capabilities: [{ mount: { fs_type: "xfs" }, access_mode: { mode: "SINGLE_NODE_WRITER" } }],
        parameters: { pool: "fast" },
        secrets: { key: "value" },
        volume_content_source: { snapshot: { snapshot_id: "snap-1" } },
      },
    };
    for (const name of CSI_SERVICE_NAMES) {
      const ours = loadCsiServices()[name];
      const theirs = reference[`csi.v1.${name}`] as grpc.ServiceDefinition;
      expect(Object.keys(ours).sort(), name).toEqual(Object.keys(theirs).sort());
      for (const [method, a] of Object.entries(ours)) {
        const b = theirs[method]!;
        expect([a.path, a.requestStream, a.responseStream, a.originalName], method).toEqual([
          b.path,
          b.requestStream,
          b.responseStream,
          b.originalName,
        ]);
        const request = samples[method] ?? {};
        const bytes = a.requestSerialize(request);
        expect(bytes.equals(b.requestSerialize(request)), method).toBe(true);
        expect(a.requestDeserialize(bytes), method).toEqual(b.requestDeserialize(bytes));
        const response = b.responseSerialize({});
        expect(a.responseSerialize({}).equals(response), method).toBe(true);
        expect(a.responseDeserialize(response), method).toEqual(b.responseDeserialize(response));
      }
    }
  });

  it("encodes int64 answers of every size to the bytes @grpc/proto-loader makes of them", () => {
    const reference = referenceDefinitions();
    const theirs = (reference["csi.v1.Controller"] as grpc.ServiceDefinition).ListSnapshots!;
    const ours = loadCsiServices().Controller.ListSnapshots!;
    // Short strings go to protobufjs as numbers (src/csi/proto-int64.ts), long ones as strings.
    const values = ["0", "1", "-1", "4294967296", "999999999999999", "1000000000000000", "9007199254740993"];
    const answer: Outgoing<ListSnapshotsResponse> = {
      entries: [...values, "9223372036854775807", "-9223372036854775808"].map((v, i) => ({
        snapshot: {
          snapshot_id: `snap-${i}`,
          size_bytes: v,
          creation_time: { seconds: values[i % values.length], nanos: i },
          ready_to_use: true,
        },
      })),
      next_token: "snap-9",
    };
    const bytes = ours.responseSerialize(answer);
    expect(bytes.equals(theirs.responseSerialize(answer))).toBe(true);
    const decoded = ours.responseDeserialize(bytes) as ListSnapshotsResponse;
    expect(decoded.entries.map((e) => e.snapshot?.size_bytes)).toEqual(
      answer.entries?.map((e) => e.snapshot?.size_bytes),
    );
  });

  it("names each method's request and response types", () => {
    expect(csiMethodTypes().Controller.get("CreateSnapshot")).toEqual({
      path: "/csi.v1.Controller/CreateSnapshot",
      request: "csi.v1.CreateSnapshotRequest",
      response: "csi.v1.CreateSnapshotResponse",
    });
    expect(csiMethodTypes().Node.get("NodeStageVolume")?.request).toBe("csi.v1.NodeStageVolumeRequest");
    expect(csiMethodTypes().GroupController.get("GetVolumeGroupSnapshot")?.response).toBe(
      "csi.v1.GetVolumeGroupSnapshotResponse",
    );
    for (const name of CSI_SERVICE_NAMES) {
      expect([...csiMethodTypes()[name].keys()].sort(), name).toEqual(
        Object.keys(expectedMethods[name]).sort(),
      );
    }
  });
});

describe("secrets", () => {
  it("lists the fields marked csi_secret, and only those", () => {
    const paths = secretFieldPaths();
    for (const path of [
      "csi.v1.CreateVolumeRequest.secrets",
      "csi.v1.DeleteVolumeRequest.secrets",
      "csi.v1.CreateSnapshotRequest.secrets",
      "csi.v1.ListSnapshotsRequest.secrets",
      "csi.v1.NodeStageVolumeRequest.secrets",
      "csi.v1.NodePublishVolumeRequest.secrets",
      "csi.v1.NodeExpandVolumeRequest.secrets",
      "csi.v1.CreateVolumeGroupSnapshotRequest.secrets",
    ]) {
      expect(paths.has(path), path).toBe(true);
    }
    expect(paths.has("csi.v1.CreateVolumeRequest.parameters")).toBe(false);
    expect(paths.has("csi.v1.NodeUnstageVolumeRequest.secrets")).toBe(false);
    expect([...paths].filter((p) => !p.endsWith(".secrets"))).toEqual([]);
  });

  it("redacts a CreateVolumeRequest's secrets without touching the original", () => {
    const request = {
      name: "pvc-1",
      secrets: { password: "hunter2", token: "t0k" },
      parameters: { pool: "fast" },
      volume_capabilities: [{ mount: { fs_type: "ext4", mount_flags: [] }, access_type: "mount" }],
      volume_content_source: { snapshot: { snapshot_id: "snap-1" }, type: "snapshot" },
      capacity_range: null,
    };
    const redacted = redactSecrets("csi.v1.CreateVolumeRequest", request);
    expect(redacted).toEqual({ ...request, secrets: { password: REDACTED, token: REDACTED } });
    expect(request.secrets.password).toBe("hunter2");
    expect((redacted as typeof request).volume_capabilities).not.toBe(request.volume_capabilities);
    expect(redactRequest("csi.v1.Node", "NodeStageVolume", { volume_id: "v", secrets: { k: "s" } })).toEqual({
      volume_id: "v",
      secrets: { k: REDACTED },
    });
    expect(redactRequest("Controller", "DeleteSnapshot", { snapshot_id: "s", secrets: { k: "s" } })).toEqual({
      snapshot_id: "s",
      secrets: { k: REDACTED },
    });
  });

  it("refuses a type or method it does not know", () => {
    expect(() => redactSecrets("csi.v1.NoSuchRequest", {})).toThrow(/NoSuchRequest/);
    expect(() => redactRequest("Controller", "NoSuchMethod", {})).toThrow(/NoSuchMethod/);
  });

  it("hides secrets nested in messages, repeated messages and map values", () => {
    const root = parseProto(
      `syntax = "proto3";
       package t;
       import "google/protobuf/descriptor.proto";
       extend google.protobuf.FieldOptions { bool csi_secret = 1059; }
       message Credential { string user = 1; string password = 2 [(csi_secret) = true]; }
       message Outer {
         Credential one = 1;
         repeated Credential many = 2;
         map<string, Credential> by_name = 3;
         repeated string tokens = 4 [(csi_secret) = true];
         oneof choice { Credential picked = 5; string other = 6; }
       }`,
      "nested secrets",
    );
    const redact = secretRedactor(root);
    const message = {
      one: { user: "a", password: "p1" },
      many: [{ user: "b", password: "p2" }, null],
      by_name: { c: { user: "c", password: "p3" } },
      tokens: ["x", "y"],
      picked: { user: "d", password: "p4" },
      choice: "picked",
    };
    expect(redact("t.Outer", message)).toEqual({
      one: { user: "a", password: REDACTED },
      many: [{ user: "b", password: REDACTED }, null],
      by_name: { c: { user: "c", password: REDACTED } },
      tokens: [REDACTED, REDACTED],
      picked: { user: "d", password: REDACTED },
      choice: "picked",
    });
    expect(message.one.password).toBe("p1");
  });
});

type Direction = "request" | "response";
type MessageOf<S extends keyof CsiMethods, M extends keyof CsiMethods[S], D extends Direction> =
  CsiMethods[S][M] extends Record<D, infer T> ? T : never;
type DecodedDefaults<D extends Direction> = {
  [S in keyof CsiMethods]: { [M in keyof CsiMethods[S]]: MessageOf<S, M, D> };
};

// What an empty message decodes to. The annotations make the compiler hold every interface in
// types.ts to these objects (no missing, no extra fields); the test holds the loader to them.
const emptyRequests: DecodedDefaults<"request"> = {
  Identity: { GetPluginInfo: {}, GetPluginCapabilities: {}, Probe: {} },
  Controller: {
    CreateVolume: {
      name: "",
      capacity_range: null,
      volume_capabilities: [],
      parameters: {},
      secrets: {},
      volume_content_source: null,
      accessibility_requirements: null,
      mutable_parameters: {},
    },
    DeleteVolume: { volume_id: "", secrets: {} },
    ControllerPublishVolume: {
      volume_id: "",
      node_id: "",
      volume_capability: null,
      readonly: false,
      secrets: {},
      volume_context: {},
    },
    ControllerUnpublishVolume: { volume_id: "", node_id: "", secrets: {} },
    ValidateVolumeCapabilities: {
      volume_id: "",
      volume_context: {},
      volume_capabilities: [],
      parameters: {},
      secrets: {},
      mutable_parameters: {},
    },
    ListVolumes: { max_entries: 0, starting_token: "" },
    GetCapacity: { volume_capabilities: [], parameters: {}, accessible_topology: null },
    ControllerGetCapabilities: {},
    CreateSnapshot: { source_volume_id: "", name: "", secrets: {}, parameters: {} },
    DeleteSnapshot: { snapshot_id: "", secrets: {} },
    ListSnapshots: { max_entries: 0, starting_token: "", source_volume_id: "", snapshot_id: "", secrets: {} },
    GetSnapshot: { snapshot_id: "", secrets: {} },
    ControllerExpandVolume: { volume_id: "", capacity_range: null, secrets: {}, volume_capability: null },
    ControllerGetVolume: { volume_id: "" },
    ControllerModifyVolume: { volume_id: "", secrets: {}, mutable_parameters: {} },
  },
  Node: {
    NodeStageVolume: {
      volume_id: "",
      publish_context: {},
      staging_target_path: "",
      volume_capability: null,
      secrets: {},
      volume_context: {},
    },
    NodeUnstageVolume: { volume_id: "", staging_target_path: "" },
    NodePublishVolume: {
      volume_id: "",
      publish_context: {},
      staging_target_path: "",
      target_path: "",
      volume_capability: null,
      readonly: false,
      secrets: {},
      volume_context: {},
    },
    NodeUnpublishVolume: { volume_id: "", target_path: "" },
    NodeGetVolumeStats: { volume_id: "", volume_path: "", staging_target_path: "" },
    NodeExpandVolume: {
      volume_id: "",
      volume_path: "",
      capacity_range: null,
      staging_target_path: "",
      volume_capability: null,
      secrets: {},
    },
    NodeGetCapabilities: {},
    NodeGetInfo: {},
  },
  GroupController: {
    GroupControllerGetCapabilities: {},
    CreateVolumeGroupSnapshot: { name: "", source_volume_ids: [], secrets: {}, parameters: {} },
    DeleteVolumeGroupSnapshot: { group_snapshot_id: "", snapshot_ids: [], secrets: {} },
    GetVolumeGroupSnapshot: { group_snapshot_id: "", snapshot_ids: [], secrets: {} },
  },
};

const emptyResponses: DecodedDefaults<"response"> = {
  Identity: {
    GetPluginInfo: { name: "", vendor_version: "", manifest: {} },
    GetPluginCapabilities: { capabilities: [] },
    Probe: { ready: null },
  },
  Controller: {
    CreateVolume: { volume: null },
    DeleteVolume: {},
    ControllerPublishVolume: { publish_context: {} },
    ControllerUnpublishVolume: {},
    ValidateVolumeCapabilities: { confirmed: null, message: "" },
    ListVolumes: { entries: [], next_token: "" },
    GetCapacity: { available_capacity: "0", maximum_volume_size: null, minimum_volume_size: null },
    ControllerGetCapabilities: { capabilities: [] },
    CreateSnapshot: { snapshot: null },
    DeleteSnapshot: {},
    ListSnapshots: { entries: [], next_token: "" },
    GetSnapshot: { snapshot: null },
    ControllerExpandVolume: { capacity_bytes: "0", node_expansion_required: false },
    ControllerGetVolume: { volume: null, status: null },
    ControllerModifyVolume: {},
  },
  Node: {
    NodeStageVolume: {},
    NodeUnstageVolume: {},
    NodePublishVolume: {},
    NodeUnpublishVolume: {},
    NodeGetVolumeStats: { usage: [], volume_condition: null },
    NodeExpandVolume: { capacity_bytes: "0" },
    NodeGetCapabilities: { capabilities: [] },
    NodeGetInfo: { node_id: "", max_volumes_per_node: "0", accessible_topology: null },
  },
  GroupController: {
    GroupControllerGetCapabilities: { capabilities: [] },
    CreateVolumeGroupSnapshot: { group_snapshot: null },
    DeleteVolumeGroupSnapshot: {},
    GetVolumeGroupSnapshot: { group_snapshot: null },
  },
};

/** Serializes `sent` as the given message and decodes it the way a handler or client sees it. */
function decodeAs(service: keyof CsiMethods, method: string, direction: Direction, sent: object): unknown {
  const attrs = loadCsiServices()[service][method];
  if (!attrs) throw new Error(`no method ${service}/${method}`);
  return direction === "request"
    ? attrs.requestDeserialize(attrs.requestSerialize(sent))
    : attrs.responseDeserialize(attrs.responseSerialize(sent));
}

describe("types.ts matches what the loader delivers", () => {
  it("for every empty request and response", () => {
    for (const [direction, table] of [
      ["request", emptyRequests],
      ["response", emptyResponses],
    ] as const) {
      for (const [service, methods] of Object.entries(table) as [keyof CsiMethods, object][]) {
        for (const [method, expected] of Object.entries(methods)) {
          expect(decodeAs(service, method, direction, {}), `${service}.${method} ${direction}`).toEqual(
            expected,
          );
        }
      }
    }
  });

  it("for nested messages, oneofs, wrappers, timestamps and unknown enum numbers", () => {
    const request: CreateVolumeRequest = {
      ...emptyRequests.Controller.CreateVolume,
      capacity_range: { required_bytes: "0", limit_bytes: "0" },
      volume_capabilities: [
        { access_type: "block", block: {}, access_mode: { mode: "SINGLE_NODE_WRITER" } },
        {
          access_type: "mount",
          mount: { fs_type: "", mount_flags: [], volume_mount_group: "" },
          access_mode: null,
        },
        { access_mode: { mode: 42 } },
      ],
      volume_content_source: { type: "volume", volume: { volume_id: "" } },
      accessibility_requirements: { requisite: [{ segments: {} }], preferred: [] },
    };
    const sentRequest = {
      capacity_range: {},
      volume_capabilities: [
        { block: {}, access_mode: { mode: 1 } },
        { mount: {} },
        { access_mode: { mode: 42 } },
      ],
      volume_content_source: { volume: {} },
      accessibility_requirements: { requisite: [{}] },
    };
    expect(decodeAs("Controller", "CreateVolume", "request", sentRequest)).toEqual(request);

    const snapshot: Snapshot = {
      size_bytes: "0",
      snapshot_id: "",
      source_volume_id: "",
      creation_time: { seconds: "0", nanos: 0 },
      ready_to_use: false,
      group_snapshot_id: "",
    };
    const volume: Volume = {
      capacity_bytes: "0",
      volume_id: "",
      volume_context: {},
      content_source: { type: "snapshot", snapshot: { snapshot_id: "" } },
      accessible_topology: [],
    };
    const cases: [keyof CsiMethods, string, object, unknown][] = [
      ["Identity", "Probe", { ready: {} }, { ready: { value: false } } satisfies ProbeResponse],
      [
        "Identity",
        "GetPluginCapabilities",
        { capabilities: [{ service: {} }, { volume_expansion: { type: 1 } }, {}] },
        {
          capabilities: [
            { type: "service", service: { type: "UNKNOWN" } },
            { type: "volume_expansion", volume_expansion: { type: "ONLINE" } },
            {},
          ],
        } satisfies GetPluginCapabilitiesResponse,
      ],
      [
        "Controller",
        "CreateVolume",
        { volume: { content_source: { snapshot: {} } } },
        { volume } satisfies CreateVolumeResponse,
      ],
      [
        "Controller",
        "ListVolumes",
        { entries: [{ volume: {}, status: { volume_condition: {} } }] },
        {
          entries: [
            {
              volume: { ...volume, content_source: null },
              status: { published_node_ids: [], volume_condition: { abnormal: false, message: "" } },
            },
          ],
          next_token: "",
        } satisfies ListVolumesResponse,
      ],
      [
        "Controller",
        "ValidateVolumeCapabilities",
        { confirmed: { volume_capabilities: [{}] } },
        {
          confirmed: {
            volume_context: {},
            volume_capabilities: [{ access_mode: null }],
            parameters: {},
            mutable_parameters: {},
          },
          message: "",
        } satisfies ValidateVolumeCapabilitiesResponse,
      ],
      [
        "Controller",
        "GetCapacity",
        { maximum_volume_size: {} },
        {
          available_capacity: "0",
          maximum_volume_size: { value: "0" },
          minimum_volume_size: null,
        } satisfies GetCapacityResponse,
      ],
      [
        "Controller",
        "ControllerGetCapabilities",
        { capabilities: [{ rpc: { type: 5 } }] },
        {
          capabilities: [{ type: "rpc", rpc: { type: "CREATE_DELETE_SNAPSHOT" } }],
        } satisfies ControllerGetCapabilitiesResponse,
      ],
      [
        "Controller",
        "ListSnapshots",
        { entries: [{ snapshot: { creation_time: {} } }] },
        { entries: [{ snapshot }], next_token: "" } satisfies ListSnapshotsResponse,
      ],
      [
        "Node",
        "NodeGetVolumeStats",
        { usage: [{ unit: 1 }] },
        {
          usage: [{ available: "0", total: "0", used: "0", unit: "BYTES" }],
          volume_condition: null,
        } satisfies NodeGetVolumeStatsResponse,
      ],
      [
        "Node",
        "NodeGetCapabilities",
        { capabilities: [{ rpc: { type: 99 } }] },
        { capabilities: [{ type: "rpc", rpc: { type: 99 } }] } satisfies NodeGetCapabilitiesResponse,
      ],
      [
        "Node",
        "NodeGetInfo",
        { accessible_topology: {} },
        {
          node_id: "",
          max_volumes_per_node: "0",
          accessible_topology: { segments: {} },
        } satisfies NodeGetInfoResponse,
      ],
      [
        "GroupController",
        "CreateVolumeGroupSnapshot",
        { group_snapshot: { snapshots: [{ creation_time: {} }], creation_time: {} } },
        {
          group_snapshot: {
            group_snapshot_id: "",
            snapshots: [snapshot],
            creation_time: { seconds: "0", nanos: 0 },
            ready_to_use: false,
          },
        } satisfies CreateVolumeGroupSnapshotResponse,
      ],
      [
        "GroupController",
        "GroupControllerGetCapabilities",
        { capabilities: [{ rpc: { type: 1 } }] },
        {
          capabilities: [{ type: "rpc", rpc: { type: "CREATE_DELETE_GET_VOLUME_GROUP_SNAPSHOT" } }],
        } satisfies GroupControllerGetCapabilitiesResponse,
      ],
    ];
    for (const [service, method, sent, expected] of cases) {
      expect(decodeAs(service, method, "response", sent), `${service}.${method}`).toEqual(expected);
    }
  });
});

describe("int64 over gRPC", () => {
  let cleanup: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await cleanup?.();
    cleanup = undefined;
  });

  it("carries sizes above 2^53 exactly through a real server and client on a unix socket", async () => {
    const dir = await mkdtemp(join(tmpdir(), "csi-proto-"));
    const server = new grpc.Server();
    let client: grpc.Client | undefined;
    cleanup = async () => {
      client?.close();
      server.forceShutdown();
      await rm(dir, { recursive: true, force: true });
    };

    const aboveDoublePrecision = "9007199254740993"; // 2^53 + 1: a double would read 2^53
    const int64Max = "9223372036854775807";
    let received: CreateVolumeRequest | undefined;
    const controller = loadCsiServices().Controller;
    server.addService(controller, {
      CreateVolume: (
        call: grpc.ServerUnaryCall<CreateVolumeRequest, Outgoing<CreateVolumeResponse>>,
        callback: grpc.sendUnaryData<Outgoing<CreateVolumeResponse>>,
      ) => {
        received = call.request;
        callback(null, { volume: { volume_id: "pvc-1", capacity_bytes: int64Max } });
      },
    });
    const address = `unix:${join(dir, "csi.sock")}`;
    await new Promise<void>((resolve, reject) =>
      server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err) =>
        err ? reject(err) : resolve(),
      ),
    );

    client = new grpc.Client(address, grpc.credentials.createInsecure());
    const method = controller.CreateVolume!;
    const request: Outgoing<CreateVolumeRequest> = {
      name: "pvc-1",
      capacity_range: { required_bytes: aboveDoublePrecision, limit_bytes: int64Max },
      secrets: { key: "value" },
    };
    const reply = await new Promise<CreateVolumeResponse>((resolve, reject) =>
      client?.makeUnaryRequest(
        method.path,
        method.requestSerialize,
        method.responseDeserialize,
        request,
        (err: grpc.ServiceError | null, value?: CreateVolumeResponse) =>
          err || !value ? reject(err ?? new Error("empty reply")) : resolve(value),
      ),
    );

    expect(received?.capacity_range).toEqual({ required_bytes: aboveDoublePrecision, limit_bytes: int64Max });
    expect(received?.secrets).toEqual({ key: "value" });
    // Absent message fields arrive as null, unset scalars as their defaults.
    expect(received?.volume_content_source).toBeNull();
    expect(received?.volume_capabilities).toEqual([]);
    expect(reply.volume?.capacity_bytes).toBe(int64Max);
    expect(reply.volume?.volume_id).toBe("pvc-1");
    expect(reply.volume?.content_source).toBeNull();
  });
});
