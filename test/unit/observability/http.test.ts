import { describe, expect, it } from "vitest";
import { buildLineage, type Lineage } from "../../../src/lineage/index.js";
import { createLogger } from "../../../src/log.js";
import { startMetricsServer } from "../../../src/observability/http.js";
import { DriverMetrics } from "../../../src/observability/metrics.js";
import { Layout } from "../../../src/storage/index.js";

/*
 * The addresses the chart gives the metrics server: `0.0.0.0:PORT` for the controller, and for the
 * node plugin on the host network the node's own IP in brackets (`[$(HOST_IP)]:PORT`, which the
 * kubelet expands; brackets keep IPv6 addresses whole).
 */
describe("metrics server address", () => {
  it.each(["[127.0.0.1]:0", "127.0.0.1:0", "[::1]:0"])("listens on %s", async (address) => {
    const server = await startMetricsServer({
      address,
      metrics: new DriverMetrics(),
      health: { live: () => true, ready: () => ({ ready: true }) },
      logger: createLogger("silent"),
    });
    try {
      const host = address.startsWith("[::1]") ? "[::1]" : "127.0.0.1";
      const res = await fetch(`http://${host}:${server.port}/healthz`);
      expect(res.status).toBe(200);
    } finally {
      await server.close();
    }
  });
});

describe("lineage routes", () => {
  const serve = (lineage?: () => Promise<Lineage>) =>
    startMetricsServer({
      address: "127.0.0.1:0",
      metrics: new DriverMetrics(),
      health: { live: () => true, ready: () => ({ ready: true }) },
      logger: createLogger("silent"),
      ...(lineage ? { lineage } : {}),
    });
  const empty = buildLineage({
    layout: new Layout({ pool: "raid1", fsLabel: "raid1", root: "rds-csi" }),
    listings: { disks: [], volumeSubvolumes: [], snapshotSubvolumes: [], volumeFiles: [], snapshotFiles: [] },
    generatedAt: new Date(0),
  });

  it("are not served without --lineage-page", async () => {
    const server = await serve();
    try {
      for (const route of ["/lineage", "/lineage.json"]) {
        expect((await fetch(`http://127.0.0.1:${server.port}${route}`)).status, route).toBe(404);
      }
    } finally {
      await server.close();
    }
  });

  it("serve an empty RDS, and answer 503 without the reason when the RDS cannot be read", async () => {
    let fail = false;
    const server = await serve(async () => {
      if (fail) throw new Error("ssh: password=hunter2 refused");
      return empty;
    });
    try {
      const base = `http://127.0.0.1:${server.port}`;
      expect(await (await fetch(`${base}/lineage.json`)).json()).toEqual(JSON.parse(JSON.stringify(empty)));
      expect(await (await fetch(`${base}/lineage`)).text()).toContain("No volumes or snapshots.");
      fail = true;
      const failed = await fetch(`${base}/lineage`);
      expect(failed.status).toBe(503);
      expect(await failed.text()).not.toContain("hunter2");
    } finally {
      await server.close();
    }
  });
});
