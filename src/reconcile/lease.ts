import { hostname } from "node:os";
import type { CoordinationV1Api, V1Lease } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { defaultKubeConfig, type KubeSource, loadKubernetesClient } from "./kubernetes.js";

/**
 * Leader election over a coordination.k8s.io Lease, as the CSI sidecars (client-go) do it, so the
 * orphan reconciler runs in one controller only — also while a rolling update overlaps two.
 *
 * The rules follow client-go's: a holder renews the Lease every retry period; another candidate
 * takes it only when it has not seen the Lease change for a whole lease duration, measured on its
 * own clock (so clock skew between nodes does not matter); every write carries the resourceVersion
 * it read, so of two candidates writing at once the API server accepts one. A holder that could not
 * renew for the renew deadline (shorter than the lease duration) stops counting itself leader
 * before anyone else may take over. Stopping releases the Lease so a successor need not wait.
 */

export interface LeaseOptions {
  /** Lease name; one per driver instance (several drivers in a cluster each elect their own). */
  name: string;
  namespace: string;
  /** This candidate's name in `holderIdentity`; default: host (pod) name and a random suffix. */
  identity?: string;
  /** How long a Lease not renewed stays with its holder. Default 15 s (client-go's). */
  leaseDurationMs?: number;
  /** A holder that could not renew for this long gives up leading. Default 10 s. */
  renewDeadlineMs?: number;
  /** Time between attempts to acquire or renew. Default 2 s. */
  retryPeriodMs?: number;
}

export interface Leadership {
  /** True while this process holds the Lease (checked against the renew deadline, not only the last answer). */
  isLeader(): boolean;
  readonly identity: string;
  /** Stops renewing and releases the Lease if held. */
  stop(): Promise<void>;
}

/** What one look at the Lease showed, with when it was seen to change (on this process's clock). */
interface Observed {
  holder: string;
  resourceVersion: string;
  changedAt: number;
}

export function defaultLeaseIdentity(): string {
  return `${hostname()}_${Math.random().toString(36).slice(2, 10)}`;
}

/**
 * A Lease name for a driver: DNS-1123 (the driver name's dots become dashes) so two driver
 * instances in one namespace never share a Lease.
 */
export function leaseNameFor(driverName: string, loop = "reconciler"): string {
  const base = driverName.toLowerCase().replace(/[^a-z0-9-]+/g, "-");
  return `${base}-${loop}`.replace(/^-+/, "").slice(0, 253);
}

export async function startLeaderElection(
  kube: KubeSource,
  options: LeaseOptions,
  events: { logger: Logger; onChange?: (leader: boolean) => void; clock?: () => number },
): Promise<Leadership> {
  // Loaded when the reconciler starts, so processes that never talk to Kubernetes do not pay for it.
  const k8s = await loadKubernetesClient();
  const config = kube === undefined ? defaultKubeConfig(k8s) : typeof kube === "function" ? kube() : kube;
  const api = config.makeApiClient(k8s.CoordinationV1Api);
  const elector = new LeaseElector(
    { api, ApiException: k8s.ApiException, MicroTime: k8s.V1MicroTime },
    options,
    events,
  );
  elector.start();
  return elector;
}

/** The parts of the Kubernetes client the elector uses (the module is imported lazily). */
interface LeaseClient {
  api: CoordinationV1Api;
  ApiException: new (...args: never[]) => { code: number };
  /** Serialises as RFC 3339 with microseconds, as Lease times are written. */
  MicroTime: new (
    ms: number,
  ) => Date;
}

const DEFAULTS = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };

class LeaseElector implements Leadership {
  readonly identity: string;
  readonly #o: Required<Omit<LeaseOptions, "identity">>;
  readonly #clock: () => number;
  #observed: Observed | undefined;
  /** When this process last wrote the Lease as its holder; undefined while not leading. */
  #renewedAt: number | undefined;
  #wasLeader = false;
  #timer: NodeJS.Timeout | undefined;
  #attempt: Promise<void> | undefined;
  #stopped = false;

  readonly #api: CoordinationV1Api;
  readonly #k8s: LeaseClient;

