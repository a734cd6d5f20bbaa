import { Option } from "commander";
import * as v from "valibot";
import {
  boolish,
  configProblems,
  duration,
  durationOr,
  intIn,
  matching,
  nonEmpty,
  oneOf,
  text,
  tooLong,
} from "./config-values.js";
import { LOG_LEVELS } from "./log.js";
import type { RdsConnectionOptions } from "./rds/index.js";
import { DRIVER_NAME } from "./version.js";

/**
 * Driver configuration: every flag also reads an environment variable (the Helm chart sets env,
 * never secrets on the command line). Parsed by commander, validated here (valibot, with the value
 * kinds of config-values.ts) so a bad value stops the process at start with a readable message.
 */

const safeName = matching(
  /^[A-Za-z0-9][A-Za-z0-9._-]*$/,
  "letters, digits, '.', '_' and '-' only, starting with a letter or digit",
);
const pathComponents = matching(
  /^[a-z0-9][a-z0-9._-]*(\/[a-z0-9][a-z0-9._-]*)*$/,
  "relative path of lower-case components",
);
/** A duration, or `forever` (also -1, nvme-cli's own spelling), returned as -1. */
const durationOrForever = durationOr({ forever: -1, "-1": -1 });

const POOL_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/**
 * `--rds-pools`: the pools served besides `--rds-pool`, comma-separated, each `name` or
 * `name:fs-label` (the label defaults to the name, as for the default pool).
 */
const extraPools = v.pipe(
  text(),
  v.rawTransform(({ dataset, addIssue, NEVER }) => {
    const pools: { pool: string; fsLabel: string }[] = [];
    for (const entry of dataset.value
      .split(",")
      .map((e) => e.trim())
      .filter((e) => e !== "")) {
      const [pool = "", fsLabel = pool, ...rest] = entry.split(":");
      if (rest.length > 0 || !POOL_NAME.test(pool) || !POOL_NAME.test(fsLabel)) {
        addIssue({ message: `not a pool (name or name:fs-label): ${entry}` });
        return NEVER;
      }
      if (pools.some((p) => p.pool === pool)) {
        addIssue({ message: `pool ${pool} is listed twice` });
        return NEVER;
      }
      pools.push({ pool, fsLabel });
    }
    return pools;
  }),
);

export const commonSchema = v.object({
  endpoint: nonEmpty,
  logLevel: oneOf(LOG_LEVELS),
  metricsAddress: text(),
  driverName: matching(/^[a-zA-Z][A-Za-z0-9.\-_]{0,61}[a-zA-Z]$/, "not a valid CSI driver name"),
});

export const controllerSchema = v.object({
  rdsAddress: text("is required (or env RDS_ADDRESS)"),
  rdsPort: intIn(1, 65535),
  rdsUser: safeName,
  rdsKeyFile: nonEmpty,
  rdsKeyPassphraseFile: v.optional(text()),
  rdsHostKeyFingerprint: v.optional(
    matching(/^SHA256:[A-Za-z0-9+/]{43}=?$/, "expected SHA256:<base64> as printed by ssh-keygen -lf"),
  ),
  rdsKnownHostsFile: v.optional(text()),
  rdsInsecureSkipHostKeyCheck: boolish,
  rdsMaxChannels: intIn(1, 16),
  rdsCommandTimeout: duration,
  rdsChannelWaitTimeout: duration,
  rdsPool: safeName,
  rdsFsLabel: v.optional(safeName),
  rdsPools: extraPools,
  rdsRoot: pathComponents,
  nvmeAddress: v.optional(text()),
  nvmePort: intIn(1, 65535),
  nqnPrefix: matching(/^nqn\.\d{4}-\d{2}\.[a-z0-9.-]+(:[A-Za-z0-9._-]+)*$/, "not an NQN prefix"),
  maxSnapshotsPerVolume: intIn(0, 100_000),
  /** The nodes' attach limit (node option --max-volumes-per-node), enforced on ControllerPublishVolume. */
  maxVolumesPerNode: intIn(0, 10_000),
  rdsAllowHostList: boolish,
  exportFencing: boolish,
  nodeTransport: oneOf(["nvme-tcp", "loop"]),
  loopPoolPath: v.optional(text()),
  reconcileInterval: duration,
  reconcileDryRun: boolish,
  reconcileGracePeriod: duration,
  reconcilePasses: intIn(1, 100),
  reconcileLeaderElection: boolish,
  reconcileLeaseName: v.optional(
    matching(
      /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/,
      "a Kubernetes object name (lower case, digits, '-', '.')",
    ),
  ),
  reconcileLeaseNamespace: v.optional(
    matching(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, "a Kubernetes namespace name"),
  ),
  snapshotScheduleInterval: duration,
  snapshotScheduleLeaderElection: boolish,
  /** "auto" or milliseconds; see `lateCommandWindowMs`. */
  lateCommandWindow: durationOr({ auto: "auto" as const }),
  /** Serve the read-only lineage page on the metrics address (`src/lineage`). */
  lineagePage: boolish,
  /** The page also reads PV and VolumeSnapshotContent names from the cluster. */
  lineageKubernetes: boolish,
});

