import * as grpc from "@grpc/grpc-js";
import { loadCsiServices } from "../csi/proto.js";

type Callback = (err: grpc.ServiceError | null, res: unknown) => void;
type UnaryMethod = (req: unknown, meta: grpc.Metadata, opts: grpc.CallOptions, cb: Callback) => void;

/**
 * A small promise-based CSI client, playing the role of kubelet and the sidecars in the demo and
 * the end-to-end tests. Requests and responses use the loader's shapes (snake_case, int64 strings).
 */
export class CsiClient {
  private readonly clients: Record<"Identity" | "Controller" | "Node", grpc.Client>;

  constructor(readonly address: string) {
    const defs = loadCsiServices();
    const make = (name: "Identity" | "Controller" | "Node") =>
      new (grpc.makeGenericClientConstructor(defs[name], name))(address, grpc.credentials.createInsecure());
    this.clients = { Identity: make("Identity"), Controller: make("Controller"), Node: make("Node") };
  }

  call<T = Record<string, unknown>>(
    service: "Identity" | "Controller" | "Node",
    method: string,
    request: unknown,
    timeoutMs = 60_000,
  ): Promise<T> {
    const client = this.clients[service] as unknown as Record<string, UnaryMethod>;
    const fn = client[method];
    if (!fn) return Promise.reject(new Error(`${service} has no method ${method}`));
    return new Promise<T>((resolve, reject) => {
      fn.call(client, request, new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) =>
        err ? reject(err) : resolve(res as T),
      );
    });
  }

  /** Waits until the server answers Probe with ready=true. */
  async waitReady(timeoutMs = 30_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    let last: unknown;
    while (Date.now() < until) {
      try {
        const res = await this.call<{ ready: { value: boolean } | null }>("Identity", "Probe", {}, 2000);
        if (res.ready?.value !== false) return;
        last = new Error("Probe answered ready=false");
      } catch (err) {
        last = err;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(
      `driver not ready after ${timeoutMs} ms: ${last instanceof Error ? last.message : String(last)}`,
    );
  }

  close(): void {
    for (const c of Object.values(this.clients)) c.close();
  }
}

export function isGrpcError(err: unknown, code?: grpc.status): err is grpc.ServiceError {
  return (
    typeof err === "object" &&
    err !== null &&
    "code" in err &&
    typeof (err as { code: unknown }).code === "number" &&
    (code === undefined || (err as { code: number }).code === code)
  );
}
