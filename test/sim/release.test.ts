import { execFile, spawn } from "node:child_process";
import { mkdir, mkdtemp, open, readFile, rm, truncate } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { detachWithin, isMounted, ReleaseError, unmountWithin } from "../../src/sim/backend/release.js";

/*
 * Stopping the emulator gives the pool back to the kernel in bounded time: a busy mount and a loop
 * device that something still holds open are waited for, and what is left after the bound is named.
 * Real loop devices and mounts; everything made here is released in afterEach/afterAll.
 */

const exec = promisify(execFile);
let dir: string;
const attached: string[] = [];
const mounted: string[] = [];

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "rds-release-"));
});

afterEach(async () => {
  for (const target of mounted.splice(0)) await exec("umount", ["-l", target]).catch(() => undefined);
  for (const device of attached.splice(0)) await exec("losetup", ["-d", device]).catch(() => undefined);
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function attachImage(name: string): Promise<{ image: string; device: string }> {
  const image = path.join(dir, name);
  await open(image, "w").then((h) => h.close());
  await truncate(image, 16 * 1024 * 1024);
  const device = (await exec("losetup", ["-f", "--show", image])).stdout.trim();
  attached.push(device);
  return { image, device };
}

const backing = (device: string) =>
  readFile(`/sys/block/${path.basename(device)}/loop/backing_file`, "utf8").then(
    (s) => s.trim(),
    () => undefined,
  );

describe("detachWithin", () => {
  it("waits for the kernel to release a device that is still open, then returns", async () => {
    const { image, device } = await attachImage("held.img");
    const holder = await open(device, "r");
    const letGo = setTimeout(() => void holder.close(), 300);
    try {
      await detachWithin(device, image, { timeoutMs: 10_000 });
      expect(await backing(device)).not.toBe(image);
    } finally {
      clearTimeout(letGo);
      await holder.close().catch(() => undefined);
    }
  });

  it("names the device and the image when it is still held after the bound", async () => {
    const { image, device } = await attachImage("stuck.img");
    const holder = await open(device, "r");
    try {
      const failure = detachWithin(device, image, { timeoutMs: 300 });
      await expect(failure).rejects.toBeInstanceOf(ReleaseError);
      await expect(failure).rejects.toThrow(`${device} is still attached to ${image}`);
      expect(await backing(device)).toBe(image);
    } finally {
      await holder.close();
    }
    // The deferred detach completes once the last opener is gone.
    await detachWithin(device, image, { timeoutMs: 10_000 });
    expect(await backing(device)).not.toBe(image);
  });

  it("returns at once for a device that is not attached to the image", async () => {
    await detachWithin("/dev/loop0", path.join(dir, "never-attached.img"), { timeoutMs: 1 });
  });
});

describe("unmountWithin", () => {
  it("retries a busy unmount until the filesystem is free", async () => {
    const target = path.join(dir, "busy");
    await mkdir(target);
    await exec("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", target]);
    mounted.push(target);
    const holder = spawn("sleep", ["30"], { cwd: target, stdio: "ignore" });
    const letGo = setTimeout(() => holder.kill("SIGKILL"), 300);
    try {
      await unmountWithin(target, { timeoutMs: 10_000 });
      expect(await isMounted(target)).toBe(false);
    } finally {
      clearTimeout(letGo);
      holder.kill("SIGKILL");
    }
  });

  it("says what is still mounted after the bound", async () => {
    const target = path.join(dir, "stuck");
    await mkdir(target);
    await exec("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", target]);
    mounted.push(target);
    const holder = spawn("sleep", ["30"], { cwd: target, stdio: "ignore" });
    try {
      await expect(unmountWithin(target, { timeoutMs: 300 })).rejects.toThrow(
        new RegExp(`${target} is still mounted after 300 ms: .*busy`),
      );
      expect(await isMounted(target)).toBe(true);
    } finally {
      holder.kill("SIGKILL");
    }
  });
});
