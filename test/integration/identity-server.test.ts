import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CsiError } from "../../src/csi/errors.js";
import { createIdentityService } from "../../src/csi/identity-service.js";
import { KeyedLocks } from "../../src/csi/locks.js";
import { loadCsiServices } from "../../src/csi/proto.js";
import { type CsiServer, startCsiServer } from "../../src/csi/server.js";
import { registerServices } from "../../src/csi/services.js";
import { createLogger } from "../../src/log.js";
import { DRIVER_NAME, DRIVER_VERSION } from "../../src/version.js";

type Unary = (req: unknown, cb: (err: grpc.ServiceError | null, res: unknown) => void) => void;
type Client = grpc.Client & Record<string, Unary>;

const dir = mkdtempSync(join(tmpdir(), "rds-csi-identity-"));
const socket = join(dir, "csi.sock");
const logLines: string[] = [];
const logStream = new PassThrough();
logStream.on("data", (chunk: Buffer) => logLines.push(...chunk.toString().split("\n").filter(Boolean)));
const logger = createLogger("debug", logStream);
let ready = false;
const locks = new KeyedLocks();
let release: () => void = () => {};
let server: CsiServer;
let identity: Client;
let controller: Client;

function call(client: Client, method: string, req: unknown): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const fn = client[method];
    if (!fn) throw new Error(`no method ${method}`);
    fn.call(client, req, (err, res) => (err ? reject(err) : resolve(res)));
  });
}

beforeAll(async () => {
  const services = registerServices(
    {
      Identity: createIdentityService({
        driverName: DRIVER_NAME,
        version: DRIVER_VERSION,
        readiness: () => ({ ready, reason: "RDS not connected" }),
      }),
      // A tiny Controller whose behaviour the pipeline tests observe: a lock held across calls,
      // a typed error, and a thrown backend-style error.
      Controller: {
        CreateSnapshot: (req: { name: string }) =>
          locks.withLock(req.name, () => new Promise((r) => (release = () => r({ snapshot: null })))),
        DeleteSnapshot: async () => {
          throw new CsiError(grpc.status.INVALID_ARGUMENT, "snapshot_id is required");
        },
        CreateVolume: async () => {
          throw Object.assign(new Error("failure: not enough space"), { kind: "no-space" });
        },
        ValidateVolumeCapabilities: async (req: { volume_id: string }) => {
          throw new CsiError(grpc.status.NOT_FOUND, `volume ${req.volume_id} does not exist`);
        },
      },
    },
    { logger },
  );
  server = await startCsiServer({ endpoint: `unix://${socket}`, services, logger });
  const defs = loadCsiServices();
  const IdentityClient = grpc.makeGenericClientConstructor(defs.Identity, "Identity");
  const ControllerClient = grpc.makeGenericClientConstructor(defs.Controller, "Controller");
  identity = new IdentityClient(`unix://${socket}`, grpc.credentials.createInsecure()) as unknown as Client;
  controller = new ControllerClient(
    `unix://${socket}`,
    grpc.credentials.createInsecure(),
  ) as unknown as Client;
});

afterAll(async () => {
  identity?.close();
  controller?.close();
  await server?.stop(1000);
  rmSync(dir, { recursive: true, force: true });
});

