// Name rules shared by every backend, so that memfs and localfs reject the
// same names with the same codes.
import { VfsError } from "./errors.ts";

/** Longest name in bytes, as on Linux. */
export const MAX_NAME_BYTES = 255;

const encoder = new TextEncoder();

/** UTF-8 length of `s`; cheap when every code unit is ASCII-sized. */
export function utf8Length(s: string): number {
  // A UTF-16 code unit never needs more than 3 UTF-8 bytes.
  if (s.length * 3 <= MAX_NAME_BYTES) return s.length;
  return encoder.encode(s).length;
}

/**
 * Throws unless `name` can name a new or existing entry: not empty, not "."
 * or "..", no "/" or NUL, at most 255 bytes.
 */
export function checkName(name: string): void {
  if (name === "" || name === "." || name === "..") {
    throw new VfsError("EINVAL", `Invalid name: "${name}"`);
  }
  if (name.includes("/") || name.includes("\0")) {
    throw new VfsError(
      "EINVAL",
      `Invalid name: ${JSON.stringify(name)} contains "/" or NUL`,
    );
  }
  if (utf8Length(name) > MAX_NAME_BYTES) {
    throw new VfsError(
      "ENAMETOOLONG",
      `Name too long: ${utf8Length(name)} bytes`,
    );
  }
}
