/**
 * The settings matrix (`npm run test:matrix`, test/matrix/run-matrix.ts) runs suites once per
 * combination of emulator settings; it names the combination's JSON file in RDS_CSI_SIM_SETTINGS.
 * Every emulator the test helpers start (test/helpers/sim.ts, csi-sanity's stack) takes these
 * settings as its base; what a test sets itself still wins.
 */
import { readFileSync } from "node:fs";

export const MATRIX_SETTINGS_ENV = "RDS_CSI_SIM_SETTINGS";

/** The matrix combination in force, or an empty object outside the matrix. */
export function matrixSettings(): Record<string, unknown> {
  const file = process.env[MATRIX_SETTINGS_ENV];
  if (file === undefined || file === "") return {};
  const parsed: unknown = JSON.parse(readFileSync(file, "utf8"));
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new Error(`${MATRIX_SETTINGS_ENV}=${file}: expected a JSON object of emulator settings`);
  }
  return parsed as Record<string, unknown>;
}
