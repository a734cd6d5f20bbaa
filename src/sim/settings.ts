import { z } from "zod";
import { faultRuleSchema } from "./faults.js";
import { parseRosVersion } from "./version.js";

/**
 * Emulator settings. Every behaviour that is unknown on real RouterOS is one of these, so the driver
 * can be tested against each plausible answer; the defaults are the emulator's best reading.
 */
const errorTexts = z
  .object({
    duplicate_slot: z.string().default("failure: item with such name already exists"),
    missing_parent_dir: z.string().default("failure: directory does not exist"),
    file_exists: z.string().default("failure: file already exists"),
    no_space: z.string().default("failure: not enough space on disk"),
    shrink: z.string().default("failure: can not shrink file"),
    subvolume_exists: z.string().default("failure: subvolume already exists"),
    subvolume_in_use: z.string().default("failure: subvolume is in use by disk"),
    directory_not_empty: z.string().default("failure: directory is not empty"),
    file_in_use: z.string().default("failure: file is in use by disk"),
    read_only: z.string().default("failure: read-only file system"),
  })
  .strict();

export const settingsSchema = z
  .object({
    routeros_version: z
      .string()
      .default("7.22")
      .refine((v) => {
        try {
          parseRosVersion(v);
          return true;
        } catch {
          return false;
        }
      }, "expected a RouterOS version such as 7.22"),
    identity: z.string().default("RDS"),
    /** RouterOS exits 0 even after a failed command; true makes errors exit 1 (experiments only). */
    strict_exit_codes: z.boolean().default(false),
    /**
     * TCP_NODELAY on accepted connections. Whether RouterOS's SSH server sets it is unknown; with
     * it off, each small SSH message of an exec may wait for a delayed ACK (up to 40 ms on Linux).
     */
    tcp_nodelay: z.boolean().default(true),
    /** `/ip service ssh max-sessions`: concurrent exec sessions over all connections. */
    max_sessions: z.number().int().min(1).max(1000).default(20),
    /** Concurrent channels on one SSH connection; 0 = unlimited (unknown on real hardware). */
    max_channels_per_connection: z.number().int().min(0).default(0),
    /** Output width on exec without a `+Nw` login suffix; 0 = never wrap. */
    wrap_width: z.number().int().min(0).default(80),
    /** A size moves to the next unit once it reaches this many of the current unit. */
    human_size_threshold: z.number().int().min(1024).max(10240).default(4608),
    /** Print a `Flags:` legend even when a print matches no item. */
    empty_print_legend: z.boolean().default(false),
    /** Separator line between items of `print detail` (real output shows a line with one space). */
    detail_item_separator: z.string().default(" "),
    /** `/disk add` and `/file add` create missing parent directories instead of failing. */
    auto_create_parent_dirs: z.boolean().default(false),
    /** `/disk set file-size=` may make a file smaller. */
    allow_shrink: z.boolean().default(false),
    /** `/disk add` preallocates (fallocate) instead of creating a sparse file. */
    preallocate: z.boolean().default(false),
    /** `/disk add file-path=<existing file> file-size=N`: truncate to N, or fail. */
    existing_file_with_size: z.enum(["truncate", "fail"]).default("truncate"),
    /** What `/disk add copy-from=` does with the data: nothing, a reflink copy, or a full copy. */
    copy_from_mode: z.enum(["metadata", "reflink", "copy"]).default("metadata"),
    /** `/file copy` (7.23+): share extents when the filesystem can (`cp --reflink=auto`), or copy bytes. */
    file_copy_mode: z.enum(["reflink-auto", "copy"]).default("reflink-auto"),
    /** `/disk/btrfs/subvolume remove` of a subvolume holding a file used by a `/disk` item. */
    subvolume_remove_in_use: z.enum(["fail", "allow"]).default("fail"),
    /** `/file remove` of a directory: only when empty, recursively, or never. */
    file_remove_directory: z.enum(["if-empty", "recursive", "never"]).default("if-empty"),
    /** `/file remove` of a subvolume's directory: refuse, or delete the subvolume. */
    file_remove_subvolume: z.enum(["fail", "delete"]).default("fail"),
    /** `/file remove` of a file a `/disk` item uses. */
    file_remove_in_use: z.enum(["fail", "allow"]).default("fail"),
    /** `/disk remove` of an exported disk (live initiators cannot be seen by the emulator). */
    remove_exported_disk: z.enum(["allow", "fail"]).default("allow"),
    /** How a subvolume's `parent` is printed: the source's name or its full path. */
    subvolume_parent_format: z.enum(["name", "fullname"]).default("name"),
    /** Report the pool as full (free=0, use=100%) and refuse new files and subvolumes. */
    pool_full: z.boolean().default(false),
    /** Refuse every new SSH connection and session. */
    reject_sessions: z.boolean().default(false),
    /** Enables password login for `admin` when set (public keys are always accepted). */
    admin_password: z.string().optional(),
    /** Cost model (see cost.ts), off by default: a fixed wait before every exec line runs (ms). */
    cost_command_latency_ms: z.number().min(0).max(60_000).default(0),
    /** Requests the aggregate throttle lets through at `cost_throttle_fast_ms` before it slows; 0 = off. */
    cost_throttle_burst: z.number().int().min(0).default(0),
    /** Wait of a request within the burst (ms). */
    cost_throttle_fast_ms: z.number().min(0).max(60_000).default(1),
    /** Wait of each request past the burst, and the time to earn back one request of burst (ms). */
    cost_throttle_slow_ms: z.number().min(0).max(60_000).default(20),
    error_texts: errorTexts.default(errorTexts.parse({})),
    /** Fault rules installed at start (see the control channel's addFault); not kept across restarts. */
    faults: z.array(faultRuleSchema).default([]),
  })
  .strict();

export type Settings = z.infer<typeof settingsSchema>;
export type SettingsPatch = z.input<typeof settingsSchema>;

export function defaultSettings(): Settings {
  return settingsSchema.parse({});
}

/** Applies a partial update, validating the result; throws a readable error on bad input. */
export function mergeSettings(base: Settings, patch: unknown): Settings {
  if (typeof patch !== "object" || patch === null || Array.isArray(patch)) {
    throw new Error("settings must be a JSON object");
  }
  const p = patch as Record<string, unknown>;
  const merged: Record<string, unknown> = { ...base, ...p };
  if (p.error_texts !== undefined) {
    merged.error_texts = { ...base.error_texts, ...(p.error_texts as Record<string, unknown>) };
  }
  const result = settingsSchema.safeParse(merged);
  if (!result.success) {
    const issues = result.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`);
    throw new Error(`invalid settings: ${issues.join("; ")}`);
  }
  return result.data;
}
