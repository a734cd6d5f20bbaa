import type { RdsClient, RouterOsVersion } from "../rds/index.js";
import type { CheckResult, CheckStatus } from "./report.js";
import type { Scratch, ScratchPaths } from "./scratch.js";
import type { ProbeSession } from "./session.js";
import { isSupported } from "./support.js";

/** What the checks share: the connection, the driver's client, the scratch area and earlier findings. */
export interface ProbeContext {
  session: ProbeSession;
  /** The driver's RouterOS client, listing form chosen as the controller would. */
  rds: RdsClient;
  /** The same client reading `print detail` (the form used before RouterOS 7.13). */
  rdsDetail: RdsClient;
  scratch: Scratch;
  paths: ScratchPaths;
  fsLabel: string;
  /** Probe what `file-size=` does to an exported disk (exports a scratch disk to one random host NQN). */
  probeExport: boolean;
  nvmePort: number;
  nqnPrefix: string;
  facts: Facts;
}

/** Findings later checks depend on. */
export interface Facts {
  version?: RouterOsVersion;
  /** RouterOS takes `file-size=` as plain bytes (else the probes use a binary unit: `16M`). */
  plainBytes: boolean;
  /** A leading slash is needed on `/file add name=`. */
  fileNameSlash: boolean;
  /** The scratch directory exists (everything else happens in it). */
  scratchReady: boolean;
  /** The scratch directory is a subvolume (made so when the root is one). */
  scratchIsSubvolume?: boolean;
  /** What the first `/file add type=directory` found. */
  relativePath?: { observed: string; note: string };
  /** A subvolume inside the scratch directory that further subvolumes nest in; undefined when none could be made. */
  container?: string;
  /** RouterOS refuses a subvolume under a plain directory (`subvolume_name_with_slash`). */
  nestingRefused?: boolean;
  /** `parent=` takes a full path (else the last name only). */
  parentByPath?: boolean;
  /** RouterOS's wording of each storage failure the probes provoked, by `error_texts` key. */
  errorTexts: Record<string, string>;
}

/** A check of a setting: the value seen, whether the driver supports it, and a note. */
export function settingCheck(
  id: string,
  title: string,
  observed: string,
  note: string,
  extra: { driverCheck?: boolean; details?: Record<string, string> } = {},
): CheckResult {
  const declared = isSupported(id, observed);
  // The driver's own code, run against what the probe made, has the last word where it ran.
  const supported = declared && extra.driverCheck !== false;
  const why =
    declared && extra.driverCheck === false ? " The driver's own read of it failed: see above." : "";
  return {
    id,
    kind: "setting",
    title,
    status: supported ? "ok" : "unsupported",
    observed,
    supported,
    note: `${note}${why}`,
    ...(extra.details ? { details: extra.details } : {}),
  };
}

export function requirement(
  id: string,
  title: string,
  status: CheckStatus,
  observed: string,
  note: string,
): CheckResult {
  const supported = status === "ok" || status === "warning" ? true : status === "unsupported" ? false : null;
  return { id, kind: "requirement", title, status, observed, supported, note };
}

export function skipped(id: string, kind: CheckResult["kind"], title: string, why: string): CheckResult {
  return { id, kind, title, status: "skipped", observed: "not probed", supported: null, note: why };
}

/** RouterOS's first error line, for notes. */
export function firstLine(text: string): string {
  return (
    text
      .split("\n")
      .find((l) => l.trim() !== "")
      ?.trim() ?? ""
  );
}

/**
 * A `:serialize to=json` reply as one line: RouterOS wraps `:put` output at the session width,
 * anywhere, and JSON itself never holds a raw line break (they are escaped inside strings).
 */
export function jsonText(output: string): string {
  return output.replace(/\n/g, "");
}

/** Runs a check of the driver's own code; a throw counts as "the driver cannot work with this". */
export async function driverSays(check: () => Promise<boolean>): Promise<boolean> {
  try {
    return await check();
  } catch {
    return false;
  }
}