/** The window a late RouterOS command can still arrive in, for the auto setting: ten command timeouts. */
export const LATE_WINDOW_TIMEOUTS = 10;

/**
 * How long after a delete a command the driver gave up on may still run on the RDS, in ms; 0 turns
 * the delete marks and their sweep off.
 */
export function lateCommandWindowMs(
  c: Pick<ControllerConfig, "lateCommandWindow" | "rdsCommandTimeout">,
): number {
  return c.lateCommandWindow === "auto" ? LATE_WINDOW_TIMEOUTS * c.rdsCommandTimeout : c.lateCommandWindow;
}

export const nodeSchema = v.object({
  nodeId: v.pipe(text("is required (or env NODE_ID)"), v.maxLength(128, tooLong(128))),
  maxVolumesPerNode: intIn(0, 10_000),
  hostNqn: v.optional(text()),
  hostNqnFile: nonEmpty,
  nvmeCtrlLossTimeout: durationOrForever,
  nvmeReconnectDelay: duration,
});

export type CommonConfig = v.InferOutput<typeof commonSchema>;
export type ControllerConfig = v.InferOutput<typeof controllerSchema>;
export type NodeConfig = v.InferOutput<typeof nodeSchema>;

const opt = (flags: string, description: string, env: string, def?: string | boolean) => {
  const o = new Option(flags, description).env(env);
  return def === undefined ? o : o.default(def);
};

export function commonOptions(): Option[] {
  return [
    opt(
      "--endpoint <url>",
      "CSI endpoint: unix:///path/csi.sock, or tcp://host:port for debugging",
      "CSI_ENDPOINT",
      "unix:///csi/csi.sock",
    ),
    opt("--log-level <level>", `log level: ${LOG_LEVELS.join(", ")}`, "LOG_LEVEL", "info"),
    opt(
      "--metrics-address <host:port>",
      "serve /metrics, /healthz and /readyz here; empty disables",
      "METRICS_ADDRESS",
      "",
    ),
    opt("--driver-name <name>", "CSI driver name", "DRIVER_NAME", DRIVER_NAME),
    opt(
      "--max-volumes-per-node <n>",
      "volumes one node may attach: the node reports it, the controller refuses a publish beyond it (0 = no limit; give both the same value)",
      "MAX_VOLUMES_PER_NODE",
      "0",
    ),
  ];
}

