import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type SimFixture, sshExec, startSim } from "../helpers/sim.js";

describe("sim volume lifecycle over SSH", () => {
  let sim: SimFixture;
  beforeAll(async () => {
    sim = await startSim();
  });
  afterAll(async () => {
    await sim?.stop();
  });

  it("answers with CRLF and exit status 0, even for errors", async () => {
    const ok = await sshExec(sim, "/system identity print");
    expect(ok).toEqual({ stdout: "  name: RDS\r\n", stderr: "", code: 0 });
    const bad = await sshExec(sim, "/disk remove nosuch");
    expect(bad).toEqual({ stdout: "no such item\r\n", stderr: "", code: 0 });
  });

  it("creates a volume subvolume, a sparse disk, a read-only snapshot, and removes the disk item only", async () => {
    const mk = await sshExec(
      sim,
      "/file add name=raid1/rds-csi type=directory; /file add name=raid1/rds-csi/vols type=directory; " +
        "/file add name=raid1/rds-csi/snaps type=directory; " +
        "/disk/btrfs/subvolume/add fs=raid1 name=rds-csi/vols/pvc-a",
    );
    expect(mk.stdout).toBe("");
    const add = await sshExec(
      sim,
      ":put [/disk add type=file file-path=raid1/rds-csi/vols/pvc-a/disk.img file-size=1G slot=pvc-a " +
        "mount-filesystem=no nvme-tcp-export=yes nvme-tcp-server-port=4420 nvme-tcp-server-nqn=nqn.x:pvc-a]",
    );
    expect(add.stdout).toBe("*2\r\n");
    const img = path.join(sim.poolMountPath, "rds-csi/vols/pvc-a/disk.img");
    const blocks = Number(execFileSync("stat", ["-c", "%b", img], { encoding: "utf8" }).trim());
    expect(blocks).toBe(0);
    expect(Number(execFileSync("stat", ["-c", "%s", img], { encoding: "utf8" }).trim())).toBe(1024 ** 3);

    const snap = await sshExec(
      sim,
      "/disk/btrfs/subvolume/add fs=raid1 parent=rds-csi/vols/pvc-a name=rds-csi/snaps/snap-1 read-only=yes",
    );
    expect(snap.stdout).toBe("");
    const ro = execFileSync(
      "btrfs",
      ["property", "get", "-ts", path.join(sim.poolMountPath, "rds-csi/snaps/snap-1"), "ro"],
      {
        encoding: "utf8",
      },
    );
    expect(ro.trim()).toBe("ro=true");

    expect((await sshExec(sim, "/disk remove [find slot=pvc-a]")).stdout).toBe("");
    expect((await sshExec(sim, "/disk print count-only where slot=pvc-a")).stdout).toBe("0\r\n");
    expect(existsSync(img)).toBe(true);
  });

  it("keeps the disk table across a restart", async () => {
    await sshExec(sim, "/disk add type=file file-path=raid1/keep.img file-size=64M slot=keep");
    const before = (await sshExec(sim, "/disk print detail")).stdout;
    await sim.restart();
    const after = (await sshExec(sim, "/disk print detail")).stdout;
    expect(after.replace(/free=[\d ]+ use=\d+%/, "")).toBe(before.replace(/free=[\d ]+ use=\d+%/, ""));
    expect(readFileSync(path.join(sim.dataDir, "state.json"), "utf8")).toContain('"slot": "keep"');
  });

  it("evaluates $[…], $(…) and $var inside double quotes and logs each evaluation", async () => {
    await sim.control.clearLogs();
    await sshExec(sim, "/disk add type=file file-path=raid1/victim.img file-size=1M slot=victim");
    const line =
      '/disk set keep comment="id=$[/system identity get name] n=$(2*3) v=$undefined! $[/disk remove victim]"';
    expect((await sshExec(sim, line)).stdout).toBe("");
    expect((await sshExec(sim, ":put [/disk get keep comment]")).stdout).toBe("id=RDS n=6 v=! \r\n");
    expect((await sshExec(sim, "/disk print count-only where slot=victim")).stdout).toBe("0\r\n");
    const events = await sim.control.injections();
    expect(events.map((e) => [e.kind, e.source, e.result, e.line])).toEqual([
      ["command", "$[/system identity get name]", "RDS", line],
      ["expression", "$(2*3)", "6", line],
      ["variable", "$undefined", "", line],
      ["command", "$[/disk remove victim]", "", line],
    ]);
    expect(events.map((e) => e.col)).toEqual([28, 59, 68, 80]);
  });

  it("stores escaped dollars, semicolons and quotes literally without any evaluation", async () => {
    await sim.control.clearLogs();
    const value = 'a\\$[/system reboot]; b\\"c\\\\d\\?';
    expect((await sshExec(sim, `/disk set keep comment="${value}"`)).stdout).toBe("");
    expect((await sshExec(sim, ":put [/disk get keep comment]")).stdout).toBe(
      'a$[/system reboot]; b"c\\d?\r\n',
    );
    expect(await sim.control.injections()).toEqual([]);
  });

  it("serialises concurrent changes from many sessions: unique ids, nothing lost", async () => {
    await sshExec(sim, "/file add type=directory name=raid1/many");
    const adds = Array.from({ length: 12 }, (_, i) =>
      sshExec(sim, `:put [/disk add type=file file-path=raid1/many/d${i}.img file-size=1M slot=many-${i}]`),
    );
    const subvolumes = Array.from({ length: 6 }, (_, i) =>
      sshExec(sim, `/disk/btrfs/subvolume/add fs=raid1 name=many/sv-${i}`),
    );
    const ids = (await Promise.all(adds)).map((r) => r.stdout.trim());
    expect((await Promise.all(subvolumes)).map((r) => r.stdout)).toEqual(Array(6).fill(""));
    expect(ids.every((id) => /^\*[0-9A-F]+$/.test(id))).toBe(true);
    expect(new Set(ids).size).toBe(12);
    expect((await sshExec(sim, '/disk print count-only where slot~"^many-"')).stdout).toBe("12\r\n");
    expect(
      (await sshExec(sim, '/disk/btrfs/subvolume/print count-only where fullname~"^many/"')).stdout,
    ).toBe("6\r\n");
    const state = JSON.parse(readFileSync(path.join(sim.dataDir, "state.json"), "utf8")) as {
      disks: unknown[];
    };
    expect(state.disks.filter((d) => String((d as { slot: string }).slot).startsWith("many-"))).toHaveLength(
      12,
    );
  });

  it("stop() unmounts the pool, detaches its loop device and removes the data directory", async () => {
    const other = await startSim({ size: "256M", pool: "tank" });
    const health = await other.control.health();
    expect((await sshExec(other, '/disk print count-only where mount-point="tank"')).stdout).toBe("1\r\n");
    await other.stop();
    expect(existsSync(other.dataDir)).toBe(false);
    expect(readFileSync("/proc/self/mountinfo", "utf8")).not.toContain(other.poolMountPath);
    const loops = execFileSync("losetup", ["--list", "--noheadings", "-O", "NAME,BACK-FILE"], {
      encoding: "utf8",
    });
    expect(loops).not.toContain(health.imagePath);
  });

  it("with --stop-with-parent, unmounts and frees its pool when the process that started it is killed", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "rds-sim-orphan-"));
    const key = path.join(dir, "id_ed25519");
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", key]);
    const dataDir = path.join(dir, "data");
    const image = path.join(dataDir, "pool.img");
    const args = ["--import", "tsx", "src/cli.ts", "sim", "--listen", "127.0.0.1:0", "--data-dir", dataDir];
    args.push("--authorized-keys", `${key}.pub`, "--size", "256M", "--stop-with-parent");
    // A parent that starts the sim, reports its pid, and is then killed outright.
    const parentScript = `const c = require("node:child_process").spawn(process.execPath, ${JSON.stringify(args)}, { stdio: ["ignore", "pipe", "inherit"] });
c.stdout.on("data", (d) => { if (/listening/.test(String(d))) console.log("sim " + c.pid); });
setInterval(() => {}, 1000);`;
    const parent = spawn(process.execPath, ["-e", parentScript], { stdio: ["ignore", "pipe", "inherit"] });
    let simPid = 0;
    try {
      simPid = await new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("the sim did not start")), 60_000);
        parent.stdout.on("data", (d: Buffer) => {
          const m = /sim (\d+)/.exec(String(d));
          if (m) {
            clearTimeout(timer);
            resolve(Number(m[1]));
          }
        });
      });
      expect(readFileSync("/proc/self/mountinfo", "utf8")).toContain(path.join(dataDir, "mnt"));
      parent.kill("SIGKILL");
      const until = Date.now() + 30_000;
      while (Date.now() < until && isAlive(simPid)) await new Promise((r) => setTimeout(r, 200));
      expect(isAlive(simPid), "the orphaned sim is still running").toBe(false);
      expect(readFileSync("/proc/self/mountinfo", "utf8")).not.toContain(path.join(dataDir, "mnt"));
      expect(execFileSync("losetup", ["-j", image], { encoding: "utf8" })).toBe("");
    } finally {
      parent.kill("SIGKILL");
      if (simPid && isAlive(simPid)) process.kill(simPid, "SIGTERM");
      const until = Date.now() + 30_000;
      while (simPid && Date.now() < until && isAlive(simPid)) await new Promise((r) => setTimeout(r, 200));
      // Whatever went wrong, the pool must not outlive the test.
      const mnt = path.join(dataDir, "mnt");
      if (readFileSync("/proc/self/mountinfo", "utf8").includes(` ${mnt} `))
        execFileSync("umount", ["-l", mnt]);
      for (const line of execFileSync("losetup", ["-j", image], { encoding: "utf8" }).split("\n")) {
        const device = line.split(":")[0];
        if (device) execFileSync("losetup", ["-d", device]);
      }
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
