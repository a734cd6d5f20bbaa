const REDACTED = "[REDACTED]";

/**
 * Replaces every `secrets` map (keys kept, values hidden) anywhere in a request. The proto-driven
 * redaction of fields marked csi_secret runs first; this catches maps by name, whatever the type.
 */
export function redactSecretMaps(value: unknown, depth = 0): unknown {
  if (depth > 32 || value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map((v) => redactSecretMaps(v, depth + 1));
  if (Buffer.isBuffer(value)) return `<${value.length} bytes>`;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    if (key === "secrets" && v !== null && typeof v === "object") {
      out[key] = Object.fromEntries(Object.keys(v).map((k) => [k, REDACTED]));
    } else {
      out[key] = redactSecretMaps(v, depth + 1);
    }
  }
  return out;
}
