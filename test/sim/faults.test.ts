import { readFileSync } from "node:fs";
import ssh2 from "ssh2";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type SimFixture, sshExec, startSim } from "../helpers/sim.js";

interface Outcome {
  stdout: string;
  /** Exit status, or null when the connection ended without one. */
  code: number | null;
}

/** Like sshExec, but a connection cut mid-request is an outcome, not an error. */
function attempt(sim: SimFixture, command: string): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const client = new ssh2.Client();
    let stdout = "";
    let code: number | null = null;
    let settled = false;
    const done = () => {
      if (settled) return;
      settled = true;
      client.end();
      resolve({ stdout, code });
    };
    client
      .on("ready", () => {
        client.exec(command, (err, stream) => {
          if (err) return reject(err);
          stream.on("data", (b: Buffer) => {
            stdout += b.toString("utf8");
          });
          stream.on("exit", (c: number) => {
            code = c;
          });
          stream.on("close", done);
        });
      })
      .on("error", done)
      .on("close", done)
      .connect({
        host: sim.host,
        port: sim.port,
        username: "admin",
        privateKey: readFileSync(sim.privateKeyPath),
      });
  });
}

describe("sim fault injection", () => {
  let sim: SimFixture;
  beforeAll(async () => {
    sim = await startSim();
    await sim.control.exec("/file add name=raid1/f type=directory");
  });
  afterAll(async () => {
    await sim?.stop();
  });
  afterEach(async () => {
    await sim.control.clearFaults();
    await sim.control.clearLogs();
  });

  const countDisks = async () => (await sim.control.exec("/disk print count-only")).output;

  it("drop-before cuts the connection and runs nothing", async () => {
    await sim.control.addFault({ match: "slot=a1", action: "drop-before", times: 1 });
    const outcome = await attempt(sim, "/disk add type=file file-path=raid1/f/a1.img file-size=1M slot=a1");
    expect(outcome).toEqual({ stdout: "", code: null });
    expect(await countDisks()).toBe("1\r\n");
    const [entry] = await sim.control.commands();
    expect(entry).toMatchObject({ ran: false, outcome: "fault", fault: "drop-before" });
    expect(await sim.control.listFaults()).toEqual([]);
    expect(
      (await attempt(sim, "/disk add type=file file-path=raid1/f/a1.img file-size=1M slot=a1")).code,
    ).toBe(0);
    expect(await countDisks()).toBe("2\r\n");
  });

  it("drop-after runs the line but never replies", async () => {
    await sim.control.addFault({ match: "^:put \\[/disk add", action: "drop-after" });
    const outcome = await attempt(
      sim,
      ":put [/disk add type=file file-path=raid1/f/a2.img file-size=1M slot=a2]",
    );
    expect(outcome).toEqual({ stdout: "", code: null });
    expect((await sim.control.exec(":put [/disk get a2 file-size]")).output).toBe("1048576\r\n");
    expect((await sim.control.commands())[0]).toMatchObject({ ran: true, outcome: "ok", output: "*3\r\n" });
  });

  it("drop-after-bytes sends exactly N bytes of the reply, then cuts", async () => {
    await sim.control.addFault({ match: "print detail", action: "drop-after-bytes", bytes: 30 });
    const full = (await sim.control.exec("/disk print detail")).output;
    const outcome = await attempt(sim, "/disk print detail");
    expect(outcome.code).toBeNull();
    expect(outcome.stdout).toBe(full.slice(0, 30));
  });

  it("fail answers the given error for the next N lines instead of running them", async () => {
    await sim.control.addFault({
      match: "/disk set",
      action: "fail",
      error: "failure: not enough space",
      times: 2,
    });
    for (let i = 0; i < 2; i++) {
      expect(await attempt(sim, "/disk set a1 comment=x")).toEqual({
        stdout: "failure: not enough space\r\n",
        code: 0,
      });
    }
    expect((await sim.control.exec(":put [/disk get a1 comment]")).output).toBe("\r\n");
    expect(await attempt(sim, "/disk set a1 comment=x")).toEqual({ stdout: "", code: 0 });
    expect((await sim.control.exec(":put [/disk get a1 comment]")).output).toBe("x\r\n");
    const log = await sim.control.commands();
    expect(log.map((e) => [e.ran, e.outcome])).toEqual([
      [false, "fault"],
      [false, "fault"],
      [true, "ok"],
    ]);
  });

  it("delay holds the reply past a client timeout, then the command still completes", async () => {
    await sim.control.addFault({ match: "comment=late", action: "delay", ms: 2500, times: 1 });
    const pending = attempt(sim, "/disk set a1 comment=late");
    const early = await Promise.race([pending, new Promise((r) => setTimeout(() => r("timeout"), 500))]);
    expect(early).toBe("timeout");
    expect((await sim.control.exec(":put [/disk get a1 comment]")).output).not.toBe("late\r\n");
    expect(await pending).toEqual({ stdout: "", code: 0 });
    expect((await sim.control.exec(":put [/disk get a1 comment]")).output).toBe("late\r\n");
  });

  it("delay-reply runs at once and answers late", async () => {
    await sim.control.addFault({ match: "comment=first", action: "delay-reply", ms: 2500, times: 1 });
    const pending = attempt(sim, "/disk set a1 comment=first");
    const early = await Promise.race([pending, new Promise((r) => setTimeout(() => r("timeout"), 500))]);
    expect(early).toBe("timeout");
    expect((await sim.control.exec(":put [/disk get a1 comment]")).output).toBe("first\r\n");
    expect(await pending).toEqual({ stdout: "", code: 0 });
  });

  it("reports a full pool and refuses new disks and subvolumes until it is cleared", async () => {
    await sim.control.poolFull(true);
    try {
      const pool = (await sshExec(sim, '/disk print detail where mount-point="raid1"')).stdout;
      expect(pool).toContain(" free=0 use=100% ");
      expect((await sshExec(sim, "/disk add type=file file-path=raid1/f/full.img file-size=1M")).stdout).toBe(
        "failure: not enough space on disk\r\n",
      );
      expect((await sshExec(sim, "/disk/btrfs/subvolume/add fs=raid1 name=full")).stdout).toBe(
        "failure: not enough space on disk\r\n",
      );
    } finally {
      await sim.control.poolFull(false);
    }
    const pool = (await sshExec(sim, ':put [/disk get [find mount-point="raid1"] free]')).stdout;
    expect(BigInt(pool.trim())).toBeGreaterThan(0n);
  });

  it("refuses malformed fault rules with a readable error", async () => {
    await expect(sim.control.addFault({ match: "x", action: "delay" })).rejects.toThrow(/delay needs ms/);
    await expect(sim.control.addFault({ match: "(", action: "drop-before" })).rejects.toThrow(
      /regular expression/,
    );
  });
});
