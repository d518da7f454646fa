/**
 * Small pieces every NFSv4 operation file uses: the OK result, the decoder
 * of void arguments and the checks on a component name.
 *
 * @module
 */

import { nfsstat4 } from "../../../proto/nfs4/mod.ts";
import { ascii } from "../../../rpc/_ascii.ts";
import { fail } from "../errors.ts";

/** The result of an operation whose success carries nothing. */
export const OK: { readonly status: typeof nfsstat4.NFS4_OK } = Object.freeze({
  status: nfsstat4.NFS4_OK,
});

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** The longest name in bytes (the `maxname` attribute). */
export const MAX_NAME = 255;

/**
 * A component name as a string, refusing what no file system may see:
 * empty (NFS4ERR_INVAL), not UTF-8 (NFS4ERR_INVAL), longer than
 * {@link MAX_NAME} bytes (NFS4ERR_NAMETOOLONG), "." or ".." or holding "/"
 * or NUL (NFS4ERR_BADNAME).
 */
export function component(raw: Uint8Array): string {
  if (raw.byteLength === 0) fail(nfsstat4.NFS4ERR_INVAL, "Empty name");
  if (raw.byteLength > MAX_NAME) fail(nfsstat4.NFS4ERR_NAMETOOLONG);
  // Most names: no decoder call (one per LOOKUP showed in profiles).
  let name = ascii(raw);
  if (name === undefined) {
    try {
      name = utf8.decode(raw);
    } catch {
      fail(nfsstat4.NFS4ERR_INVAL, "Name is not UTF-8");
    }
  }
  if (name === "." || name === ".." || /[/\0]/.test(name)) {
    fail(nfsstat4.NFS4ERR_BADNAME, `Bad name: ${name}`);
  }
  return name;
}

/** A UTF-8 string, or NFS4ERR_INVAL (symlink targets, owners). */
export function utf8String(raw: Uint8Array): string {
  try {
    return utf8.decode(raw);
  } catch {
    fail(nfsstat4.NFS4ERR_INVAL, "String is not UTF-8");
  }
}

/**
 * The name Nfs4State knows a file by (opens, locks and the stateids the
 * operations check): the export and the object, so the same file reached
 * through two exports has two sets of state, as it has two filehandles.
 */
export function stateFile(
  exp: { readonly id: number },
  fileid: number,
): string {
  return `${exp.id}:${fileid}`;
}
