import { describe, expect, it } from "vitest";
import { redactSecretMaps } from "../../../src/csi/redact.js";

describe("redactSecretMaps", () => {
  it("hides every secrets map value at any depth and keeps the keys", () => {
    const input = {
      name: "pvc-1",
      secrets: { password: "hunter2", token: "t0p" },
      nested: { list: [{ secrets: { key: "deep-secret" } }] },
    };
    const out = JSON.stringify(redactSecretMaps(input));
    expect(out).not.toContain("hunter2");
    expect(out).not.toContain("t0p");
    expect(out).not.toContain("deep-secret");
    expect(out).toContain('"password":"[REDACTED]"');
    expect(out).toContain('"name":"pvc-1"');
    // The input is not modified.
    expect(input.secrets.password).toBe("hunter2");
  });
});
