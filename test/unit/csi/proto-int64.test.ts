import protobuf from "protobufjs";
import { describe, expect, it } from "vitest";
import { int64Preparer } from "../../../src/csi/proto-int64.js";

const root = protobuf.parse(
  `syntax = "proto3";
  package t;
  message Size { int64 bytes = 1; string name = 2; }
  message Holder {
    Size one = 1;
    repeated Size many = 2;
    map<string, Size> named = 3;
    repeated int64 counts = 4;
    uint64 total = 5;
    Holder inner = 6;
  }
  message Plain { string name = 1; int32 n = 2; Plain next = 3; }`,
  { keepCase: true },
).root;
root.resolveAll();
const type = (name: string) => root.lookupType(`t.${name}`);

describe("int64Preparer", () => {
  it("hands decimal strings of up to 15 digits over as numbers, at any depth", () => {
    const prepare = int64Preparer(type("Holder"));
    expect(prepare).toBeDefined();
    const out = prepare?.({
      one: { bytes: "10737418240", name: "a" },
      many: [{ bytes: "-1" }, { bytes: "999999999999999" }],
      named: { x: { bytes: "0" } },
      counts: ["7", "0012"],
      total: "42",
      inner: { one: { bytes: "5" }, inner: null },
    });
    expect(out).toEqual({
      one: { bytes: 10737418240, name: "a" },
      many: [{ bytes: -1 }, { bytes: 999999999999999 }],
      named: { x: { bytes: 0 } },
      counts: [7, 12],
      total: 42,
      inner: { one: { bytes: 5 }, inner: null },
    });
  });

  it("leaves longer strings, numbers and anything that is not a plain decimal untouched", () => {
    const prepare = int64Preparer(type("Size"));
    for (const bytes of ["9007199254740993", "1000000000000000", "12a", " 1", "+1", "", "1e3", 5]) {
      expect(prepare?.({ bytes })).toEqual({ bytes });
    }
  });

  it("copies rather than changes what the handler answered", () => {
    const answer = { one: { bytes: "1" }, many: [{ bytes: "2" }] };
    int64Preparer(type("Holder"))?.(answer);
    expect(answer).toEqual({ one: { bytes: "1" }, many: [{ bytes: "2" }] });
  });

  it("has nothing to do for a message type without int64 fields, even one that holds itself", () => {
    expect(int64Preparer(type("Plain"))).toBeUndefined();
  });

  it("encodes to the same bytes as the strings did", () => {
    const holder = type("Holder");
    const prepare = int64Preparer(holder);
    for (const bytes of [
      "0",
      "-1",
      "1",
      "4294967296",
      "-4294967297",
      "999999999999999",
      "-999999999999999",
    ]) {
      const answer = { one: { bytes }, counts: [bytes], total: bytes };
      const prepared = prepare?.(answer) ?? answer;
      const direct = Buffer.from(holder.encode(holder.fromObject(answer)).finish());
      expect(Buffer.from(holder.encode(holder.fromObject(prepared)).finish()).equals(direct), bytes).toBe(
        true,
      );
    }
  });
});
