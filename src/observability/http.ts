import { createServer, type Server } from "node:http";
// The page's renderer only: the lineage reader (and the storage layer under it) is the controller's.
import { LINEAGE_PAGE_CSP, renderLineageHtml } from "../lineage/html.js";
import type { Lineage } from "../lineage/model.js";
import type { Logger } from "../log.js";
import type { DriverMetrics } from "./metrics.js";

export interface HealthSource {
  /** Process is alive and serving (liveness). */
  live(): boolean;
  /** Ready to do useful work, e.g. the RDS connection is up (readiness); cached, never a round trip. */
  ready(): { ready: boolean; reason?: string };
}

/**
 * The lineage page is static HTML with inline style only: no script, no form, nothing from
 * elsewhere, not framed; the JSON is never sniffed as anything else.
 */
const PAGE_HEADERS = {
  "content-security-policy": LINEAGE_PAGE_CSP,
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cache-control": "no-store",
};

/**
 * Serves /metrics, /healthz and /readyz on `address` (host:port), and with `lineage` the
 * read-only /lineage page and /lineage.json.
 */
export async function startMetricsServer(options: {
  address: string;
  metrics: DriverMetrics;
  health: HealthSource;
  logger: Logger;
  lineage?: () => Promise<Lineage>;
}): Promise<{ port: number; close(): Promise<void> }> {
  const m = /^(.*):(\d{1,5})$/.exec(options.address);
  if (!m) throw new Error(`metrics address ${options.address}: expected host:port`);
  const host = m[1]!.replace(/^\[|\]$/g, "") || "0.0.0.0";
  const server: Server = createServer((req, res) => {
    const url = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET") {
      res.writeHead(405).end();
      return;
    }
    if (url === "/metrics") {
      options.metrics.registry
        .metrics()
        .then((body) =>
          res.writeHead(200, { "content-type": options.metrics.registry.contentType }).end(body),
        )
        .catch((err: unknown) => res.writeHead(500).end(String(err)));
      return;
    }
    if (url === "/healthz") {
      const live = options.health.live();
      res.writeHead(live ? 200 : 503, { "content-type": "text/plain" }).end(live ? "ok\n" : "not live\n");
      return;
    }
    if (url === "/readyz") {
      const { ready, reason } = options.health.ready();
      res
        .writeHead(ready ? 200 : 503, { "content-type": "text/plain" })
        .end(ready ? "ready\n" : `not ready: ${reason ?? "unknown"}\n`);
      return;
    }
    if (options.lineage && (url === "/lineage" || url === "/lineage.json")) {
      const json = url === "/lineage.json";
      options.lineage().then(
        (lineage) =>
          res
            .writeHead(200, {
              ...PAGE_HEADERS,
              "content-type": json ? "application/json" : "text/html; charset=utf-8",
            })
            .end(json ? `${JSON.stringify(lineage, null, 2)}\n` : renderLineageHtml(lineage)),
        (err: unknown) => {
          // The reason goes to the log; the page says only that the RDS could not be read.
          options.logger.warn({ err: String(err) }, "lineage page: reading the RDS failed");
          res
            .writeHead(503, { ...PAGE_HEADERS, "content-type": "text/plain" })
            .end("could not read the RDS; see the controller's log\n");
        },
      );
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(Number(m[2]), host, () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : Number(m[2]);
  options.logger.info({ address: `${host}:${port}` }, "metrics listening");
  return {
    port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
