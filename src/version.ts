import { readFileSync } from "node:fs";

/** Driver name registered with Kubernetes (CSIDriver object, GetPluginInfo). */
export const DRIVER_NAME = "rds.csi.mikrotik.com";

function readPackageVersion(): string {
  // dist/version.js and src/version.ts both sit one level below the package root.
  const url = new URL("../package.json", import.meta.url);
  const pkg = JSON.parse(readFileSync(url, "utf8")) as { version?: unknown };
  if (typeof pkg.version !== "string") throw new Error("package.json has no version");
  return pkg.version;
}

export const DRIVER_VERSION = readPackageVersion();
