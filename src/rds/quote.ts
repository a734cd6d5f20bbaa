import { invalidInput } from "./errors.js";

/**
 * Value validation and RouterOS quoting. Every value that reaches a command line passes through
 * one of these functions; command.ts is the only caller that assembles lines.
 *
 * RouterOS rules (reference §1.6): only double quotes delimit strings; inside them `\`, `"`, `$`
 * and `?` must be escaped (`$` would substitute a variable or run `$[…]`); a control character
 * cannot travel over an exec channel, so it is refused rather than encoded.
 */

/** Item names this client creates or addresses: disk slots, volume and snapshot ids. */
const ID_PATTERN = /^[a-z0-9][a-z0-9-]*$/;
const ID_MAX_LENGTH = 128;

/** One component of a path on the RDS (pool, directories, file names, subvolume names). */
const PATH_COMPONENT_PATTERN = /^[A-Za-z0-9._-]+$/;
const PATH_COMPONENT_MAX_LENGTH = 255;
const PATH_MAX_LENGTH = 1024;

/** A Btrfs filesystem label or a pool mount point. */
const LABEL_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** NVMe Qualified Name in the `nqn.yyyy-mm.reverse-domain:suffix` form (NVMe base spec, max 223 bytes). */
const NQN_PATTERN = /^nqn\.\d{4}-\d{2}\.[A-Za-z0-9.-]+:[A-Za-z0-9._:-]+$/;
const NQN_MAX_LENGTH = 223;

/** Characters that may be sent unquoted in any context (reference §1.5: the safe unquoted set). */
const BARE_WORD_PATTERN = /^[A-Za-z0-9._-]+$/;

/** Quoted free text (comments, where values) longer than this is refused. */
export const MAX_STRING_BYTES = 1024;
export const MAX_COMMENT_LENGTH = 255;

/** Printable ASCII: no control character, no surrogate, one byte a character (the common case). */
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;
// C0 controls, DEL and C1 controls: none of them can be carried on one exec line.
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f]/;
// A lone surrogate cannot be encoded as UTF-8; sending it would silently become U+FFFD.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function describe(value: string): string {
  return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
}

export function validateId(value: string, what = "id"): string {
  if (typeof value !== "string" || value.length > ID_MAX_LENGTH || !ID_PATTERN.test(value)) {
    throw invalidInput(
      `${what} ${describe(String(value))} is not valid: lower-case letters, digits and '-' only, ` +
        `starting with a letter or digit, at most ${ID_MAX_LENGTH} characters`,
    );
  }
  return value;
}

/**
 * Splits a path on `/` (leading and trailing slashes ignored) and checks every component. Returns
 * the components; disk and file paths are formatted from them by paths.ts.
 */
export function validatePath(path: string, what = "path"): string[] {
  if (typeof path !== "string" || path.length === 0 || path.length > PATH_MAX_LENGTH) {
    throw invalidInput(`${what} ${describe(String(path))} is empty or longer than ${PATH_MAX_LENGTH}`);
  }
  const trimmed = path.replace(/^\/+/, "").replace(/\/+$/, "");
  const components = trimmed.split("/");
  for (const component of components) {
    const ok =
      component.length > 0 &&
      component.length <= PATH_COMPONENT_MAX_LENGTH &&
      component !== "." &&
      component !== ".." &&
      PATH_COMPONENT_PATTERN.test(component);
    if (!ok) {
      throw invalidInput(
        `${what} ${describe(path)} is not valid: component ${describe(component)} must be letters, ` +
          "digits, '.', '_' or '-' (not '.' or '..', no empty components)",
      );
    }
  }
  return components;
}

/**
 * A path of components `validatePath` accepts, with any leading and trailing slashes: one test
 * instead of a split and a test per component (a page of a listing names a hundred images).
 */