export function controllerOptions(): Option[] {
  return [
    opt("--rds-address <host>", "RDS management address (SSH)", "RDS_ADDRESS"),
    opt("--rds-port <port>", "RDS SSH port", "RDS_PORT", "22"),
    opt("--rds-user <user>", "RouterOS user", "RDS_USER", "admin"),
    opt(
      "--rds-key-file <path>",
      "SSH private key (ed25519 or rsa), e.g. a Secret mount",
      "RDS_KEY_FILE",
      "/etc/rds-csi/ssh/ssh-privatekey",
    ),
    opt("--rds-key-passphrase-file <path>", "file holding the key's passphrase", "RDS_KEY_PASSPHRASE_FILE"),
    opt(
      "--rds-host-key-fingerprint <fp>",
      "pinned RDS host key, SHA256:<base64>",
      "RDS_HOST_KEY_FINGERPRINT",
    ),
    opt(
      "--rds-known-hosts-file <path>",
      "OpenSSH known_hosts file holding the RDS host key",
      "RDS_KNOWN_HOSTS_FILE",
    ),
    opt(
      "--rds-insecure-skip-host-key-check [bool]",
      "accept any host key (unsafe; logged)",
      "RDS_INSECURE_SKIP_HOST_KEY_CHECK",
      "false",
    ),
    opt(
      "--rds-max-channels <n>",
      "concurrent SSH exec channels (RouterOS allows 20 sessions)",
      "RDS_MAX_CHANNELS",
      "4",
    ),
    opt(
      "--rds-command-timeout <duration>",
      "upper bound for one RouterOS command",
      "RDS_COMMAND_TIMEOUT",
      "30s",
    ),
    opt(
      "--rds-channel-wait-timeout <duration>",
      "how long a call without a gRPC deadline waits for a free SSH channel; nothing is sent before one is free, so giving up is safe to retry (a deadline bounds the wait instead)",
      "RDS_CHANNEL_WAIT_TIMEOUT",
      "60s",
    ),
    opt("--rds-pool <name>", "mount-point of the Btrfs pool disk on the RDS", "RDS_POOL", "raid1"),
    opt("--rds-fs-label <label>", "Btrfs filesystem label (defaults to the pool name)", "RDS_FS_LABEL"),
    opt(
      "--rds-pools <list>",
      "more pools to serve, comma-separated name or name:fs-label; a StorageClass picks one with its pool parameter",
      "RDS_POOLS",
      "",
    ),
    opt(
      "--rds-root <dir>",
      "directory under the pool that holds this driver's volumes and snapshots",
      "RDS_ROOT",
      "rds-csi",
    ),
    opt(
      "--nvme-address <host>",
      "NVMe/TCP address nodes connect to (defaults to --rds-address)",
      "NVME_ADDRESS",
    ),
    opt("--nvme-port <port>", "NVMe/TCP port", "NVME_PORT", "4420"),
    opt(
      "--nqn-prefix <nqn>",
      "NQN prefix; the volume id is appended after ':'",
      "NQN_PREFIX",
      "nqn.2000-02.com.mikrotik:rds-csi",
    ),
    opt(
      "--max-snapshots-per-volume <n>",
      "refuse more snapshots of one volume (0 = no limit)",
      "MAX_SNAPSHOTS_PER_VOLUME",
      "128",
    ),
    opt(
      "--export-fencing [bool]",
      "create volumes exported to no host until ControllerPublishVolume allows a node " +
        "(false: to every host, for clusters without csi-attacher)",
      "EXPORT_FENCING",
      "true",
    ),
    opt(
      "--rds-allow-host-list [bool]",
      "RouterOS takes several comma-separated host NQNs in nvme-tcp-server-allow-host-name " +
        "(needed to publish a MULTI_NODE_MULTI_WRITER block volume to a second node)",
      "RDS_ALLOW_HOST_LIST",
      "false",
    ),
    opt(
      "--node-transport <kind>",
      "how nodes attach volumes: nvme-tcp, or loop for a local emulator",
      "NODE_TRANSPORT",
      "nvme-tcp",
    ),
    opt(
      "--loop-pool-path <path>",
      "host path where the emulator's pool is mounted (loop transport)",
      "LOOP_POOL_PATH",
    ),
    opt(
      "--reconcile-interval <duration>",
      "orphan reconciler period; 0 disables it",
      "RECONCILE_INTERVAL",
      "0",
    ),
    opt(
      "--reconcile-dry-run [bool]",
      "report what the reconciler would do without doing it",
      "RECONCILE_DRY_RUN",
      "true",
    ),
    opt(
      "--reconcile-grace-period <duration>",
      "minimum age before an object can be called orphaned",
      "RECONCILE_GRACE_PERIOD",
      "1h",
    ),
    opt(
      "--reconcile-passes <n>",
      "consecutive passes an object must be seen orphaned",
      "RECONCILE_PASSES",
      "3",
    ),
    opt(
      "--reconcile-leader-election [bool]",
      "run reconciler passes only in the controller holding a coordination.k8s.io Lease",
      "RECONCILE_LEADER_ELECTION",
      "true",
    ),
    opt(
      "--reconcile-lease-name <name>",
      "the reconciler's Lease (default: <driver name with dashes>-reconciler)",
      "RECONCILE_LEASE_NAME",
    ),
    opt(
      "--reconcile-lease-namespace <namespace>",
      "namespace of the Lease (default: the pod's own, else default)",
      "RECONCILE_LEASE_NAMESPACE",
    ),
    opt(
      "--snapshot-schedule-interval <duration>",
      "how often the snapshot schedules (PVC and StorageClass annotations, docs/schedules.md) are " +
        "checked; 0 disables them",
      "SNAPSHOT_SCHEDULE_INTERVAL",
      "0",
    ),
    opt(
      "--snapshot-schedule-leader-election [bool]",
      "run snapshot schedules only in the controller holding a coordination.k8s.io Lease " +
        "(<driver name with dashes>-snapshot-schedules, in --reconcile-lease-namespace)",
      "SNAPSHOT_SCHEDULE_LEADER_ELECTION",
      "true",
    ),
    opt(
      "--late-command-window <duration|auto>",
      "how long after a delete a RouterOS command the driver gave up on may still run; deletes are " +
        "re-checked that long (auto: 10 x --rds-command-timeout; 0 disables)",
      "LATE_COMMAND_WINDOW",
      "auto",
    ),
    opt(
      "--lineage-page [bool]",
      "serve a read-only page of what was made from what (/lineage, /lineage.json) on --metrics-address",
      "LINEAGE_PAGE",
      "false",
    ),
    opt(
      "--lineage-kubernetes [bool]",
      "the lineage page also reads PV, claim, VolumeSnapshot and VolumeSnapshotContent names from the " +
        "cluster (the pod's service account, else $KUBECONFIG)",
      "LINEAGE_KUBERNETES",
      "false",
    ),
  ];
}

