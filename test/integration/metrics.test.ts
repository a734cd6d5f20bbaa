import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configFor } from "../../src/commands/driver.js";
import { commonOptions, controllerOptions, nodeOptions } from "../../src/config.js";
import { type LocalStack, startLocalStack } from "../../src/demo/local-stack.js";
import { freePort } from "../../src/demo/processes.js";
import { startDriver } from "../../src/driver.js";

const workDir = mkdtempSync(join(tmpdir(), "rds-csi-metrics-"));
let stack: LocalStack;
let base: string;

beforeAll(async () => {
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  stack = await startLocalStack({
    workDir: join(workDir, "stack"),
    logLevel: "warn",
    driverArgs: ["--metrics-address", `127.0.0.1:${port}`],
  });
});

afterAll(async () => {
  const problems = (await stack?.stop()) ?? [];
  rmSync(workDir, { recursive: true, force: true });
  expect(problems).toEqual([]);
});

const get = async (path: string) => {
  const res = await fetch(`${base}${path}`);
  return { status: res.status, body: await res.text() };
};

function sample(body: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of body.split("\n")) {
    if (!line.startsWith(`${name}{`)) continue;
    const ok = Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`));
    if (ok) return Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return undefined;
}

describe("metrics and health endpoints", () => {
  it("serves liveness and readiness from cached state", async () => {
    expect(await get("/healthz")).toEqual({ status: 200, body: "ok\n" });
    expect((await get("/readyz")).status).toBe(200);
    expect((await get("/nope")).status).toBe(404);
  });

  it("counts RPCs by method and code in the latency histogram, and times RouterOS round trips", async () => {
    const before = await get("/metrics");
    const created = { method: "CreateVolume", code: "OK" };
    const base = sample(before.body, "rds_csi_rpc_duration_seconds_count", created) ?? 0;
    const res = await stack.csi.call<{ volume: { volume_id: string } }>("Controller", "CreateVolume", {
      name: "metrics-volume",
      capacity_range: { required_bytes: String(16 * 1024 * 1024), limit_bytes: "0" },
      volume_capabilities: [{ block: {}, access_mode: { mode: "SINGLE_NODE_WRITER" } }],
      parameters: {},
    });
    await expect(
      stack.csi.call("Controller", "CreateSnapshot", { name: "", source_volume_id: res.volume.volume_id }),
    ).rejects.toMatchObject({ code: 3 });
    await stack.csi.call("Controller", "DeleteVolume", { volume_id: res.volume.volume_id });
    const after = (await get("/metrics")).body;
    expect(sample(after, "rds_csi_rpc_duration_seconds_count", created)).toBe(base + 1);
    expect(
      sample(after, "rds_csi_rpc_duration_seconds_count", {
        method: "CreateSnapshot",
        code: "INVALID_ARGUMENT",
      }),
    ).toBe(1);
    expect(sample(after, "rds_csi_rpc_duration_seconds_count", { method: "DeleteVolume", code: "OK" })).toBe(
      1,
    );
    expect(sample(after, "rds_csi_ssh_command_duration_seconds_count", { outcome: "ok" })).toBeGreaterThan(3);
    expect(after).toContain("rds_csi_ssh_connected 1");
    // No counter repeats a histogram's _count.
    expect(after).not.toMatch(/^rds_csi_rpc_total/m);
    expect(after).not.toMatch(/^rds_csi_ssh_errors_total/m);
    // Node.js process metrics under their standard names, for stock dashboards.
    expect(after).toMatch(/^process_resident_memory_bytes \d+/m);
    expect(after).toMatch(/^nodejs_eventloop_lag_seconds /m);
    expect(after).not.toMatch(/^rds_csi_process_/m);
  });

  it("reports the pool's free bytes and the managed objects from a periodic listing", async () => {
    let body = "";
    for (let i = 0; i < 40; i++) {
      body = (await get("/metrics")).body;
      if (/^rds_csi_pool_free_bytes\{pool="raid1"\} [1-9]/m.test(body)) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    // One series per served pool, named by the pool (the emulator's default pool is raid1).
    expect(body).toMatch(/^rds_csi_pool_free_bytes\{pool="raid1"\} [1-9]\d+/m);
    expect(sample(body, "rds_csi_managed_objects", { type: "snapshot", pool: "raid1" })).toBe(0);
  });

  it("says not ready, with the reason, while the RDS cannot be reached", async () => {
    const port = await freePort();
    const unreachable = await freePort();
    const cli = new Command().exitOverride();
    for (const o of [...commonOptions(), ...controllerOptions()]) cli.addOption(o);
    cli.parse(
      [
        "--endpoint",
        `unix://${join(workDir, "unreachable.sock")}`,
        "--log-level",
        "silent",
        "--metrics-address",
        `127.0.0.1:${port}`,
        "--rds-address",
        "127.0.0.1",
        "--rds-port",
        String(unreachable),
        "--rds-key-file",
        stack.privateKeyPath,
        "--rds-host-key-fingerprint",
        stack.hostKeyFingerprint,
      ],
      { from: "user" },
    );
    const driver = await startDriver(configFor("controller", cli.opts()));
    try {
      const res = await fetch(`http://127.0.0.1:${port}/readyz`);
      expect(res.status).toBe(503);
      expect(await res.text()).toMatch(/^not ready: /);
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    } finally {
      await driver.stop();
    }
  });
});

