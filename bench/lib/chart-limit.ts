import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";

const VALUES = fileURLToPath(new URL("../../charts/rds-csi/values.yaml", import.meta.url));
const UNITS: Record<string, number> = {
  Ki: 1 / 1024,
  Mi: 1,
  Gi: 1024,
  K: 1e3 / 2 ** 20,
  M: 1e6 / 2 ** 20,
  G: 1e9 / 2 ** 20,
};

/** The memory limit the Helm chart gives the controller container, in MiB; undefined if it sets none. */
export function chartControllerMemoryLimitMiB(): number | undefined {
  try {
    const values = parse(readFileSync(VALUES, "utf8")) as {
      controller?: { resources?: { limits?: { memory?: string | number } } };
    };
    const limit = values.controller?.resources?.limits?.memory;
    if (typeof limit === "number") return limit / 2 ** 20;
    const m = /^(\d+(?:\.\d+)?)([KMG]i?)?$/.exec(limit ?? "");
    if (!m) return undefined;
    return Number(m[1]) * (m[2] ? (UNITS[m[2]] ?? Number.NaN) : 1 / 2 ** 20);
  } catch {
    return undefined;
  }
}
