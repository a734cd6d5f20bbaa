import { status } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { CsiError } from "../../../src/csi/errors.js";
import { KeyedLocks } from "../../../src/csi/locks.js";

function deferred() {
  let release!: () => void;
  const promise = new Promise<void>((r) => {
    release = r;
  });
  return { promise, release };
}

describe("KeyedLocks", () => {
  it("answers ABORTED at once for a busy key and lets other keys run in parallel", async () => {
    const locks = new KeyedLocks();
    const gate = deferred();
    const first = locks.withLock("vol-a", async () => {
      await gate.promise;
      return "first";
    });
    await expect(locks.withLock("vol-a", async () => "second")).rejects.toSatisfy(
      (e: unknown) => e instanceof CsiError && e.code === status.ABORTED && e.message.includes("vol-a"),
    );
    await expect(locks.withLock("vol-b", async () => "other")).resolves.toBe("other");
    gate.release();
    await expect(first).resolves.toBe("first");
    expect(locks.size).toBe(0);
  });

  it("releases the key when the operation fails", async () => {
    const locks = new KeyedLocks();
    await expect(
      locks.withLock("k", async () => {
        throw new Error("fail");
      }),
    ).rejects.toThrow("fail");
    expect(locks.isBusy("k")).toBe(false);
    await expect(locks.withLock("k", async () => 1)).resolves.toBe(1);
  });

  it("holds several keys together and refuses if any one is busy, without taking the others", async () => {
    const locks = new KeyedLocks();
    const gate = deferred();
    const holder = locks.withLock("snap-1", () => gate.promise);
    await expect(locks.withLock(["vol-1", "snap-1"], async () => 0)).rejects.toBeInstanceOf(CsiError);
    expect(locks.isBusy("vol-1")).toBe(false);
    gate.release();
    await holder;
    await expect(locks.withLock(["vol-1", "snap-1", "vol-1"], async () => locks.size)).resolves.toBe(2);
  });
});
