import { describe, expect, it } from "vitest";
import { createLogger } from "../../../src/log.js";
import { startMetricsServer } from "../../../src/observability/http.js";
import { DriverMetrics } from "../../../src/observability/metrics.js";

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
