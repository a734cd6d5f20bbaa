import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { CommandHelper } from "../../src/sim/backend/helper.js";
import { HELPER_PROGRAM } from "../../src/sim/backend/helper-program.js";
import { CommandFailed, run, useCommandHelper } from "../../src/sim/backend/run.js";
import { subvolumeInfo } from "../../src/sim/backend/subvolume-info.js";

/*
 * The emulator's command helper (src/sim/backend/helper.ts): a long-lived Perl process that starts
 * the emulator's tools and reads subvolume records. Real processes throughout; its failures are made
 * for real (SIGKILL, SIGSTOP, a program that answers garbage or does not start) and must never change
 * what the caller sees, except that a change in flight when the helper dies fails as killed.
 */

const exec = promisify(execFile);
let dir: string;
const helpers: CommandHelper[] = [];

function helper(options: ConstructorParameters<typeof CommandHelper>[0] = {}): CommandHelper {
  const h = new CommandHelper(options);
  helpers.push(h);
  useCommandHelper(h);
  return h;
}

/** What `run` gives, as a comparable value: its output or its error. */
async function outcome(file: string, args: string[], repeatable = false): Promise<unknown> {
  try {
    return { out: await run(file, args, { repeatable }) };
  } catch (e) {
    if (!(e instanceof CommandFailed)) throw e;
    return { command: e.command, code: e.code, stderr: e.stderr, message: e.message };
  }
}

/**
 * A shell loop that waits until `file` exists (or its directory is gone: a failed test leaves no
 * waiter behind once afterAll removed it), then runs `then`.
 */
const waitThen = (file: string, then: string) => [
  "-c",
  `while [ ! -e '${file}' ] && [ -d '${path.dirname(file)}' ]; do sleep 0.02; done; ${then}`,
];
/** Waits until `file` exists, then prints `said`. */
const waitFor = (file: string, said: string) => waitThen(file, `printf '%s' '${said}'`);

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Resolves once `pid` is gone (reaped); the test's own timeout bounds it. */
async function gone(pid: number): Promise<void> {
  while (alive(pid)) await new Promise((r) => setTimeout(r, 20));
}

/** Resolves once `h` runs a helper other than `pid`. */
async function replaced(h: CommandHelper, pid: number): Promise<void> {
  while (h.pid === undefined || h.pid === pid) await new Promise((r) => setTimeout(r, 20));
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "rds-helper-"));
});