const VALID_PATH = /^\/*(?:(?!\.\.?(?:\/|$))[A-Za-z0-9._-]{1,255}(?:\/|$))+\/*$/;

/** `validatePath` joined again: the path without leading and trailing slashes. */
export function validatedPath(path: string, what = "path"): string {
  if (typeof path !== "string" || path.length > PATH_MAX_LENGTH || !VALID_PATH.test(path)) {
    return validatePath(path, what).join("/");
  }
  let start = 0;
  let end = path.length;
  while (path.charCodeAt(start) === 0x2f) start++;
  while (path.charCodeAt(end - 1) === 0x2f) end--;
  return start === 0 && end === path.length ? path : path.slice(start, end);
}

/** A path prefix may end in a partial component (`vols/pvc-`), so only the characters are checked. */
export function validatePathPrefix(prefix: string, what = "path prefix"): string {
  const trimmed = prefix.replace(/^\/+/, "");
  if (
    trimmed.length > PATH_MAX_LENGTH ||
    !/^[A-Za-z0-9._/-]*$/.test(trimmed) ||
    /(^|\/)\.\.?(\/|$)/.test(trimmed)
  ) {
    throw invalidInput(
      `${what} ${describe(prefix)} is not valid: letters, digits, '.', '_', '-' and '/' only`,
    );
  }
  return trimmed;
}

export function validateIdPrefix(prefix: string, what = "prefix"): string {
  if (prefix !== "" && !/^[a-z0-9][a-z0-9-]*$/.test(prefix)) {
    throw invalidInput(`${what} ${describe(prefix)} is not valid: lower-case letters, digits and '-' only`);
  }
  if (prefix.length > ID_MAX_LENGTH) throw invalidInput(`${what} is longer than ${ID_MAX_LENGTH}`);
  return prefix;
}

export function validateLabel(value: string, what = "label"): string {
  if (typeof value !== "string" || value.length > PATH_COMPONENT_MAX_LENGTH || !LABEL_PATTERN.test(value)) {
    throw invalidInput(`${what} ${describe(String(value))} is not valid: letters, digits, '.', '_', '-'`);
  }
  return value;
}

export function validateNqn(value: string): string {
  if (typeof value !== "string" || Buffer.byteLength(value) > NQN_MAX_LENGTH || !NQN_PATTERN.test(value)) {
    throw invalidInput(`NQN ${describe(String(value))} is not valid: expected nqn.yyyy-mm.domain:name`);
  }
  return value;
}

export function validatePort(value: number): number {
  if (!Number.isInteger(value) || value < 1 || value > 65535) {
    throw invalidInput(`port ${String(value)} is not an integer in 1..65535`);
  }
  return value;
}

/** Free text: any printable character, no control characters, bounded length. */
export function validateText(value: string, what = "text", maxLength = MAX_STRING_BYTES): string {
  if (typeof value !== "string") throw invalidInput(`${what} must be a string`);
  const ascii = PRINTABLE_ASCII.test(value);
  if (!ascii && CONTROL_CHARACTER.test(value)) {
    throw invalidInput(
      `${what} ${describe(value)} contains a control character, which RouterOS cannot receive`,
    );
  }
  if (!ascii && LONE_SURROGATE.test(value))
    throw invalidInput(`${what} contains an unpaired UTF-16 surrogate`);
  if (value.length > maxLength || (ascii ? value.length : Buffer.byteLength(value)) > MAX_STRING_BYTES) {
    throw invalidInput(`${what} is longer than ${Math.min(maxLength, MAX_STRING_BYTES)} characters`);
  }
  return value;
}

/** `"…"` with `\`, `"`, `$` and `?` escaped; control characters refused. */
export function quoteString(value: string, what = "value"): string {
  validateText(value, what);
  // One pass, and no copy at all for the usual value with nothing to escape (a page of a listing
  // quotes a hundred paths).
  return `"${value.replace(QUOTED_ESCAPES, "\\$&")}"`;
}

/** What must be escaped inside double quotes: `\`, `"`, `$` (substitution) and `?` (help). */
const QUOTED_ESCAPES = /[\\"$?]/g;

/** Whether a value may appear bare (outside `where`; in `where` values are always quoted). */
export function isBareWord(value: string): boolean {
  return BARE_WORD_PATTERN.test(value);
}
