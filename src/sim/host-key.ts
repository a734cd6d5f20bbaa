import { createHash, generateKeyPairSync } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import ssh2 from "ssh2";

/** Loads the host key, or creates an RSA 2048 key (RouterOS's default host key type) on first start. */
export function loadOrCreateHostKey(file: string, create: boolean): string {
  if (existsSync(file)) return readFileSync(file, "utf8");
  if (!create) throw new Error(`host key file not found: ${file}`);
  const { privateKey } = generateKeyPairSync("rsa", {
    modulusLength: 2048,
    privateKeyEncoding: { type: "pkcs1", format: "pem" },
    publicKeyEncoding: { type: "spki", format: "pem" },
  });
  writeFileSync(file, privateKey, { mode: 0o600 });
  return privateKey;
}

/** The key's public blob and OpenSSH fingerprint (`SHA256:<base64 without padding>`). */
export function hostKeyIdentity(pem: string): { type: string; publicBlob: Buffer; fingerprint: string } {
  const parsed = ssh2.utils.parseKey(pem);
  if (parsed instanceof Error) throw new Error(`cannot read host key: ${parsed.message}`);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key) throw new Error("cannot read host key");
  const publicBlob = key.getPublicSSH();
  const digest = createHash("sha256").update(publicBlob).digest("base64").replace(/=+$/, "");
  return { type: key.type, publicBlob, fingerprint: `SHA256:${digest}` };
}