afterEach(async () => {
  useCommandHelper(undefined);
  for (const h of helpers.splice(0)) await h.close();
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("command helper: what the caller sees", () => {
  const cases: Array<[string, string[]]> = [
    ["printf", ["%s|%s", "a b", "ü\n\"'$x"]],
    ["sh", ["-c", "printf out; printf 'err\\n' >&2"]],
    ["sh", ["-c", "printf 'no good' >&2; exit 3"]],
    ["sh", ["-c", "kill -9 $$"]],
    ["no-such-tool-here", ["x"]],
    ["true", [""]],
  ];

  it("gives the same output and the same errors as starting the tool directly", async () => {
    const direct = [];
    for (const [file, args] of cases) direct.push(await outcome(file, args));
    const h = helper();
    const through = [];
    for (const [file, args] of cases) through.push(await outcome(file, args));
    expect(through).toEqual(direct);
    expect(direct[0]).toEqual({ out: "a b|ü\n\"'$x" });
    expect(direct[2]).toMatchObject({ code: 3, stderr: "no good" });
    expect(direct[3]).toMatchObject({ code: null });
    expect(direct[4]).toMatchObject({ stderr: expect.stringMatching(/not found/) });
    expect(h.starts).toBe(1);
  });

  it("runs commands side by side: one waiting for another does not hold it up", async () => {
    helper();
    const flag = path.join(dir, "side-by-side");
    const first = run("sh", waitFor(flag, "first"));
    const second = run("sh", ["-c", `: > '${flag}'; printf second`]);
    expect(await Promise.all([first, second])).toEqual(["first", "second"]);
  });

  it("carries large outputs whole", async () => {
    helper();
    const out = await run("sh", ["-c", "i=0; while [ $i -lt 40000 ]; do echo line $i; i=$((i+1)); done"]);
    const lines = out.trimEnd().split("\n");
    expect(lines).toHaveLength(40_000);
    expect(lines[39_999]).toBe("line 39999");
  });

  it("reads no subvolume at a plain directory or a missing path", async () => {
    helper();
    expect(await subvolumeInfo(dir)).toBeNull();
    expect(await subvolumeInfo(path.join(dir, "missing"))).toBeNull();
  });
});

describe("command helper: failures", () => {
  it("dies: a read in flight runs again on a fresh helper, a change in flight fails as killed", async () => {
    const h = helper();
    const flag = path.join(dir, "dies");
    // The read says which process started it: the fresh helper, not this process.
    const read = run("sh", waitThen(flag, "printf '%s' $PPID"), {
      repeatable: true,
    });
    const change = outcome("sh", waitFor(flag, "change"));
    await h.ping();
    const first = h.pid as number;
    process.kill(first, "SIGKILL");
    await replaced(h, first);
    await writeFile(flag, "");
    expect(await read).toBe(String(h.pid));
    expect(h.pid).not.toBe(first);
    expect(await change).toMatchObject({
      code: null,
      stderr: expect.stringMatching(/outcome unknown.*SIGKILL/),
    });
    expect(await run("printf", ["after"])).toBe("after");
    expect(h.starts).toBe(2);
    expect(h.unavailableReason).toBeUndefined();
  });

  it("hangs: a helper silent past the bound is killed and replaced, and the read in flight is answered", async () => {
    const h = helper({ hangMs: 1_000 });
    await h.ping();
    const first = h.pid as number;
    process.kill(first, "SIGSTOP");
    try {
      expect(await run("printf", ["%s", "answered"], { repeatable: true })).toBe("answered");
      await gone(first);
    } finally {
      if (alive(first)) process.kill(first, "SIGKILL");
    }
    expect(h.starts).toBeGreaterThanOrEqual(2);
  });

  it("a slow command is not a hang: the helper answers pings while it runs", async () => {
    const h = helper({ hangMs: 2_000 });
    expect(await run("sh", ["-c", "sleep 5; printf slow"])).toBe("slow");
    expect(h.starts).toBe(1);
  });

  it("answers garbage: killed, restarted, and given up after repeated failures; tools still run", async () => {
    const pids: number[] = [];
    const h = helper({ program: '$| = 1; print "hello there\\n"; sleep 60', maxStartFailures: 2 });
    const answered = run("printf", ["still"], { repeatable: true });
    pids.push(h.pid as number);
    expect(await answered).toBe("still");
    expect(h.unavailableReason).toMatch(/garbage: "hello there/);
    expect(h.starts).toBe(2);
    for (const pid of pids) await gone(pid);
    expect(await run("printf", ["direct"])).toBe("direct");
    expect(await subvolumeInfo(dir)).toBeUndefined();
  });

  it("answers garbage after good answers: restarted (not given up), the read is still answered", async () => {
    // The real program, except that only its pongs have a well-formed header.
    const program = HELPER_PROGRAM.replace('"R $id $kind', '($kind eq "pong" ? "R" : "?") . " $id $kind');
    expect(program).not.toBe(HELPER_PROGRAM);
    const h = helper({ program, maxStartFailures: 2 });
    await h.ping();
    expect(await run("printf", ["%s", "0123456789"], { repeatable: true })).toBe("0123456789");
    expect(h.starts).toBe(2);
    expect(h.unavailableReason).toBeUndefined();
  });

  it("does not start: the emulator goes on without it", async () => {
    const h = helper({ program: "exit 7", maxStartFailures: 3 });
    h.start();
    expect(await run("printf", ["%s", "without"], { repeatable: true })).toBe("without");
    // A change sent to a helper that then failed to start may have run: it says so.
    let change: unknown;
    while (h.unavailableReason === undefined) change = await outcome("printf", ["x"]);
    expect(h.unavailableReason).toMatch(/3 times in a row.*exited with 7/);
    if (change !== undefined && "code" in (change as object))
      expect(change).toMatchObject({ code: null, stderr: expect.stringMatching(/outcome unknown/) });
    expect(await run("printf", ["%s", "direct"])).toBe("direct");
  });

  it("is closed: commands are started directly again once it is uninstalled", async () => {
    const h = helper();
    const flag = path.join(dir, "closed");
    const change = outcome("sh", waitFor(flag, "change"));
    await h.ping();
    const pid = h.pid as number;
    useCommandHelper(undefined);
    await h.close();
    expect(alive(pid)).toBe(false);
    // A change in flight may have run: it is not started again, it says its outcome is unknown.
    expect(await change).toMatchObject({
      code: null,
      stderr: expect.stringMatching(/outcome unknown.*closed/),
    });
    await writeFile(flag, "");
    await expect(h.ping()).rejects.toThrow(/not available: closed/);
    expect(await run("printf", ["%s", "direct"])).toBe("direct");
  });
});

describe("command helper: subvolume records", () => {
  let image: string;
  let mnt: string;
  let device: string | undefined;
  let mounted = false;

  beforeAll(async () => {
    image = path.join(dir, "pool.img");
    mnt = path.join(dir, "mnt");
    await writeFile(image, "");
    await truncate(image, 128 * 1024 * 1024);
    await exec("mkfs.btrfs", ["-q", "-f", image]);
    device = (await exec("losetup", ["-f", "--show", image])).stdout.trim();
    await exec("mkdir", ["-p", mnt]);
    await exec("mount", ["-t", "btrfs", device, mnt]);
    mounted = true;
  });

  afterAll(async () => {
    if (mounted) await exec("umount", [mnt]).catch(() => exec("umount", ["-l", mnt]));
    if (device) await exec("losetup", ["-d", device]).catch(() => undefined);
  });

  /** `btrfs subvolume show`'s fields. */
  async function show(at: string): Promise<Record<string, string>> {
    const text = (await exec("btrfs", ["subvolume", "show", at])).stdout;
    const fields: Record<string, string> = {};
    for (const m of text.matchAll(/^\s*([A-Za-z ]+):\s*(.*)$/gm))
      fields[m[1] as string] = (m[2] as string).trim();
    return fields;
  }

  it("reads a subvolume's and a read-only snapshot's record as `btrfs subvolume show` does", async () => {
    helper();
    const vol = path.join(mnt, "vol");
    const snap = path.join(mnt, "snap");
    await run("btrfs", ["subvolume", "create", vol]);
    await run("btrfs", ["subvolume", "snapshot", "-r", vol, snap]);
    for (const at of [vol, snap]) {
      const [info, fields] = [await subvolumeInfo(at), await show(at)];
      const dash = (u: string | undefined) => u ?? "-";
      expect(info).toMatchObject({
        id: Number(fields["Subvolume ID"]),
        topLevel: Number(fields["Top level ID"]),
        generation: BigInt(fields.Generation as string),
        uuid: fields.UUID,
        readOnly: /readonly/.test(fields.Flags as string),
      });
      expect(dash(info?.parentUuid)).toBe(fields["Parent UUID"]);
      expect(dash(info?.receivedUuid)).toBe(fields["Received UUID"]);
    }
    expect((await subvolumeInfo(snap))?.readOnly).toBe(true);
    expect((await subvolumeInfo(vol))?.readOnly).toBe(false);
    // A directory inside a subvolume is not a subvolume.
    await exec("mkdir", [path.join(vol, "dir")]);
    expect(await subvolumeInfo(path.join(vol, "dir"))).toBeNull();
    expect(existsSync(snap)).toBe(true);
  });
});
