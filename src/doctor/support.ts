/**
 * Which behaviour of each emulator setting (src/sim/README.md, "Settings") the driver is built
 * and tested to work with: CI runs csi-sanity and the fault matrix under each of these values. A
 * value seen on hardware that is not listed here (or a setting's `other`) is reported unsupported.
 * Where a probe can also run the driver's own code against what it found (decode a listing, take a
 * snapshot), that result decides as well (see the probes).
 */
export const SUPPORTED_BEHAVIOUR: Readonly<Record<string, readonly string[]>> = {
  json_integer_form: ["float", "integer"],
  file_listing_contents: ["true", "false"],
  file_id_form: ["opaque", "star-hex"],
  put_wrap: ["true", "false"],
  // The driver never depends on the order of a listing.
  file_print_order: ["creation", "alphabetical", "other"],
  empty_print_legend: ["true", "false"],
  snapshot_parent_resolution: ["path", "last-name"],
  // Refused: the driver makes its layout folders as subvolumes and nests in them.
  subvolume_name_with_slash: ["accept", "refuse"],
  subvolume_fullname_form: ["no-leading-slash", "leading-slash"],
  subvolume_parent_format: ["name", "fullname"],
  subvolume_fs_form: ["label", "uuid"],
  creation_time_format: ["iso", "routeros"],
  line_error_mode: ["stop", "continue"],
  proplist_keeps_id: ["true", "false"],
  exported_disk_file_size: ["resize", "refuse", "ignore"],
  subvolume_remove_in_use: ["fail", "allow"],
  file_remove_in_use: ["fail", "allow"],
  // Refused: the driver attaches a restored image with its exact size.
  attach_without_file_size: ["accept", "refuse"],
  file_size_plain_bytes: ["accept", "refuse"],
  file_add_relative_path: ["accept", "refuse"],
};

export function isSupported(setting: string, observed: string): boolean {
  return SUPPORTED_BEHAVIOUR[setting]?.includes(observed) ?? false;
}
