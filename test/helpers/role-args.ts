import { join } from "node:path";

/**
 * Command lines of `rds-csi node` and `rds-csi controller` started only to see what they load: the
 * socket in `dir`, and for the controller an RDS that never answers (port 1, a key that is absent),
 * since start-up must not wait for it.
 */
export const startUpArgs = {
  node: (dir: string): string[] => ["node", "--endpoint", `unix://${dir}/csi.sock`, "--node-id", "n1"],
  controller: (dir: string): string[] => [
    "controller",
    "--endpoint",
    `unix://${dir}/csi.sock`,
    "--rds-address",
    "127.0.0.1",
    "--rds-port",
    "1",
    "--rds-key-file",
    join(dir, "absent-key"),
    "--rds-insecure-skip-host-key-check",
  ],
};