  constructor(
    client: LeaseClient,
    options: LeaseOptions,
    private readonly events: { logger: Logger; onChange?: (leader: boolean) => void; clock?: () => number },
  ) {
    this.#api = client.api;
    this.#k8s = client;
    this.identity = options.identity ?? defaultLeaseIdentity();
    this.#o = { ...DEFAULTS, ...withoutUndefined(options) } as Required<Omit<LeaseOptions, "identity">>;
    if (
      !(this.#o.renewDeadlineMs < this.#o.leaseDurationMs) ||
      !(this.#o.retryPeriodMs < this.#o.renewDeadlineMs)
    ) {
      throw new Error("lease timing: need retry period < renew deadline < lease duration");
    }
    this.#clock = events.clock ?? Date.now;
  }

  isLeader(): boolean {
    return this.#renewedAt !== undefined && this.#clock() - this.#renewedAt < this.#o.renewDeadlineMs;
  }

  start(): void {
    const tick = () => {
      if (this.#stopped) return;
      // A request the API server never answers must not stop the loop: leadership lapses by itself.
      this.#attempt = withTimeout(this.#tryAcquireOrRenew(), this.#o.renewDeadlineMs)
        .catch((err: unknown) => this.events.logger.warn({ err: describe(err) }, "lease: attempt failed"))
        .finally(() => {
          this.#report();
          if (!this.#stopped) this.#timer = setTimeout(tick, this.#o.retryPeriodMs).unref();
        });
    };
    tick();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#attempt;
    if (this.isLeader()) await withTimeout(this.#release(), this.#o.renewDeadlineMs).catch(() => {});
    this.#renewedAt = undefined;
    this.#report();
  }

  async #tryAcquireOrRenew(): Promise<void> {
    const now = this.#clock();
    const lease = await this.#read();
    if (lease === undefined) {
      await this.#write(() =>
        this.#api.createNamespacedLease({ namespace: this.#o.namespace, body: this.#body(now) }),
      );
      return;
    }
    const holder = lease.spec?.holderIdentity ?? "";
    const resourceVersion = lease.metadata?.resourceVersion ?? "";
    if (this.#observed?.resourceVersion !== resourceVersion) {
      this.#observed = { holder, resourceVersion, changedAt: now };
    }
    const held = holder !== "" && holder !== this.identity;
    if (held && now - this.#observed.changedAt < this.#o.leaseDurationMs) {
      this.#renewedAt = undefined;
      return;
    }
    const transitions = (lease.spec?.leaseTransitions ?? 0) + (holder === this.identity ? 0 : 1);
    const body = this.#body(now, lease, transitions);
    await this.#write(() =>
      this.#api.replaceNamespacedLease({ name: this.#o.name, namespace: this.#o.namespace, body }),
    );
  }

  async #read(): Promise<V1Lease | undefined> {
    try {
      return await this.#api.readNamespacedLease({ name: this.#o.name, namespace: this.#o.namespace });
    } catch (err) {
      if (err instanceof this.#k8s.ApiException && err.code === 404) return undefined;
      throw err;
    }
  }

  /** One write; a conflict (another candidate wrote first) just means "not this time". */
  async #write(request: () => Promise<V1Lease>): Promise<void> {
    const before = this.#clock();
    try {
      const written = await request();
      this.#renewedAt = before;
      this.#observed = {
        holder: this.identity,
        resourceVersion: written.metadata?.resourceVersion ?? "",
        changedAt: before,
      };
    } catch (err) {
      if (err instanceof this.#k8s.ApiException && (err.code === 409 || err.code === 422)) {
        this.#renewedAt = undefined;
        return;
      }
      throw err;
    }
  }

  #body(now: number, current?: V1Lease, transitions = 0): V1Lease {
    const keep = current?.spec?.holderIdentity === this.identity && current.spec.acquireTime;
    return {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: {
        name: this.#o.name,
        namespace: this.#o.namespace,
        ...(current?.metadata?.resourceVersion ? { resourceVersion: current.metadata.resourceVersion } : {}),
      },
      spec: {
        holderIdentity: this.identity,
        leaseDurationSeconds: Math.ceil(this.#o.leaseDurationMs / 1000),
        acquireTime: keep ? current.spec!.acquireTime! : new this.#k8s.MicroTime(now),
        renewTime: new this.#k8s.MicroTime(now),
        leaseTransitions: transitions,
      },
    };
  }

  /** Gives the Lease up (empty holder, as client-go's ReleaseOnCancel), if this process still holds it. */
  async #release(): Promise<void> {
    const lease = await this.#read();
    if (lease?.spec?.holderIdentity !== this.identity) return;
    const body: V1Lease = {
      ...lease,
      spec: { ...lease.spec, holderIdentity: "", leaseDurationSeconds: 1 },
    };
    await this.#api.replaceNamespacedLease({ name: this.#o.name, namespace: this.#o.namespace, body });
    this.events.logger.info({ lease: this.#o.name }, "lease released");
  }

  #report(): void {
    const leader = this.isLeader();
    if (leader === this.#wasLeader) return;
    this.#wasLeader = leader;
    this.events.logger.info(
      { lease: `${this.#o.namespace}/${this.#o.name}`, identity: this.identity },
      leader ? "lease acquired: this controller runs the reconciler" : "lease lost or released",
    );
    this.events.onChange?.(leader);
  }
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

function withoutUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function describe(err: unknown): string {
  if (err && typeof err === "object" && "code" in err)
    return `HTTP ${String((err as { code: unknown }).code)}`;
  return err instanceof Error ? err.message : String(err);
}
