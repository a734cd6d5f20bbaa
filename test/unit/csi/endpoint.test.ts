import { existsSync, lstatSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { grpcAddress, parseEndpoint, prepareUnixSocket } from "../../../src/csi/endpoint.js";

const dir = mkdtempSync(join(tmpdir(), "rds-csi-endpoint-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("parseEndpoint", () => {
  it.each([
    ["unix:///csi/csi.sock", { kind: "unix", path: "/csi/csi.sock" }],
    ["unix:/csi/csi.sock", { kind: "unix", path: "/csi/csi.sock" }],
    ["/run/csi.sock", { kind: "unix", path: "/run/csi.sock" }],
    ["tcp://127.0.0.1:10000", { kind: "tcp", host: "127.0.0.1", port: 10000 }],
    ["localhost:0", { kind: "tcp", host: "localhost", port: 0 }],
    ["[::1]:9000", { kind: "tcp", host: "::1", port: 9000 }],
  ])("parses %s", (input, expected) => {
    expect(parseEndpoint(input)).toEqual(expected);
  });

  it.each(["unix://relative.sock", "tcp://host", "http://x:1", "host:70000", ""])("rejects %s", (input) => {
    expect(() => parseEndpoint(input)).toThrow(/endpoint/);
  });

  it("formats grpc addresses", () => {
    expect(grpcAddress({ kind: "unix", path: "/a/b.sock" })).toBe("unix:///a/b.sock");
    expect(grpcAddress({ kind: "tcp", host: "::1", port: 5 })).toBe("[::1]:5");
  });
});

describe("prepareUnixSocket", () => {
  it("removes a stale socket and creates missing directories", async () => {
    const path = join(dir, "stale.sock");
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(path, r));
    // Closing a unix server in Node unlinks the file; re-create the stale state by leaking a copy.
    srv.unref();
    expect(lstatSync(path).isSocket()).toBe(true);
    prepareUnixSocket(path);
    expect(existsSync(path)).toBe(false);
    await new Promise<void>((r) => srv.close(() => r()));
    prepareUnixSocket(join(dir, "nested", "deeper", "csi.sock"));
    expect(lstatSync(join(dir, "nested", "deeper")).isDirectory()).toBe(true);
  });

  it("refuses to delete a regular file", () => {
    const path = join(dir, "not-a-socket");
    writeFileSync(path, "precious");
    expect(() => prepareUnixSocket(path)).toThrow(/not a socket/);
    expect(readFileSync(path, "utf8")).toBe("precious");
  });
});