/** Starts one role in this process with a metrics endpoint and returns what /metrics serves. */
async function scrapeRole(role: "controller" | "node", flags: string[]): Promise<string> {
  const port = await freePort();
  const cli = new Command().exitOverride();
  const options = [...commonOptions(), ...(role === "node" ? nodeOptions() : controllerOptions())];
  for (const o of options) cli.addOption(o);
  cli.parse(
    [
      "--endpoint",
      `unix://${join(workDir, `${role}.sock`)}`,
      "--log-level",
      "silent",
      "--metrics-address",
      `127.0.0.1:${port}`,
      ...flags,
    ],
    { from: "user" },
  );
  const driver = await startDriver(configFor(role, cli.opts()));
  try {
    // The controller's connection gauge follows the connection once a second.
    for (let i = 0; i < 40; i++) {
      const body = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      if (role === "node" || body.includes("rds_csi_ssh_connected 1")) return body;
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`${role} never reported a connected RDS`);
  } finally {
    await driver.stop();
  }
}

const CONTROLLER_ONLY = [
  "rds_csi_ssh_connected",
  "rds_csi_ssh_reconnects_total",
  "rds_csi_ssh_command_duration_seconds",
  "rds_csi_pool_free_bytes",
  "rds_csi_managed_objects",
  "rds_csi_reconciler_findings_total",
  "rds_csi_reconciler_leader",
];

/** Metric family names a scrape declares (`# TYPE name kind`). */
function families(body: string): string[] {
  return [...body.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!);
}

describe("each role exports what it measures", () => {
  it("a node exports no RDS connection, inventory or reconciler metric", async () => {
    const body = await scrapeRole("node", ["--node-id", "metrics-node"]);
    const names = families(body);
    for (const name of CONTROLLER_ONLY) expect(names).not.toContain(name);
    expect(body).not.toMatch(/^rds_csi_ssh_/m);
    expect(body).not.toMatch(/^rds_csi_pool_/m);
    expect(names).toContain("rds_csi_rpc_duration_seconds");
    expect(names).toContain("process_resident_memory_bytes");
    expect(body).toMatch(/^rds_csi_build_info\{version="[^"]+",role="node"\} 1$/m);
  });

  it("a controller exports the RDS connection, inventory and reconciler metrics", async () => {
    const body = await scrapeRole("controller", [
      "--rds-address",
      "127.0.0.1",
      "--rds-port",
      String(stack.simPort),
      "--rds-key-file",
      stack.privateKeyPath,
      "--rds-host-key-fingerprint",
      stack.hostKeyFingerprint,
    ]);
    const names = families(body);
    for (const name of CONTROLLER_ONLY) expect(names).toContain(name);
    expect(body).toContain("rds_csi_ssh_connected 1");
    expect(body).toMatch(/^rds_csi_build_info\{version="[^"]+",role="controller"\} 1$/m);
  });
});
