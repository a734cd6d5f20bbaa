import { readFileSync } from "node:fs";
import { join } from "node:path";
import { PACKAGE_ROOT } from "./package-root.js";

/** Driver name registered with Kubernetes (CSIDriver object, GetPluginInfo). */
export const DRIVER_NAME = "rds.csi.mikrotik.com";

function readPackageVersion(): string {
  const pkg = JSON.parse(readFileSync(join(PACKAGE_ROOT, "package.json"), "utf8")) as { version?: unknown };
  if (typeof pkg.version !== "string") throw new Error("package.json has no version");
  return pkg.version;
}

export const DRIVER_VERSION = readPackageVersion();
