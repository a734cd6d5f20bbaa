/** RouterOS version numbers (`7.22`, `7.21.3`, `7.24rc2`) compared by their numeric parts. */
export type RosVersion = readonly number[];

export function parseRosVersion(text: string): RosVersion {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?(?:(alpha|beta|rc)(\d+))?$/.exec(text.trim());
  if (!m) throw new Error(`not a RouterOS version: ${JSON.stringify(text)} (expected e.g. 7.22 or 7.21.3)`);
  return [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
}

export function versionAtLeast(version: RosVersion, min: string | undefined): boolean {
  if (min === undefined) return true;
  const want = parseRosVersion(min);
  for (let i = 0; i < 3; i++) {
    const a = version[i] ?? 0;
    const b = want[i] ?? 0;
    if (a !== b) return a > b;
  }
  return true;
}

/** Whether something introduced in `since` and removed in `until` exists in `version`. */
export function availableIn(version: RosVersion, gate: { since?: string; until?: string }): boolean {
  if (!versionAtLeast(version, gate.since)) return false;
  return gate.until === undefined || !versionAtLeast(version, gate.until);
}
