import { chmodSync, existsSync, lstatSync, mkdirSync, unlinkSync } from "node:fs";
import { dirname } from "node:path";

/** A CSI endpoint: a unix socket (what kubelet and the sidecars use) or TCP (for debugging). */
export type Endpoint = { kind: "unix"; path: string } | { kind: "tcp"; host: string; port: number };

export function parseEndpoint(value: string): Endpoint {
  if (value.startsWith("unix://")) {
    // unix:///abs/path and unix:/abs/path both appear in the wild; the path must be absolute.
    const path = value.slice("unix://".length);
    if (!path.startsWith("/")) throw new Error(`endpoint ${value}: unix socket path must be absolute`);
    return { kind: "unix", path };
  }
  if (value.startsWith("unix:")) {
    const path = value.slice("unix:".length);
    if (!path.startsWith("/")) throw new Error(`endpoint ${value}: unix socket path must be absolute`);
    return { kind: "unix", path };
  }
  if (value.startsWith("/")) return { kind: "unix", path: value };
  const tcp = /^(?:tcp:\/\/)?(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(value);
  if (tcp) {
    const port = Number(tcp[2]);
    if (port > 65535) throw new Error(`endpoint ${value}: port out of range`);
    return { kind: "tcp", host: tcp[1]!.replace(/^\[|\]$/g, ""), port };
  }
  throw new Error(`endpoint ${value}: expected unix:///path/to/csi.sock or tcp://host:port`);
}

/** The address string grpc-js binds to. */
export function grpcAddress(ep: Endpoint): string {
  return ep.kind === "unix"
    ? `unix://${ep.path}`
    : `${ep.host.includes(":") ? `[${ep.host}]` : ep.host}:${ep.port}`;
}

/**
 * Removes a socket file left by a previous process so bind does not fail with EADDRINUSE.
 * Anything that is not a socket is left alone: deleting a user's file by mistake is worse than failing.
 */
export function prepareUnixSocket(path: string): void {
  mkdirSync(dirname(path), { recursive: true });
  if (!existsSync(path)) return;
  if (!lstatSync(path).isSocket())
    throw new Error(`${path} exists and is not a socket; refusing to remove it`);
  unlinkSync(path);
}

/** Kubelet and the sidecars run as root in the same pod; nobody else needs the socket. */
export function restrictUnixSocket(path: string, mode = 0o660): void {
  chmodSync(path, mode);
}