export function nodeOptions(): Option[] {
  return [
    opt("--node-id <id>", "this node's id (the Kubernetes node name)", "NODE_ID"),
    opt(
      "--host-nqn <nqn>",
      "the NQN this node presents to the RDS (default: --host-nqn-file, else derived from the node id)",
      "HOST_NQN",
    ),
    opt("--host-nqn-file <path>", "where the host NQN is read from", "HOST_NQN_FILE", "/etc/nvme/hostnqn"),
    opt(
      "--nvme-ctrl-loss-timeout <duration>",
      "how long the kernel keeps reconnecting a lost NVMe/TCP connection before failing I/O; forever never gives up",
      "NVME_CTRL_LOSS_TIMEOUT",
      "30m",
    ),
    opt(
      "--nvme-reconnect-delay <duration>",
      "pause between NVMe/TCP reconnect attempts (whole seconds)",
      "NVME_RECONNECT_DELAY",
      "5s",
    ),
  ];
}

/** Validates raw commander values against a schema; throws one readable message listing every problem. */
export function validateConfig<S extends v.ObjectSchema<v.ObjectEntries, undefined>>(
  schema: S,
  raw: Record<string, unknown>,
): v.InferOutput<S> {
  // A flag without a value and without a default is missing from commander's values; each is
  // checked as undefined, so its message says what it needs rather than that a key is absent.
  const values = Object.fromEntries(Object.keys(schema.entries).map((key) => [key, raw[key]]));
  const result = v.safeParse(schema, values);
  if (result.success) return result.output;
  throw new Error(`invalid configuration:\n${configProblems(result.issues).join("\n")}`);
}

/** Cross-field checks that the schemas above cannot express alone. */
export function checkControllerConfig(c: ControllerConfig): void {
  checkHostKeyConfig(c);
  if (c.rdsPools.some((p) => p.pool === c.rdsPool)) {
    throw new Error(
      `invalid configuration:\n  --rds-pools lists the default pool ${c.rdsPool} (--rds-pool) again`,
    );
  }
  if (c.nodeTransport === "loop" && !c.loopPoolPath) {
    throw new Error("invalid configuration:\n  --node-transport loop needs --loop-pool-path");
  }
}

/** SSH host keys are verified unless the user knowingly turns it off (also `rds-csi doctor`). */
export function checkHostKeyConfig(
  c: Pick<ControllerConfig, "rdsHostKeyFingerprint" | "rdsKnownHostsFile" | "rdsInsecureSkipHostKeyCheck">,
): void {
  const pinned = [c.rdsHostKeyFingerprint, c.rdsKnownHostsFile].filter(Boolean).length;
  if (pinned === 0 && !c.rdsInsecureSkipHostKeyCheck) {
    throw new Error(
      "invalid configuration:\n  the RDS host key must be verified: set --rds-host-key-fingerprint or --rds-known-hosts-file " +
        "(or, knowingly, --rds-insecure-skip-host-key-check)",
    );
  }
}

/** How the controller (and `rds-csi doctor`) reaches the RDS, from the shared flags. */
export function connectionOptionsFor(
  c: Pick<
    ControllerConfig,
    | "rdsHostKeyFingerprint"
    | "rdsKnownHostsFile"
    | "rdsAddress"
    | "rdsPort"
    | "rdsUser"
    | "rdsKeyFile"
    | "rdsKeyPassphraseFile"
    | "rdsCommandTimeout"
  > &
    Partial<Pick<ControllerConfig, "rdsMaxChannels" | "rdsChannelWaitTimeout">>,
): Omit<RdsConnectionOptions, "logger"> {
  const hostKey = c.rdsHostKeyFingerprint
    ? { fingerprint: c.rdsHostKeyFingerprint }
    : c.rdsKnownHostsFile
      ? { knownHostsFile: c.rdsKnownHostsFile }
      : { insecureSkipVerify: true as const };
  return {
    host: c.rdsAddress,
    port: c.rdsPort,
    username: c.rdsUser,
    privateKey: { path: c.rdsKeyFile },
    ...(c.rdsKeyPassphraseFile ? { passphrase: { path: c.rdsKeyPassphraseFile } } : {}),
    hostKey,
    ...(c.rdsMaxChannels === undefined ? {} : { maxChannels: c.rdsMaxChannels }),
    commandTimeoutMs: c.rdsCommandTimeout,
    ...(c.rdsChannelWaitTimeout === undefined ? {} : { channelWaitTimeoutMs: c.rdsChannelWaitTimeout }),
  };
}
