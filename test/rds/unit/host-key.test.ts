import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { checkKnownHosts, fingerprintOf, verifyHostKey } from "../../../src/rds/host-key.js";

const dir = mkdtempSync(join(tmpdir(), "rds-hostkey-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Keys come from ssh-keygen: ssh2's generator sometimes writes a malformed ed25519 public key. */
function keyPair(name: string): { line: string; blob: Buffer } {
  const file = join(dir, name);
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", file], { stdio: "ignore" });
  const line = readFileSync(`${file}.pub`, "utf8").trim();
  return { line, blob: Buffer.from(line.split(" ")[1]!, "base64") };
}

const server = keyPair("server");
const other = keyPair("other");
const keyField = server.line.split(" ").slice(0, 2).join(" ");
const otherField = other.line.split(" ").slice(0, 2).join(" ");

describe("fingerprints", () => {
  it("match what ssh-keygen -lf prints", () => {
    const file = join(dir, "server.pub");
    const printed = execFileSync("ssh-keygen", ["-lf", file], { encoding: "utf8" }).split(" ")[1];
    expect(fingerprintOf(server.blob)).toBe(printed);
  });

  it("verify a pinned fingerprint, with or without padding", () => {
    const fp = fingerprintOf(server.blob);
    expect(verifyHostKey({ fingerprint: fp }, "h", 22, server.blob).ok).toBe(true);
    expect(verifyHostKey({ fingerprint: `${fp}=` }, "h", 22, server.blob).ok).toBe(true);
    const refused = verifyHostKey({ fingerprint: fp }, "h", 22, other.blob);
    expect(refused.ok).toBe(false);
    expect(refused.presented).toBe(fingerprintOf(other.blob));
  });
});

describe("known_hosts", () => {
  it("matches plain, port-qualified, wildcard and negated patterns", () => {
    const text = [
      "# comment",
      `rds.example,10.0.0.1 ${keyField}`,
      `[10.0.0.2]:2222 ${keyField}`,
      `*.lab,!bad.lab ${keyField}`,
      `bad.lab ${otherField}`,
    ].join("\n");
    expect(checkKnownHosts(text, "rds.example", 22, server.blob)).toBe("match");
    expect(checkKnownHosts(text, "10.0.0.1", 22, server.blob)).toBe("match");
    expect(checkKnownHosts(text, "10.0.0.2", 2222, server.blob)).toBe("match");
    expect(checkKnownHosts(text, "10.0.0.2", 22, server.blob)).toBe("unknown-host");
    expect(checkKnownHosts(text, "x.lab", 22, server.blob)).toBe("match");
    expect(checkKnownHosts(text, "bad.lab", 22, server.blob)).toBe("mismatch");
    expect(checkKnownHosts(text, "rds.example", 22, other.blob)).toBe("mismatch");
  });

  it("matches entries hashed by ssh-keygen -H", () => {
    const file = join(dir, "known_hosts");
    writeFileSync(file, `rds.example ${keyField}\n[127.0.0.1]:2022 ${keyField}\n`);
    execFileSync("ssh-keygen", ["-H", "-f", file], { stdio: "ignore" });
    const hashed = readFileSync(file, "utf8");
    expect(hashed).toContain("|1|");
    expect(hashed).not.toContain("rds.example");
    expect(verifyHostKey({ knownHostsFile: file }, "rds.example", 22, server.blob).ok).toBe(true);
    expect(verifyHostKey({ knownHostsFile: file }, "127.0.0.1", 2022, server.blob).ok).toBe(true);
    expect(verifyHostKey({ knownHostsFile: file }, "127.0.0.1", 2023, server.blob).ok).toBe(false);
  });

  it("refuses revoked keys and unreadable files", () => {
    const text = `rds.example ${keyField}\n@revoked * ${keyField}\n`;
    expect(checkKnownHosts(text, "rds.example", 22, server.blob)).toBe("revoked");
    const missing = verifyHostKey({ knownHostsFile: join(dir, "nope") }, "rds.example", 22, server.blob);
    expect(missing.ok).toBe(false);
    expect(missing.reason).toMatch(/cannot read/);
  });

  it("accepts anything when verification is switched off", () => {
    expect(verifyHostKey({ insecureSkipVerify: true }, "h", 22, other.blob).ok).toBe(true);
  });
});
