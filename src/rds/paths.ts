import { validatedPath, validatePathPrefix } from "./quote.js";

/**
 * The one place that knows RouterOS spells the same file two ways (reference §4): `/disk
 * file-path` carries a leading slash (`/pool/dir/disk.img`), `/file name` does not
 * (`pool/dir/disk.img`). Callers may pass either form; both functions validate every component.
 */

/** `/pool/dir/disk.img`: the form `/disk add file-path=` takes and `/disk print` shows. */
export function diskFilePath(path: string): string {
  return `/${validatedPath(path, "file path")}`;
}

/** `pool/dir/disk.img`: the form `/file` uses for `name`. */
export function fileName(path: string): string {
  return validatedPath(path, "file name");
}

/** A `/file name` prefix (no leading slash), for `where name~"^…"` listings. */
export function fileNamePrefix(prefix: string): string {
  return validatePathPrefix(prefix, "file name prefix");
}

/** Compares a printed path with a wanted one regardless of the leading slash. */
export function samePath(printed: string, wanted: string): boolean {
  return printed.replace(/^\/+/, "") === wanted.replace(/^\/+/, "");
}
