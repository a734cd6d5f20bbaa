import { z } from "zod";
import { faultRuleSchema } from "./faults.js";
import { parseRosVersion } from "./version.js";

/**
 * Emulator settings. Every behaviour that is unknown on real RouterOS is one of these, so the driver
 * can be tested against each plausible answer; the defaults are the emulator's best reading.
 */
const errorTextFields = {
  duplicate_slot: "failure: item with such name already exists",
  missing_parent_dir: "failure: directory does not exist",
  file_exists: "failure: file already exists",
  no_space: "failure: not enough space on disk",
  shrink: "failure: can not shrink file",
  subvolume_exists: "failure: subvolume already exists",
  subvolume_in_use: "failure: subvolume is in use by disk",
  directory_not_empty: "failure: directory is not empty",
  file_in_use: "failure: file is in use by disk",
  read_only: "failure: read-only file system",
};

export type ErrorTexts = typeof errorTextFields;

/**
 * Named wordings of the storage failures, none captured on hardware. `alternative` words each one
 * so that no pattern of the client's classifier recognises it: the driver must still reach the
 * right outcome (by reading the state back) when RouterOS says something nobody predicted.
 */
export const ERROR_TEXT_PROFILES: Record<"default" | "alternative", ErrorTexts> = {
  default: errorTextFields,
  alternative: {
    duplicate_slot: "failure: slot name is taken",
    missing_parent_dir: "failure: parent folder missing",
    file_exists: "failure: file with this name is present",
    no_space: "failure: storage full",
    shrink: "failure: new size is below the current size",
    subvolume_exists: "failure: subvolume with this name is present",
    subvolume_in_use: "failure: subvolume holds a disk file",
    directory_not_empty: "failure: folder has entries",
    file_in_use: "failure: file is a disk",
    read_only: "failure: write protected",
  },
};

const errorTexts = z.preprocess(
  // A profile name stands for its whole wording.
  (v) => (typeof v === "string" && v in ERROR_TEXT_PROFILES ? ERROR_TEXT_PROFILES[v as "default"] : v),
  z
    .object(
      Object.fromEntries(Object.entries(errorTextFields).map(([k, v]) => [k, z.string().default(v)])) as {
        [K in keyof ErrorTexts]: z.ZodDefault<z.ZodString>;
      },
    )
    .strict(),
);

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
    /**
     * Print a `Flags:` legend (of every flag of the menu) even when a print matches no item; real
     * RouterOS 7.2x does.
     */
    empty_print_legend: z.boolean().default(true),
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
    /**
     * What `nvme-tcp-server-allow-host-name` holds (the NVMe target stand-in applies it): one host
     * NQN compared exactly (a value with a comma then matches no host), or a comma-separated list.
     * Real RouterOS documents a single "host name"; lists are unconfirmed.
     */
    allow_host_name_form: z.enum(["single", "list"]).default("single"),
    /**
     * What a change of the allow list does to a host already connected that it no longer lets in:
     * nothing (the Linux kernel target checks hosts only when they connect), or its session ends.
     * Turning the export off ends every session either way (the subsystem leaves the port).
     */
    allow_host_change: z.enum(["keep-connections", "drop-connections"]).default("keep-connections"),
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
    // Known on RouterOS 7.2x (issue 18); kept as settings where versions may differ.
    /** `:serialize to=json` prints integers as floats with six decimals (`2048.000000`), or plain. */
    json_integer_form: z.enum(["float", "integer"]).default("float"),
    /** `/file print` without `proplist=` carries `contents`: the body of small text files. */
    file_listing_contents: z.boolean().default(true),
    /** `/file` ids: opaque strings with spaces (`**iCZmBt9q …`) or `*N` like other menus. */
    file_id_form: z.enum(["opaque", "star-hex"]).default("opaque"),
    /** `:put` wraps its lines at the session width, CRLF inserted mid-token. */
    put_wrap: z.boolean().default(true),
    /** Order of `/file` entries within a folder: as created, or alphabetical. */
    file_print_order: z.enum(["creation", "alphabetical"]).default("creation"),
    // Unknown on real RouterOS (issue 18): every plausible value, the driver is tested under each.
    /** How subvolume `add parent=` finds the source: by its path, or by its last name only. */
    snapshot_parent_resolution: z.enum(["path", "last-name"]).default("path"),
    /** Subvolume `add name=a/b/c` under plain directories (made with `/file add`): accepted or refused. */
    subvolume_name_with_slash: z.enum(["accept", "refuse"]).default("accept"),
    /** How `fullname` of a subvolume is printed: `rds-csi/vols/x` or `/rds-csi/vols/x`. */
    subvolume_fullname_form: z.enum(["no-leading-slash", "leading-slash"]).default("no-leading-slash"),
    /** What a subvolume's `fs` shows: the filesystem label, or its uuid. */
    subvolume_fs_form: z.enum(["label", "uuid"]).default("label"),
    /** `creation-time` (and `last-modified`) as `2026-12-05 13:28:46` or `dec/05/2026 13:28:46`. */
    creation_time_format: z.enum(["iso", "routeros"]).default("iso"),
    /** A `;`-joined line after a runtime error: stop there, or run the remaining commands. */
    line_error_mode: z.enum(["stop", "continue"]).default("stop"),
    /** `print as-value proplist=…` without `.id` in the list still prints `.id`. */
    proplist_keeps_id: z.boolean().default(true),
    /** `/disk set file-size=` on an exported disk: resizes, fails, or silently changes nothing. */
    exported_disk_file_size: z.enum(["resize", "refuse", "ignore"]).default("resize"),
    /** `/disk add type=file` of an existing file without `file-size=`: attaches it, or fails. */
    attach_without_file_size: z.enum(["accept", "refuse"]).default("accept"),
    /** `file-size=1073741824` (plain bytes, no unit): accepted, or refused. */
    file_size_plain_bytes: z.enum(["accept", "refuse"]).default("accept"),
    /** `/file add name=pool/dir` without a leading slash: accepted, or refused. */
    file_add_relative_path: z.enum(["accept", "refuse"]).default("accept"),
    error_texts: errorTexts.default(errorTextFields),
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
  if (p.error_texts !== undefined && typeof p.error_texts === "object") {
    merged.error_texts = { ...base.error_texts, ...(p.error_texts as Record<string, unknown>) };
  }
  const result = settingsSchema.safeParse(merged);
  if (!result.success) {
    const issues = result.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`);
    throw new Error(`invalid settings: ${issues.join("; ")}`);
  }
  return result.data;
}
