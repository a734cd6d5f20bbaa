import { status } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { timestampOf } from "../../src/csi/controller/messages.js";
import {
  capabilitiesVerdict,
  checkParameters,
  requireName,
  requireRange,
  requireSupportedCapabilities,
} from "../../src/csi/controller/validate.js";
import { CsiError } from "../../src/csi/errors.js";
import type { VolumeCapability } from "../../src/csi/types.js";
import { blockCapability, mountCapability } from "./harness.js";

function codeOf(f: () => unknown): number {
  try {
    f();
    return status.OK;
  } catch (err) {
    if (err instanceof CsiError) return err.code;
    throw err;
  }
}

const noAccessType = { access_mode: { mode: "SINGLE_NODE_WRITER" } } as VolumeCapability;
const noMode = { ...mountCapability(), access_mode: null } as VolumeCapability;
const unknownMode = { ...mountCapability(), access_mode: { mode: 42 } } as VolumeCapability;

describe("capability checks", () => {
  const cases: Array<[string, VolumeCapability[], number, string | undefined]> = [
    ["single-node mount", [mountCapability()], status.OK, undefined],
    ["single-node block", [blockCapability("SINGLE_NODE_READER_ONLY")], status.OK, undefined],
    [
      "multi-node",
      [mountCapability("MULTI_NODE_READER_ONLY")],
      status.INVALID_ARGUMENT,
      "MULTI_NODE_READER_ONLY",
    ],
    ["neither block nor mount", [noAccessType], status.INVALID_ARGUMENT, undefined],
    ["no access mode", [noMode], status.INVALID_ARGUMENT, undefined],
    ["an access mode this proto does not name", [unknownMode], status.INVALID_ARGUMENT, undefined],
    ["none at all", [], status.INVALID_ARGUMENT, undefined],
  ];
  it.each(cases)("CreateVolume: %s", (_what, caps, code) => {
    expect(codeOf(() => requireSupportedCapabilities(caps))).toBe(code);
  });

  it("ValidateVolumeCapabilities: malformed is an error, unsupported is an answer", () => {
    expect(capabilitiesVerdict([mountCapability(), blockCapability()])).toBeUndefined();
    expect(capabilitiesVerdict([mountCapability(), mountCapability("MULTI_NODE_MULTI_WRITER")])).toContain(
      "volume_capabilities[1]",
    );
    expect(codeOf(() => capabilitiesVerdict([noAccessType]))).toBe(status.INVALID_ARGUMENT);
    expect(codeOf(() => capabilitiesVerdict([]))).toBe(status.INVALID_ARGUMENT);
  });
});

describe("request fields", () => {
  it("names, ranges and parameters", () => {
    expect(codeOf(() => requireName("x".repeat(128), "name"))).toBe(status.OK);
    expect(codeOf(() => requireName("x".repeat(129), "name"))).toBe(status.INVALID_ARGUMENT);
    expect(codeOf(() => requireRange({ required_bytes: "-1", limit_bytes: "0" }))).toBe(
      status.INVALID_ARGUMENT,
    );
    expect(requireRange({ required_bytes: "9007199254740993", limit_bytes: "0" }).required).toBe(
      9007199254740993n,
    );
    expect(codeOf(() => checkParameters({ "csi.storage.k8s.io/pv/name": "pv-1" }, "StorageClass"))).toBe(
      status.OK,
    );
    expect(codeOf(() => checkParameters({ "example.com/tier": "gold" }, "StorageClass"))).toBe(
      status.INVALID_ARGUMENT,
    );
  });

  it("timestamps keep milliseconds as nanos", () => {
    expect(timestampOf(new Date(1_700_000_000_123))).toEqual({ seconds: "1700000000", nanos: 123_000_000 });
  });
});
