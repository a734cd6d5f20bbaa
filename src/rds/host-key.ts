import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";

/**
 * Host key verification: a pinned `SHA256:` fingerprint (as `ssh-keygen -lf` prints it) or an
 * OpenSSH known_hosts file. The known_hosts file is read at every connect so an updated Secret or
 * ConfigMap mount takes effect without a restart.
 */

export type HostKeyPolicy =
  | { fingerprint: string }
  | { knownHostsFile: string }
  | { insecureSkipVerify: true };

/** `SHA256:<base64 without padding>` of the key blob, the OpenSSH fingerprint format. */
export function fingerprintOf(keyBlob: Buffer): string {
  return `SHA256:${createHash("sha256").update(keyBlob).digest("base64").replace(/=+$/, "")}`;
}

export function normalizeFingerprint(fingerprint: string): string {
  const m = /^SHA256:([A-Za-z0-9+/]{43})=?$/.exec(fingerprint.trim());
  if (!m)
    throw new Error(`host key fingerprint must look like SHA256:<43 base64 characters>, got ${fingerprint}`);
  return `SHA256:${m[1]}`;
}

interface KnownHostLine {
  marker: "revoked" | "cert-authority" | null;
  patterns: string;
  keyBlob: Buffer;
}

function parseKnownHostsLine(line: string): KnownHostLine | null {
  const trimmed = line.trim();
  if (trimmed === "" || trimmed.startsWith("#")) return null;
  const fields = trimmed.split(/\s+/);
  let marker: KnownHostLine["marker"] = null;
  if (fields[0]?.startsWith("@")) {
    const m = fields.shift();
    if (m === "@revoked") marker = "revoked";
    else if (m === "@cert-authority") marker = "cert-authority";
    else return null;
  }
  const [patterns, , base64] = fields;
  if (patterns === undefined || base64 === undefined || !/^[A-Za-z0-9+/]+=*$/.test(base64)) return null;
  return { marker, patterns, keyBlob: Buffer.from(base64, "base64") };
}

/** The name known_hosts records for a host: `host` on port 22, `[host]:port` otherwise. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

function hashedPatternMatches(pattern: string, name: string): boolean {
  // |1|base64(salt)|base64(HMAC-SHA1(salt, name))
  const parts = pattern.split("|");
  if (parts.length !== 4 || parts[1] !== "1") return false;
  const salt = Buffer.from(parts[2]!, "base64");
  const expected = Buffer.from(parts[3]!, "base64");
  const actual = createHmac("sha1", salt).update(name).digest();
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

function wildcardMatches(pattern: string, name: string): boolean {
  const source = pattern
    .split("")
    .map((ch) => (ch === "*" ? ".*" : ch === "?" ? "." : ch.replace(/[.+^${}()|[\]\\]/g, "\\$&")))
    .join("");
  return new RegExp(`^${source}$`, "i").test(name);
}

/** Whether a comma-separated host pattern list matches `name` (negated patterns veto). */
function patternsMatch(patterns: string, name: string): boolean {
  if (patterns.startsWith("|")) return hashedPatternMatches(patterns, name);
  let matched = false;
  for (const raw of patterns.split(",")) {
    const negated = raw.startsWith("!");
    const pattern = negated ? raw.slice(1) : raw;
    if (pattern.length > 255 || !wildcardMatches(pattern, name)) continue;
    if (negated) return false;
    matched = true;
  }
  return matched;
}

export type KnownHostsVerdict = "match" | "revoked" | "mismatch" | "unknown-host";

/** Checks a presented key against known_hosts text for `host:port`. */
export function checkKnownHosts(
  text: string,
  host: string,
  port: number,
  keyBlob: Buffer,
): KnownHostsVerdict {
  const name = knownHostsName(host, port);
  let hostSeen = false;
  let matched = false;
  for (const line of text.split("\n")) {
    const entry = parseKnownHostsLine(line);
    if (entry === null || entry.marker === "cert-authority") continue;
    if (!patternsMatch(entry.patterns, name)) continue;
    const same = entry.keyBlob.equals(keyBlob);
    if (entry.marker === "revoked") {
      if (same) return "revoked";
      continue;
    }
    hostSeen = true;
    if (same) matched = true;
  }
  if (matched) return "match";
  return hostSeen ? "mismatch" : "unknown-host";
}

/** Result of one verification, kept so a refusal can be reported with what the server presented. */
export interface HostKeyCheck {
  ok: boolean;
  presented: string;
  reason: string;
}

/** Verifies one presented key under `policy`; never throws (an unreadable file is a refusal). */
export function verifyHostKey(
  policy: HostKeyPolicy,
  host: string,
  port: number,
  keyBlob: Buffer,
): HostKeyCheck {
  const presented = fingerprintOf(keyBlob);
  if ("insecureSkipVerify" in policy)
    return { ok: true, presented, reason: "host key verification disabled" };
  if ("fingerprint" in policy) {
    const wanted = normalizeFingerprint(policy.fingerprint);
    const ok = wanted === presented;
    return { ok, presented, reason: ok ? "pinned fingerprint" : `expected pinned ${wanted}` };
  }
  let text: string;
  try {
    text = readFileSync(policy.knownHostsFile, "utf8");
  } catch (err) {
    return {
      ok: false,
      presented,
      reason: `cannot read ${policy.knownHostsFile}: ${(err as Error).message}`,
    };
  }
  const verdict = checkKnownHosts(text, host, port, keyBlob);
  const reasons: Record<KnownHostsVerdict, string> = {
    match: "known_hosts entry",
    revoked: `the key is marked @revoked in ${policy.knownHostsFile}`,
    mismatch: `${policy.knownHostsFile} holds a different key for ${knownHostsName(host, port)}`,
    "unknown-host": `${policy.knownHostsFile} has no entry for ${knownHostsName(host, port)}`,
  };
  return { ok: verdict === "match", presented, reason: reasons[verdict] };
}
