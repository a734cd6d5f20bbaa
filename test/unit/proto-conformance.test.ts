import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { CSI_PROTO_PATH } from "../../src/csi/proto.js";
import {
  describeProto,
  diffProtoShapes,
  fetchOfficialCsiProto,
  formatDifferences,
  OFFICIAL_SPEC_VERSION,
  type ProtoShape,
  parseProto,
} from "../helpers/official-proto.js";

describe(`proto/csi.proto against the official CSI ${OFFICIAL_SPEC_VERSION} csi.proto`, () => {
  // Fetched inside the tests, so a missing official file fails them with the reason; never a skip.
  let official: Promise<ProtoShape> | undefined;
  const officialShape = () => {
    official ??= fetchOfficialCsiProto().then((text) =>
      describeProto(parseProto(text, "official csi.proto")),
    );
    return official;
  };
  const ourShape = async () =>
    describeProto(parseProto(await readFile(CSI_PROTO_PATH, "utf8"), CSI_PROTO_PATH));
  const FETCH_TIMEOUT_MS = 300_000;

  it(
    "reads the official file as the full protocol",
    async () => {
      const reference = await officialShape();
      // Guards the comparison itself: an empty or partial description would compare equal to anything.
      for (const service of ["Identity", "Controller", "Node", "GroupController", "SnapshotMetadata"]) {
        expect(reference.has(`service csi.v1.${service}`), service).toBe(true);
      }
      expect(reference.get("field csi.v1.CreateVolumeRequest.secrets")).toContain('"(csi_secret)":true');
      expect(reference.size).toBeGreaterThan(350);
    },
    FETCH_TIMEOUT_MS,
  );

  it(
    "has every service, method, message, field, oneof, enum value and option, and nothing else",
    async () => {
      const diffs = diffProtoShapes(await officialShape(), await ourShape());
      expect(formatDifferences(diffs)).toBe("");
    },
    FETCH_TIMEOUT_MS,
  );
});

describe("the proto comparer", () => {
  const header = `
    syntax = "proto3";
    package t;
    import "google/protobuf/descriptor.proto";
    extend google.protobuf.FieldOptions { bool secret = 50001; }
  `;
  const base = `${header}
    service S { rpc Get(A) returns (stream B) {} }
    message A {
      int64 size = 1;
      repeated string names = 2;
      B b = 3 [(secret) = true];
      map<string, string> labels = 4;
      oneof pick { string x = 5; string y = 6; }
    }
    message B { string id = 1; }
    enum E { E_UNKNOWN = 0; E_ONE = 1; }
  `;
  const shapeOf = (text: string): ProtoShape => describeProto(parseProto(text, "test proto"));
  const diffAgainstBase = (text: string): string =>
    formatDifferences(diffProtoShapes(shapeOf(base), shapeOf(text)));

  it("finds no difference between a file and itself", () => {
    expect(diffAgainstBase(base)).toBe("");
  });

  it("reports a changed field number, type and label", () => {
    expect(diffAgainstBase(base.replace("int64 size = 1", "int64 size = 7"))).toMatch(
      /^changed field t\.A\.size\n.*number=1 .*\n.*number=7 /,
    );
    expect(diffAgainstBase(base.replace("int64 size = 1", "uint64 size = 1"))).toMatch(
      /^changed field t\.A\.size\n.*type=int64.*\n.*type=uint64/,
    );
    expect(diffAgainstBase(base.replace("repeated string names", "string names"))).toMatch(
      /^changed field t\.A\.names\n.*label=repeated.*\n.*label=singular/,
    );
    expect(diffAgainstBase(base.replace("int64 size = 1", "optional int64 size = 1"))).toContain(
      "changed field t.A.size",
    );
    expect(
      diffAgainstBase(base.replace("map<string, string> labels", "map<string, int64> labels")),
    ).toContain("changed field t.A.labels");
  });

  it("reports a missing message with its fields, and an extra one", () => {
    const withoutB = base.replace("message B { string id = 1; }", "").replace(/\bB\b/g, "A");
    const diff = diffAgainstBase(withoutB);
    expect(diff).toContain("missing message t.B ");
    expect(diff).toContain("missing field t.B.id ");
    expect(diffAgainstBase(`${base} message C {}`)).toMatch(/^extra message t\.C /);
  });

  it("reports changed options, oneofs, enum values and streaming", () => {
    expect(diffAgainstBase(base.replace(" [(secret) = true]", ""))).toContain("changed field t.A.b");
    expect(diffAgainstBase(base.replace("string y = 6; }", "} string y = 6;"))).toContain(
      "changed oneof t.A.pick",
    );
    expect(diffAgainstBase(base.replace("E_ONE = 1", "E_ONE = 2"))).toContain("changed enum value t.E.E_ONE");
    expect(diffAgainstBase(base.replace("E_ONE = 1;", ""))).toContain("missing enum value t.E.E_ONE");
    expect(diffAgainstBase(base.replace("returns (stream B)", "returns (B)"))).toContain(
      "changed method t.S.Get",
    );
    expect(diffAgainstBase(base.replace("bool secret = 50001", "bool secret = 50002"))).toContain(
      "changed extension t.secret",
    );
  });
});
