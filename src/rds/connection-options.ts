import type { Logger } from "pino";
import ssh2 from "ssh2";
import { z } from "zod";
import type { BackoffOptions } from "./backoff.js";
import { type HostKeyPolicy, normalizeFingerprint } from "./host-key.js";

/** Options of `RdsConnection`; validated at construction so a bad value fails at start-up. */
export interface RdsConnectionOptions {
  host: string;
  /** Default 22. */
  port?: number;
  /** RouterOS user name, without console options. */
  username: string;
  /**
   * RouterOS console options appended to the login name (`admin+cet512w`): no colours, dumb
   * terminal, 512 columns, so print output is not coloured and rarely wrapped. Default `cet512w`.
   */
  loginOptions?: string;
  /** The key itself, or a file read at every connect (a rotated Secret mount is picked up). ed25519 or RSA. */
  privateKey: Buffer | { path: string };
  /** Passphrase of an encrypted key, or a file holding it (read at every connect). */
  passphrase?: string | { path: string };
  /** How the server's host key is verified; `insecureSkipVerify` logs a warning. */
  hostKey: HostKeyPolicy;
  /** Exec channels open at once, over all connections. Default 4; RouterOS allows 20 sessions. */
  maxChannels?: number;
  /**
   * Exec channels one SSH connection carries at once. Whether RouterOS tolerates parallel
   * channels on one connection is not known (reference §6), so the default 1 serialises each
   * connection and opens up to `maxChannels` connections instead.
   */
  channelsPerConnection?: number;
  /** Idle connections run `keepaliveCommand` this often (ms); 0 disables. Default 30 000. */
  keepaliveIntervalMs?: number;
  /** A cheap command that proves the console answers. Default `:put 1`. */
  keepaliveCommand?: string;
  /** Upper bound of one SSH handshake (ms). Default 10 000. */
  connectTimeoutMs?: number;
  /** Timeout of a command when the caller gives no deadline, and upper bound otherwise (ms). Default 30 000. */
  commandTimeoutMs?: number;
  /** Kept free before the caller's deadline so the answer arrives before it (ms). Default 250. */
  deadlineMarginMs?: number;
  /**
   * How long a command whose caller gives no deadline may wait for a free channel (and a
   * connection) before it fails as not sent (ms). A caller's deadline bounds the wait instead.
   * The wait never counts against `commandTimeoutMs`, which starts when the command is sent.
   * Default 60 000.
   */
  channelWaitTimeoutMs?: number;
  /**
   * The least time before the caller's deadline with which a change is still sent (ms); with
   * less it fails as not sent (`transient`, safe to retry) instead of as `outcome-unknown`. The
   * client asks for more when round trips are slow (a few times the recent ones), never more than
   * `commandTimeoutMs`. Default 2 000.
   */
  minChangeWindowMs?: number;
  /** A reply longer than this is cut off and reported (`too-large`). Default 8 MiB. */
  maxOutputBytes?: number;
  /**
   * What the replies of all channels may hold together (bytes); a reply that would pass it is cut
   * off (a read as `transient`, retried). Bounds the controller's memory against a very large or
   * hostile RDS. At least `maxOutputBytes`. Default 16 MiB.
   */
  maxReplyBytesInFlight?: number;
  /** Backoff between failed connection attempts. Default 200 ms doubling to 10 s, jittered. */
  reconnectBackoff?: BackoffOptions;
  /** Never receives key material or passphrases. Default silent. */
  logger?: Logger;
}

const keySource = z.union([z.instanceof(Buffer), z.object({ path: z.string().min(1) }).strict()]);

