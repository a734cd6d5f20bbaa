import { protocolError } from "./errors.js";

/** A RouterOS version as `/system resource get version` prints it: `7.22 (stable)`, `7.24rc2 (testing)`. */
export interface RouterOsVersion {
  major: number;
  minor: number;
  patch: number;
  /** `beta2`, `rc1`, … or null for a release. */
  prerelease: string | null;
  /** The channel in parentheses (`stable`, `long-term`, `testing`, `development`), when printed. */
  channel: string | null;
  text: string;
}

export function parseRouterOsVersion(printed: string): RouterOsVersion {
  const text = printed.trim();
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?((?:alpha|beta|rc)\d*)?(?:\s+\(([a-z-]+)\))?$/.exec(text);
  if (!m) throw protocolError("cannot read the RouterOS version", text);
  return {
    major: Number(m[1]),
    minor: Number(m[2]),
    patch: Number(m[3] ?? 0),
    prerelease: m[4] ?? null,
    channel: m[5] ?? null,
    text,
  };
}

/**
 * Whether `version` has the features of `major.minor`. A pre-release of a minor version counts as
 * that version: features are gated by the release that introduced them, and betas carry them.
 */
export function versionAtLeast(version: RouterOsVersion, major: number, minor: number): boolean {
  return version.major > major || (version.major === major && version.minor >= minor);
}

/** First versions with the features this client uses (reference §2.1, §1.7). */
export const FEATURES = {
  serializeJson: [7, 13],
  fileDisks: [7, 17],
  btrfsSubvolumes: [7, 18],
  nvmeServerNqn: [7, 21],
} as const satisfies Record<string, readonly [number, number]>;

export type Feature = keyof typeof FEATURES;

export function supports(version: RouterOsVersion, feature: Feature): boolean {
  const [major, minor] = FEATURES[feature];
  return versionAtLeast(version, major, minor);
}
