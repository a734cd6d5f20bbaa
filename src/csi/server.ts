import * as grpc from "@grpc/grpc-js";
import type { Logger } from "../log.js";
import {
  type Endpoint,
  grpcAddress,
  parseEndpoint,
  prepareUnixSocket,
  restrictUnixSocket,
} from "./endpoint.js";

export interface ServiceRegistration {
  definition: grpc.ServiceDefinition;
  implementation: grpc.UntypedServiceImplementation;
}

export interface CsiServer {
  readonly endpoint: Endpoint;
  /** The bound address, with the real port when TCP port 0 was asked for. */
  readonly address: string;
  /** Stops accepting calls, lets running ones finish for up to `graceMs`, then forces. */
  stop(graceMs?: number): Promise<void>;
}

export async function startCsiServer(options: {
  endpoint: string;
  services: readonly ServiceRegistration[];
  logger: Logger;
  socketMode?: number;
}): Promise<CsiServer> {
  const endpoint = parseEndpoint(options.endpoint);
  const server = new grpc.Server({
    "grpc.max_receive_message_length": 4 * 1024 * 1024,
    // Channelz is read only through its own gRPC service, which this server does not offer; left
    // on, grpc-js would still keep its counters and timestamps on every call.
    "grpc.enable_channelz": 0,
  });
  for (const s of options.services) server.addService(s.definition, s.implementation);
  if (endpoint.kind === "unix") prepareUnixSocket(endpoint.path);
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(grpcAddress(endpoint), grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    );
  });
  if (endpoint.kind === "unix") restrictUnixSocket(endpoint.path, options.socketMode);
  const address = endpoint.kind === "unix" ? grpcAddress(endpoint) : `${endpoint.host}:${port}`;
  options.logger.info({ address }, "CSI server listening");
  return {
    endpoint,
    address,
    stop: (graceMs = 10_000) =>
      new Promise<void>((resolve) => {
        const force = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        force.unref();
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      }),
  };
}
