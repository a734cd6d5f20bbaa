import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

/**
 * An ed25519 key pair made by OpenSSH's ssh-keygen. ssh2's own generator occasionally writes an
 * ed25519 private key that ssh2 itself then refuses to parse, which made tests fail at random.
 */
export function ed25519KeyPair(comment = "rds-csi-test"): { private: string; public: string } {
  const dir = mkdtempSync(path.join(tmpdir(), "rds-key-"));
  try {
    const file = path.join(dir, "id_ed25519");
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", file]);
    return { private: readFileSync(file, "utf8"), public: readFileSync(`${file}.pub`, "utf8").trim() };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
