/**
 * Leader election over a Lease, against an HTTP API server that keeps Leases with optimistic
 * concurrency (the real API server is in test/k8s/reconciler.k8s.ts): one holder at a time, a
 * takeover when the holder stops, and passes only in the holder.
 */
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Leadership, startLeaderElection } from "../../src/reconcile/lease.js";
import { type FakeKube, startFakeKube } from "./fake-kube.js";

let kube: FakeKube;
beforeAll(async () => {
  kube = await startFakeKube();
});
afterAll(async () => {
  await kube?.close();
});

const silent = pino({ level: "silent" });
const TIMING = { leaseDurationMs: 3_000, renewDeadlineMs: 2_000, retryPeriodMs: 300 };

/** Polls until `done` holds, checking `invariant` at every look; fails after `looks` looks. */
async function waitFor(done: () => boolean, invariant: () => void, looks = 200): Promise<void> {
  for (let i = 0; i < looks; i++) {
    invariant();
    if (done()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("condition not reached");
}

describe("reconciler lease", () => {
  it("one of two candidates leads; the other takes over when it stops and releases the Lease", async () => {
    const name = "one-leader";
    const changes: string[] = [];
    const start = (identity: string) =>
      startLeaderElection(
        kube.kubeConfig(),
        { name, namespace: "kube-system", identity, ...TIMING },
        { logger: silent, onChange: (leading) => changes.push(`${identity} ${leading}`) },
      );
    const [a, b] = await Promise.all([start("a"), start("b")]);
    const candidates: Leadership[] = [a, b];
    const never2 = () => expect(candidates.filter((c) => c.isLeader()).length).toBeLessThanOrEqual(1);
    try {
      await waitFor(() => candidates.some((c) => c.isLeader()), never2);
      const leader = candidates.find((c) => c.isLeader())!;
      const other = candidates.find((c) => c !== leader)!;
      expect(kube.leases.get(`kube-system/${name}`)?.spec?.holderIdentity).toBe(leader.identity);
      // Several renewals later the leader still leads and the other still waits.
      const renewedFrom = kube.leases.get(`kube-system/${name}`)!.metadata.resourceVersion;
      await waitFor(
        () => kube.leases.get(`kube-system/${name}`)!.metadata.resourceVersion !== renewedFrom,
        never2,
      );
      expect(leader.isLeader()).toBe(true);
      expect(other.isLeader()).toBe(false);

      await leader.stop();
      expect(leader.isLeader()).toBe(false);
      expect(kube.leases.get(`kube-system/${name}`)?.spec?.holderIdentity).toBe("");
      await waitFor(() => other.isLeader(), never2);
      expect(kube.leases.get(`kube-system/${name}`)?.spec).toMatchObject({
        holderIdentity: other.identity,
        leaseTransitions: 1,
        leaseDurationSeconds: 3,
      });
      expect(changes).toEqual([
        `${leader.identity} true`,
        `${leader.identity} false`,
        `${other.identity} true`,
      ]);
    } finally {
      await Promise.all(candidates.map((c) => c.stop()));
    }
  });

  it("a holder that stops renewing without releasing is replaced only after the lease duration", async () => {
    const name = "crashed-holder";
    const key = `kube-system/${name}`;
    // A holder that renewed once and then vanished (a killed pod releases nothing).
    kube.leases.set(key, {
      metadata: { resourceVersion: "crashed-1" },
      spec: { holderIdentity: "gone", leaseDurationSeconds: 3, leaseTransitions: 0 },
    });
    let seenWaiting = false;
    const next = await startLeaderElection(
      kube.kubeConfig(),
      { name, namespace: "kube-system", identity: "next", ...TIMING },
      { logger: silent },
    );
    try {
      await waitFor(
        () => next.isLeader(),
        () => {
          if (!next.isLeader() && kube.leases.get(key)?.spec?.holderIdentity === "gone") seenWaiting = true;
        },
      );
      // It waited while the Lease still named the old holder, then took it over.
      expect(seenWaiting).toBe(true);
      expect(kube.leases.get(key)?.spec).toMatchObject({ holderIdentity: "next", leaseTransitions: 1 });
    } finally {
      await next.stop();
    }
  });
});

describe("reconciler lease with an API server that never answers", () => {
  it("is never leader, keeps trying, and stops within its bounds", async () => {
    const { createServer } = await import("node:net");
    const { KubeConfig } = await import("@kubernetes/client-node");
    const held: import("node:net").Socket[] = [];
    let closing = false;
    // Once the test ends, a connection the client still opens (a retry) is closed at once, so the
    // server can close.
    const server = createServer((socket) => (closing ? socket.destroy() : void held.push(socket)));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as import("node:net").AddressInfo).port;
    const kube = new KubeConfig();
    kube.loadFromOptions({
      clusters: [{ name: "silent", server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
      users: [{ name: "u", token: "t" }],
      contexts: [{ name: "c", cluster: "silent", user: "u" }],
      currentContext: "c",
    });
    const elector = await startLeaderElection(
      kube,
      { name: "silent", namespace: "kube-system", identity: "x", ...TIMING },
      { logger: silent },
    );
    try {
      // Requests keep arriving: the loop goes on after each unanswered one.
      await waitFor(
        () => held.length >= 2,
        () => expect(elector.isLeader()).toBe(false),
      );
    } finally {
      await elector.stop();
      closing = true;
      for (const socket of held) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    expect(elector.isLeader()).toBe(false);
  });
});
