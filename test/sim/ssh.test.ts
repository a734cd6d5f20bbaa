import { execFileSync, spawnSync } from "node:child_process";
import { appendFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import ssh2 from "ssh2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ed25519KeyPair } from "../helpers/keys.js";
import { type SimFixture, sshExec, startSim } from "../helpers/sim.js";

/** Opens one connection and returns the client once authenticated (or the error). */
function connect(sim: SimFixture, user: string, privateKey: string | Buffer): Promise<ssh2.Client> {
  return new Promise((resolve, reject) => {
    const client = new ssh2.Client();
    client.on("ready", () => resolve(client)).on("error", reject);
    client.connect({ host: sim.host, port: sim.port, username: user, privateKey, readyTimeout: 20_000 });
  });
}

function execOn(client: ssh2.Client, command: string): Promise<{ stdout: string; code: number | null }> {
  return new Promise((resolve, reject) => {
    client.exec(command, (err, stream) => {
      if (err) return reject(err);
      let stdout = "";
      let code: number | null = null;
      stream.on("data", (b: Buffer) => {
        stdout += b.toString("utf8");
      });
      stream.on("exit", (c: number) => {
        code = c;
      });
      stream.on("close", () => resolve({ stdout, code }));
    });
  });
}

describe("sim SSH front", () => {
  let sim: SimFixture;
  beforeAll(async () => {
    sim = await startSim();
  });
  afterAll(async () => {
    await sim?.stop();
  });

  it("pins a host key that OpenSSH accepts with strict checking", () => {
    const line = readFileSync(sim.knownHostsPath, "utf8");
    const fingerprint = execFileSync("ssh-keygen", ["-l", "-f", sim.knownHostsPath], { encoding: "utf8" });
    expect(fingerprint).toContain(sim.hostKeyFingerprint);
    expect(line).toMatch(/^\[127\.0\.0\.1\]:\d+ ssh-rsa /);
    const out = execFileSync(
      "ssh",
      [
        ...[
          "-o",
          "BatchMode=yes",
          "-o",
          "StrictHostKeyChecking=yes",
          "-o",
          `UserKnownHostsFile=${sim.knownHostsPath}`,
        ],
        ...[
          "-o",
          "IdentitiesOnly=yes",
          "-i",
          sim.privateKeyPath,
          "-p",
          String(sim.port),
          `admin@${sim.host}`,
        ],
        ":put [/system identity get name]; /disk print count-only",
      ],
      { encoding: "utf8" },
    );
    expect(out).toBe("RDS\r\n1\r\n");
  });

  it("accepts rsa user keys and refuses ecdsa, unknown keys and other users", async () => {
    const rsa = ssh2.utils.generateKeyPairSync("rsa", { bits: 2048 });
    const ecdsa = ssh2.utils.generateKeyPairSync("ecdsa", { bits: 256 });
    const stranger = ed25519KeyPair();
    appendFileSync(sim.authorizedKeysPath, `${rsa.public}\n${ecdsa.public}\n`);
    expect((await sshExec(sim, "/system identity print", { privateKey: rsa.private })).stdout).toBe(
      "  name: RDS\r\n",
    );
    await expect(sshExec(sim, "/system identity print", { privateKey: ecdsa.private })).rejects.toThrow(
      /authentication methods failed/,
    );
    await expect(sshExec(sim, "/system identity print", { privateKey: stranger.private })).rejects.toThrow(
      /authentication methods failed/,
    );
    await expect(sshExec(sim, "/system identity print", { user: "root" })).rejects.toThrow(
      /authentication methods failed/,
    );
  });

  it("manages login keys through /user ssh-keys", async () => {
    const extra = ed25519KeyPair("ops laptop");
    const ecdsa = ssh2.utils.generateKeyPairSync("ecdsa", { bits: 256 });
    await expect(sshExec(sim, ":put ok", { privateKey: extra.private })).rejects.toThrow(/authentication/);
    expect((await sshExec(sim, `/user ssh-keys add user=admin key="${extra.public}"`)).stdout).toBe("");
    expect((await sshExec(sim, ":put ok", { privateKey: extra.private })).stdout).toBe("ok\r\n");
    expect((await sshExec(sim, `/user ssh-keys add user=admin key="${ecdsa.public}"`)).stdout).toBe(
      "unable to load key file (wrong format or bad passphrase)!\r\n",
    );
    const listed = await sshExec(sim, '/user ssh-keys print detail where key-owner="ops laptop"', {
      user: "admin+200w",
    });
    expect(listed.stdout).toMatch(
      /^ *\d+ user=admin key-type=ed25519 bits=256 fingerprint=SHA256:\S+ key-owner="ops laptop" \r\n$/,
    );
    expect((await sshExec(sim, '/user ssh-keys remove [find where key-owner="ops laptop"]')).stdout).toBe("");
    await expect(sshExec(sim, ":put ok", { privateKey: extra.private })).rejects.toThrow(/authentication/);
    expect((await sshExec(sim, ":put ok")).stdout).toBe("ok\r\n");
  });

  it("strips and honours RouterOS login options", async () => {
    const narrow = await sshExec(sim, "/disk print detail", { user: "admin+ct40w" });
    const lines = narrow.stdout.split("\r\n").slice(0, -1);
    expect(lines.length).toBeGreaterThan(10);
    expect(lines.slice(1).every((l) => l.length <= 40)).toBe(true);
    const wide = await sshExec(sim, "/disk print detail", { user: "admin+cet512w" });
    const wideLines = wide.stdout.split("\r\n").slice(0, -1);
    expect(wideLines.every((l) => l.length <= 512)).toBe(true);
    expect(wideLines.some((l) => l.length > 400)).toBe(true);
    const normal = await sshExec(sim, "/disk print detail");
    const normalLines = normal.stdout.split("\r\n").slice(0, -1);
    expect(normalLines.every((l) => l.length <= 80)).toBe(true);
    expect(normalLines.length).toBeGreaterThan(wideLines.length);
  });

  it("refuses shells and keeps exit status 0 on errors unless strict_exit_codes is set", async () => {
    const client = await connect(sim, "admin", readFileSync(sim.privateKeyPath));
    const shell = await new Promise<Error | undefined>((resolve) => client.shell((err) => resolve(err)));
    expect(shell?.message).toMatch(/unable to open shell/i);
    client.end();
    expect((await sshExec(sim, "/bogus")).code).toBe(0);
    await sim.control.setSettings({ strict_exit_codes: true });
    try {
      expect(await sshExec(sim, "/bogus")).toMatchObject({
        code: 1,
        stdout: "bad command name bogus (line 1 column 2)\r\n",
      });
      expect((await sshExec(sim, "/disk print count-only")).code).toBe(0);
    } finally {
      await sim.control.setSettings({ strict_exit_codes: false });
    }
  });

  it("limits concurrent sessions and can refuse new ones", async () => {
    await sim.control.setSettings({ max_sessions: 2 });
    await sim.control.addFault({ match: "^:put slow$", action: "delay", ms: 3000 });
    const client = await connect(sim, "admin", readFileSync(sim.privateKeyPath));
    try {
      const slow = [execOn(client, ":put slow"), execOn(client, ":put slow")];
      await new Promise((r) => setTimeout(r, 300));
      await expect(execOn(client, ":put fast")).rejects.toThrow();
      expect(await Promise.all(slow)).toEqual([
        { stdout: "slow\r\n", code: 0 },
        { stdout: "slow\r\n", code: 0 },
      ]);
      expect(await execOn(client, ":put fast")).toEqual({ stdout: "fast\r\n", code: 0 });
    } finally {
      client.end();
      await sim.control.clearFaults();
      await sim.control.setSettings({ max_sessions: 20 });
    }
    await sim.control.rejectSessions(true);
    await expect(sshExec(sim, ":put x")).rejects.toThrow();
    await sim.control.rejectSessions(false);
    expect((await sshExec(sim, ":put x")).stdout).toBe("x\r\n");
  });

  it("survives clients that vanish mid-reply, and frees their sessions", async () => {
    await sim.control.addFault({ match: "slow", action: "delay-reply", ms: 300 });
    const key = readFileSync(sim.privateKeyPath);
    const vanish = (i: number) =>
      new Promise<void>((resolve) => {
        const sock = net.createConnection(sim.port, sim.host);
        const client = new ssh2.Client();
        client.on("error", () => resolve());
        client.on("ready", () =>
          client.exec(i % 2 ? ":put slow" : "/disk print detail; :put slow", () => {
            setTimeout(
              () => {
                sock.destroy();
                resolve();
              },
              50 + (i % 5) * 60,
            );
          }),
        );
        client.connect({ sock, username: "admin", privateKey: key });
      });
    try {
      await Promise.all(Array.from({ length: 20 }, (_, i) => vanish(i)));
      const garbage = net.createConnection(sim.port, sim.host);
      garbage.on("error", () => undefined);
      garbage.write("SSH-2.0-bogus\r\nnot a packet\r\n");
      await new Promise((r) => setTimeout(r, 800));
      garbage.destroy();
    } finally {
      await sim.control.clearFaults();
    }
    expect((await sshExec(sim, ":put alive")).stdout).toBe("alive\r\n");
    expect((await sim.control.health()).sessions).toBe(0);
  });

  it("logs every exec line with whether it ran", async () => {
    await sim.control.clearLogs();
    await sshExec(sim, ":put one");
    await sshExec(sim, "/disk bogus");
    const entries = await sim.control.commands();
    expect(entries.map((e) => [e.line, e.ran, e.outcome, e.output])).toEqual([
      [":put one", true, "ok", "one\r\n"],
      ["/disk bogus", false, "error", "bad command name bogus (line 1 column 7)\r\n"],
    ]);
    expect(entries.every((e) => e.user === "admin" && !Number.isNaN(Date.parse(e.time)))).toBe(true);
  });

  it("fails to start with one readable line: bad settings file, not root, no btrfs-progs", () => {
    const dir = path.join(path.dirname(sim.dataDir), "bad");
    writeFileSync(path.join(path.dirname(sim.dataDir), "bad-settings.json"), "{ not json");
    let stderr = "";
    try {
      execFileSync(
        process.execPath,
        [
          ...["--import", "tsx", "src/cli.ts", "sim", "--listen", "127.0.0.1:0", "--data-dir", dir],
          ...[
            "--authorized-keys",
            sim.authorizedKeysPath,
            "--settings",
            `${path.dirname(sim.dataDir)}/bad-settings.json`,
          ],
        ],
        { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] },
      );
    } catch (e) {
      stderr = (e as { stderr: string }).stderr;
    }
    expect(stderr).toMatch(/^rds-csi sim: cannot read settings file .*bad-settings\.json: /);
    expect(stderr.trim().split("\n")).toHaveLength(1);

    const nobodyDir = path.join(tmpdir(), `rds-sim-nobody-${process.pid}`);
    const asNobody = spawnSync(
      "setpriv",
      [
        ...["--reuid", "65534", "--regid", "65534", "--clear-groups", "env", `HOME=${tmpdir()}`],
        ...[process.execPath, "--import", "tsx", "src/cli.ts", "sim", "--listen", "127.0.0.1:0"],
        ...["--data-dir", nobodyDir, "--authorized-keys", "/dev/null"],
      ],
      { encoding: "utf8" },
    );
    expect(asNobody.status).toBe(1);
    expect(asNobody.stderr).toBe(
      "rds-csi sim: must run as root to attach a loop device and mount Btrfs (running as uid 65534)\n",
    );
    expect(existsSync(nobodyDir)).toBe(false);

    const noBtrfs = spawnSync(
      process.execPath,
      [
        ...["--import", "tsx", "src/cli.ts", "sim", "--listen", "127.0.0.1:0", "--size", "256M"],
        ...["--data-dir", path.join(path.dirname(sim.dataDir), "nobtrfs"), "--authorized-keys", "/dev/null"],
      ],
      { encoding: "utf8", env: { ...process.env, PATH: "/nonexistent" } },
    );
    expect(noBtrfs.status).toBe(1);
    expect(noBtrfs.stderr).toBe(
      "rds-csi sim: cannot create the Btrfs filesystem: mkfs.btrfs not found: is it installed and on PATH?\n",
    );
    expect(existsSync(path.join(path.dirname(sim.dataDir), "nobtrfs", "pool.img"))).toBe(false);
  });
});
