import type { Logger } from "pino";
import ssh2 from "ssh2";
import * as v from "valibot";
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

const nonEmpty = v.pipe(v.string(), v.minLength(1));
/** A whole number of at least `min` (at most `max`), `fallback` when not given. */
const wholeNumber = (min: number, fallback: number, max = Number.MAX_SAFE_INTEGER) =>
  v.optional(v.pipe(v.number(), v.integer(), v.minValue(min), v.maxValue(max)), fallback);
const positive = v.pipe(v.number(), v.finite(), v.minValue(1));
const keySource = v.union([v.instance(Buffer), v.strictObject({ path: nonEmpty })]);

const schema = v.strictObject({
  host: v.pipe(v.string(), v.minLength(1), v.maxLength(255)),
  port: wholeNumber(1, 22, 65535),
  username: v.pipe(
    v.string(),
    v.regex(/^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/, "letters, digits, '.', '_', '@', '-'"),
  ),
  loginOptions: v.optional(
    v.pipe(v.string(), v.regex(/^(\d*[a-z])*$/, "RouterOS console options such as cet512w")),
    "cet512w",
  ),
  privateKey: keySource,
  passphrase: v.optional(v.union([v.string(), v.strictObject({ path: nonEmpty })])),
  hostKey: v.union([
    v.strictObject({ fingerprint: v.string() }),
    v.strictObject({ knownHostsFile: nonEmpty }),
    v.strictObject({ insecureSkipVerify: v.literal(true) }),
  ]),
  maxChannels: wholeNumber(1, 4, 16),
  channelsPerConnection: wholeNumber(1, 1, 16),
  keepaliveIntervalMs: wholeNumber(0, 30_000),
  keepaliveCommand: v.optional(
    v.pipe(
      v.string(),
      v.minLength(1),
      v.maxLength(200),
      v.regex(/^[^\u0000-\u001f\u007f]+$/, "one line of printable characters"),
    ),
    ":put 1",
  ),
  connectTimeoutMs: wholeNumber(100, 10_000),
  commandTimeoutMs: wholeNumber(100, 30_000),
  deadlineMarginMs: wholeNumber(0, 250),
  channelWaitTimeoutMs: wholeNumber(0, 60_000),
  minChangeWindowMs: wholeNumber(0, 2_000),
  maxOutputBytes: wholeNumber(1024, 8 * 1024 * 1024),
  maxReplyBytesInFlight: wholeNumber(1024, 16 * 1024 * 1024),
  reconnectBackoff: v.optional(
    v.strictObject({
      initialMs: positive,
      maxMs: positive,
      random: v.optional(v.custom<() => number>((f) => typeof f === "function", "a function")),
    }),
    () => ({ initialMs: 200, maxMs: 10_000 }),
  ),
});

export type ResolvedConnectionOptions = Omit<v.InferOutput<typeof schema>, "hostKey" | "reconnectBackoff"> & {
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
  const result = v.safeParse(schema, rest);
  if (!result.success) {
    const problems = result.issues.map((i) => `${v.getDotPath(i) || "options"}: ${i.message}`);
    throw new Error(`invalid RouterOS connection options: ${problems.join("; ")}`);
  }
  const resolved = result.output as ResolvedConnectionOptions;
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