const schema = z
  .object({
    host: z.string().min(1).max(255),
    port: z.number().int().min(1).max(65535).default(22),
    username: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/, "letters, digits, '.', '_', '@', '-'"),
    loginOptions: z
      .string()
      .regex(/^(\d*[a-z])*$/, "RouterOS console options such as cet512w")
      .default("cet512w"),
    privateKey: keySource,
    passphrase: z.union([z.string(), z.object({ path: z.string().min(1) }).strict()]).optional(),
    hostKey: z.union([
      z.object({ fingerprint: z.string() }).strict(),
      z.object({ knownHostsFile: z.string().min(1) }).strict(),
      z.object({ insecureSkipVerify: z.literal(true) }).strict(),
    ]),
    maxChannels: z.number().int().min(1).max(16).default(4),
    channelsPerConnection: z.number().int().min(1).max(16).default(1),
    keepaliveIntervalMs: z.number().int().min(0).default(30_000),
    keepaliveCommand: z
      .string()
      .min(1)
      .max(200)
      .regex(/^[^\u0000-\u001f\u007f]+$/, "one line of printable characters")
      .default(":put 1"),
    connectTimeoutMs: z.number().int().min(100).default(10_000),
    commandTimeoutMs: z.number().int().min(100).default(30_000),
    deadlineMarginMs: z.number().int().min(0).default(250),
    channelWaitTimeoutMs: z.number().int().min(0).default(60_000),
    minChangeWindowMs: z.number().int().min(0).default(2_000),
    maxOutputBytes: z
      .number()
      .int()
      .min(1024)
      .default(8 * 1024 * 1024),
    maxReplyBytesInFlight: z
      .number()
      .int()
      .min(1024)
      .default(16 * 1024 * 1024),
    reconnectBackoff: z
      .object({
        initialMs: z.number().min(1),
        maxMs: z.number().min(1),
        random: z.custom<() => number>((v) => typeof v === "function").optional(),
      })
      .default({ initialMs: 200, maxMs: 10_000 }),
  })
  .strict();

export type ResolvedConnectionOptions = Omit<z.infer<typeof schema>, "hostKey" | "reconnectBackoff"> & {
  hostKey: HostKeyPolicy;
  reconnectBackoff: BackoffOptions;
};

/** Keys RouterOS accepts for user login (reference §6: ECDSA is refused). */
const ACCEPTED_KEY_TYPES = new Set(["ssh-ed25519", "ssh-rsa"]);

/** Parses a private key, refusing types RouterOS does not accept. Messages never quote the key. */
export function checkPrivateKey(key: Buffer, passphrase: string | undefined, source: string): void {
  const parsed = ssh2.utils.parseKey(key, passphrase);
  if (parsed instanceof Error) {
    throw new Error(`cannot use the private key from ${source}: ${parsed.message.replace(/\n.*/s, "")}`);
  }
  if (!ACCEPTED_KEY_TYPES.has(parsed.type)) {
    throw new Error(
      `the private key from ${source} is ${parsed.type}; RouterOS accepts ed25519 and RSA user keys`,
    );
  }
}

export function resolveConnectionOptions(options: RdsConnectionOptions): ResolvedConnectionOptions {
  const { logger: _logger, ...rest } = options;
  const result = schema.safeParse(rest);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join(".") || "options"}: ${i.message}`);
    throw new Error(`invalid RouterOS connection options: ${problems.join("; ")}`);
  }
  const resolved = result.data as ResolvedConnectionOptions;
  if ("fingerprint" in resolved.hostKey) {
    resolved.hostKey = { fingerprint: normalizeFingerprint(resolved.hostKey.fingerprint) };
  }
  if (resolved.maxReplyBytesInFlight < resolved.maxOutputBytes) {
    throw new Error(
      `invalid RouterOS connection options: maxReplyBytesInFlight (${resolved.maxReplyBytesInFlight}) is below maxOutputBytes (${resolved.maxOutputBytes}); no reply could reach its own limit`,
    );
  }
  if (resolved.channelsPerConnection > resolved.maxChannels)
    resolved.channelsPerConnection = resolved.maxChannels;
  if (Buffer.isBuffer(resolved.privateKey) && typeof resolved.passphrase !== "object") {
    checkPrivateKey(resolved.privateKey, resolved.passphrase, "the options");
  }
  return resolved;
}
