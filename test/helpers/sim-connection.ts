import type { RdsConnectionOptions } from "../../src/rds/connection.js";
import type { SimFixture } from "./sim.js";

/**
 * Options of a driver connection to the emulator: its address and user, the test key, the host key
 * pinned by fingerprint (never skipped), and no keepalive (tests start and stop connections at will).
 */
export function simConnectionOptions(
  sim: Pick<SimFixture, "host" | "port" | "user" | "privateKeyPath" | "hostKeyFingerprint">,
  overrides: Partial<RdsConnectionOptions> = {},
): RdsConnectionOptions {
  return {
    host: sim.host,
    port: sim.port,
    username: sim.user,
    privateKey: { path: sim.privateKeyPath },
    hostKey: { fingerprint: sim.hostKeyFingerprint },
    keepaliveIntervalMs: 0,
    ...overrides,
  };
}
