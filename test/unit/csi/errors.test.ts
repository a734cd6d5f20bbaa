import { status } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { alreadyExists, CsiError, notFound, toStatusError } from "../../../src/csi/errors.js";

class BackendError extends Error {
  constructor(
    readonly kind: string,
    message: string,
  ) {
    super(message);
  }
}

describe("toStatusError", () => {
  it("keeps the code and message of a CsiError", () => {
    expect(toStatusError(notFound("volume pvc-1 does not exist"))).toEqual({
      code: status.NOT_FOUND,
      message: "volume pvc-1 does not exist",
    });
    expect(toStatusError(alreadyExists("x")).code).toBe(status.ALREADY_EXISTS);
    expect(toStatusError(new CsiError(status.OUT_OF_RANGE, "too big")).code).toBe(status.OUT_OF_RANGE);
  });

  it.each([
    ["not-found", status.NOT_FOUND],
    ["already-exists", status.ALREADY_EXISTS],
    ["no-space", status.RESOURCE_EXHAUSTED],
    ["invalid-input", status.INVALID_ARGUMENT],
    ["transient", status.UNAVAILABLE],
    ["outcome-unknown", status.UNAVAILABLE],
    ["connection", status.UNAVAILABLE],
    ["protocol", status.INTERNAL],
    ["too-large", status.RESOURCE_EXHAUSTED],
  ])("maps backend kind %s", (kind, code) => {
    expect(toStatusError(new BackendError(kind, "boom")).code).toBe(code);
  });

  it("reports DEADLINE_EXCEEDED for uncertain outcomes once the caller's deadline passed", () => {
    const mapped = toStatusError(new BackendError("outcome-unknown", "timed out"), true);
    expect(mapped.code).toBe(status.DEADLINE_EXCEEDED);
    expect(mapped.message).toContain("timed out");
    // A definite answer stays definite even when late.
    expect(toStatusError(new BackendError("not-found", "gone"), true).code).toBe(status.NOT_FOUND);
  });

  it("maps unknown errors and unknown kinds to INTERNAL with the message kept", () => {
    expect(toStatusError(new Error("kaput"))).toEqual({
      code: status.INTERNAL,
      message: "internal error: kaput",
    });
    expect(toStatusError(new BackendError("weird", "x")).code).toBe(status.INTERNAL);
    expect(toStatusError("string thrown").message).toContain("string thrown");
  });
});