describe("CSI server on a unix socket", () => {
  it("restricts the socket to its owner and group", () => {
    const st = statSync(socket);
    expect(st.isSocket()).toBe(true);
    expect(st.mode & 0o777).toBe(0o660);
  });

  it("answers GetPluginInfo with the driver name and the package version", async () => {
    const res = (await call(identity, "GetPluginInfo", {})) as { name: string; vendor_version: string };
    expect(res.name).toBe(DRIVER_NAME);
    expect(res.name).toMatch(/^[a-zA-Z][A-Za-z0-9-._]{0,61}[a-zA-Z]$/);
    expect(res.vendor_version).toBe(DRIVER_VERSION);
  });

  it("advertises the controller service and online expansion only, whatever the role of the process", async () => {
    const res = (await call(identity, "GetPluginCapabilities", {})) as { capabilities: object[] };
    expect(res.capabilities).toEqual([
      { service: { type: "CONTROLLER_SERVICE" }, type: "service" },
      { volume_expansion: { type: "ONLINE" }, type: "volume_expansion" },
    ]);
  });

  it("Probe reflects the cached readiness", async () => {
    ready = false;
    expect(await call(identity, "Probe", {})).toEqual({ ready: { value: false } });
    ready = true;
    expect(await call(identity, "Probe", {})).toEqual({ ready: { value: true } });
  });

  it("maps typed errors to their gRPC codes with the message", async () => {
    await expect(call(controller, "DeleteSnapshot", { snapshot_id: "" })).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: "snapshot_id is required",
    });
    await expect(call(controller, "CreateVolume", { name: "v" })).rejects.toMatchObject({
      code: grpc.status.RESOURCE_EXHAUSTED,
    });
  });

  it("cuts a status message quoting a huge value, and keeps serving", async () => {
    const huge = "v".repeat(300_000);
    const err = await call(controller, "ValidateVolumeCapabilities", { volume_id: huge }).catch(
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: grpc.status.NOT_FOUND });
    const details = (err as grpc.ServiceError).details;
    expect(details.length).toBeLessThan(1200);
    expect(details).toMatch(/more characters\)$/);
    expect(await call(identity, "Probe", {})).toHaveProperty("ready");
  });

  it("answers ABORTED at once while the same id is busy, then succeeds", async () => {
    const first = call(controller, "CreateSnapshot", { name: "snap-a", source_volume_id: "v" });
    await new Promise((r) => setTimeout(r, 50));
    await expect(
      call(controller, "CreateSnapshot", { name: "snap-a", source_volume_id: "v" }),
    ).rejects.toMatchObject({
      code: grpc.status.ABORTED,
    });
    release();
    await expect(first).resolves.toEqual({ snapshot: null });
  });

  it("logs method, code and duration for every call, and never a secret value", async () => {
    await expect(
      call(controller, "DeleteSnapshot", { snapshot_id: "x", secrets: { password: "hunter2-very-secret" } }),
    ).rejects.toBeTruthy();
    const lines = logLines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const done = lines.filter((l) => l.msg === "done" || l.msg === "failed");
    expect(
      done.some((l) => l.method === "GetPluginInfo" && l.code === "OK" && typeof l.durationMs === "number"),
    ).toBe(true);
    expect(done.some((l) => l.method === "DeleteSnapshot" && l.code === "INVALID_ARGUMENT")).toBe(true);
    // The request itself is logged (so the check below means something), with its secrets hidden.
    const request = lines.find(
      (l) => l.msg === "request" && (l.request as { snapshot_id?: string } | undefined)?.snapshot_id === "x",
    );
    expect(request).toBeDefined();
    expect(JSON.stringify(request)).toContain("[REDACTED]");
    expect(logLines.join("\n")).not.toContain("hunter2-very-secret");
    // One call's lines, the pipeline's and the handler's own, share its request id and method.
    expect(request?.reqId).toEqual(expect.any(String));
    expect(done.filter((l) => l.reqId === request?.reqId)).toMatchObject([
      { method: "DeleteSnapshot", code: "INVALID_ARGUMENT", msg: "failed" },
    ]);
    const notReady = lines.find((l) => l.msg === "not ready");
    expect(notReady).toMatchObject({ method: "Probe", reason: "RDS not connected" });
    expect(lines.filter((l) => l.reqId === notReady?.reqId).map((l) => l.msg)).toEqual([
      "request",
      "not ready",
      "done",
    ]);
    // Each key once per line (log stores reject duplicates): the bindings are not printed twice.
    for (const line of logLines) expect(line.match(/"reqId":/g)?.length ?? 0).toBeLessThanOrEqual(1);
  });
});
