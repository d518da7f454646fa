/**
 * Extended attributes over NFSv4.2 (RFC 8276): GETXATTR, SETXATTR,
 * LISTXATTRS and REMOVEXATTR, on the current filehandle, through the file
 * system's `xattrs` capability.
 *
 * Names travel without a namespace and are the `user.` namespace's, as in
 * Linux: "colour" on the wire is "user.colour" to the file system, and
 * LISTXATTRS lists only `user.` names, without the prefix. A name is
 * checked before the file system sees it: empty or not UTF-8 or holding a
 * NUL is NFS4ERR_INVAL, longer than {@link MAX_XATTR_NAME} bytes (255 with
 * the prefix, Linux's XATTR_NAME_MAX) NFS4ERR_NAMETOOLONG. A value longer
 * than {@link MAX_XATTR_VALUE} (Linux's XATTR_SIZE_MAX), or than the file
 * system refuses as too large (E2BIG, ERANGE), is NFS4ERR_XATTR2BIG; so is
 * a value GETXATTR could not fit in the session's largest reply. A value
 * the file system has no room for is NFS4ERR_NOSPC (ext4 keeps a file's
 * xattrs in about one block).
 *
 * - GETXATTR of a name that is not set: NFS4ERR_NOXATTR.
 * - SETXATTR with SETXATTR4_CREATE of a name that is set: NFS4ERR_EXIST;
 *   with SETXATTR4_REPLACE of one that is not: NFS4ERR_NOXATTR. Its
 *   change_info4 brackets the object's change attribute (not atomic).
 * - LISTXATTRS pages the names in sorted order: the cookie is the index of
 *   the next name (0 the first), `lxa_maxcount` bounds the result's bytes
 *   (cookie, array count, each name's length and padded bytes, eof). A
 *   first name that does not fit, or a maxcount below the 16 bytes of an
 *   empty result, is NFS4ERR_TOOSMALL; a cookie past the last name
 *   NFS4ERR_BAD_COOKIE.
 * - REMOVEXATTR of a name that is not set: NFS4ERR_NOXATTR; change_info4
 *   as SETXATTR's.
 *
 * A file system without `xattrs`, and a pseudo directory (whose
 * `xattr_support` is false), answer NFS4ERR_NOTSUPP; SETXATTR and
 * REMOVEXATTR on a read-only export NFS4ERR_ROFS. Permissions are the
 * file system's (reading needs read permission, changing write
 * permission, as ACCESS4_XAREAD/XAWRITE/XALIST say).
 *
 * @module
 */

import {
  type change_info4,
  encode_GETXATTR4res,
  encode_LISTXATTRS4res,
  encode_REMOVEXATTR4res,
  encode_SETXATTR4res,
  nfs_opnum4,
  nfsstat4,
  setxattr_option4,
} from "../../../proto/nfs4/mod.ts";
import { VfsError } from "../../../vfs/errors.ts";
import type { XattrOps } from "../../../vfs/types.ts";
import { changeOf } from "../attrs.ts";
import type { Op } from "../compound.ts";
import type { CompoundState, Target } from "../context.ts";
import { fail } from "../errors.ts";
import { statusAs } from "./_state.ts";

/** The namespace every name on the wire belongs to. */
const PREFIX = "user.";
/** Longest name on the wire, in bytes: Linux's 255 less the prefix. */
export const MAX_XATTR_NAME = 255 - PREFIX.length;
/** Longest value: Linux's XATTR_SIZE_MAX. */
export const MAX_XATTR_VALUE = 65536;

const utf8 = new TextDecoder("utf-8", { fatal: true });
const enc = new TextEncoder();

/** The file system's name of the wire name `raw`. */
function xattrName(raw: Uint8Array): string {
  if (raw.byteLength === 0) fail(nfsstat4.NFS4ERR_INVAL, "Empty xattr name");
  if (raw.byteLength > MAX_XATTR_NAME) fail(nfsstat4.NFS4ERR_NAMETOOLONG);
  let name: string;
  try {
    name = utf8.decode(raw);
  } catch {
    fail(nfsstat4.NFS4ERR_INVAL, "Xattr name is not UTF-8");
  }
  if (name.includes("\0")) fail(nfsstat4.NFS4ERR_INVAL, "NUL in xattr name");
  return PREFIX + name;
}

/** The current object and its file system's xattrs. */
function xattrTarget(
  cs: CompoundState,
  change: boolean,
): { t: Target; x: XattrOps } {
  const t = cs.target(nfsstat4.NFS4ERR_NOTSUPP);
  const x = t.fs.xattrs;
  if (x === undefined) fail(nfsstat4.NFS4ERR_NOTSUPP);
  if (change && t.exp.readOnly) fail(nfsstat4.NFS4ERR_ROFS);
  return { t, x };
}

/** Runs an xattr call, answering the file system's xattr errors as RFC 8276 does. */
async function xattrCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (e) {
    if (e instanceof VfsError) {
      if (e.code === "ENODATA") fail(nfsstat4.NFS4ERR_NOXATTR, e.message);
      if (e.code === "E2BIG" || e.code === "ERANGE") {
        fail(nfsstat4.NFS4ERR_XATTR2BIG, e.message);
      }
    }
    throw e;
  }
}

/** A change of the object's xattrs, bracketed by its change attribute. */
async function changing(
  t: Target,
  change: () => Promise<void>,
): Promise<change_info4> {
  const before = changeOf(await t.fs.getattr(t.cred, t.id));
  await xattrCall(change);
  const after = changeOf(await t.fs.getattr(t.cred, t.id));
  return { atomic: false, before, after };
}

const MODE = {
  [setxattr_option4.SETXATTR4_EITHER]: "either",
  [setxattr_option4.SETXATTR4_CREATE]: "create",
  [setxattr_option4.SETXATTR4_REPLACE]: "replace",
} as const;

/** Bytes a name takes in LISTXATTRS4resok: its length and padded bytes. */
function nameSize(name: Uint8Array): number {
  return 4 + ((name.byteLength + 3) & ~3);
}

/** The xattr operations by number. */
export const xattrOps: ReadonlyMap<number, Op> = new Map<number, Op>([
  [nfs_opnum4.OP_GETXATTR, {
    name: "GETXATTR",
    encode: statusAs("gxr_status", encode_GETXATTR4res),
    run: async (a, cs) => {
      const { t, x } = xattrTarget(cs, false);
      const name = xattrName(a.gxa_name);
      const value = await xattrCall(() => x.getxattr(t.cred, t.id, name));
      // opnum, status and the value's length, then the value padded.
      if (((value.byteLength + 3) & ~3) > cs.replyRoom(12)) {
        fail(nfsstat4.NFS4ERR_XATTR2BIG, "Value does not fit in a reply");
      }
      return { status: nfsstat4.NFS4_OK, gxr_value: value };
    },
  }],
  [nfs_opnum4.OP_SETXATTR, {
    name: "SETXATTR",
    encode: statusAs("sxr_status", encode_SETXATTR4res),
    run: async (a, cs) => {
      const { t, x } = xattrTarget(cs, true);
      const name = xattrName(a.sxa_key);
      if (a.sxa_value.byteLength > MAX_XATTR_VALUE) {
        fail(nfsstat4.NFS4ERR_XATTR2BIG);
      }
      const mode = MODE[a.sxa_option as setxattr_option4];
      const info = await changing(
        t,
        () => x.setxattr(t.cred, t.id, name, a.sxa_value, mode),
      );
      return { status: nfsstat4.NFS4_OK, sxr_info: info };
    },
  }],
  [nfs_opnum4.OP_LISTXATTRS, {
    name: "LISTXATTRS",
    encode: statusAs("lxr_status", encode_LISTXATTRS4res),
    run: async (a, cs) => {
      const { t, x } = xattrTarget(cs, false);
      const all = await xattrCall(() => x.listxattrs(t.cred, t.id));
      const names = all.filter((n) => n.startsWith(PREFIX))
        .map((n) => n.slice(PREFIX.length)).sort()
        .map((n) => enc.encode(n));
      const maxcount = Math.min(
        a.lxa_maxcount,
        cs.replyRoom(8), // opnum and status before LISTXATTRS4resok
      );
      // The cookie, the array's count and eof take 16 bytes.
      if (maxcount < 16) fail(nfsstat4.NFS4ERR_TOOSMALL);
      if (a.lxa_cookie > BigInt(names.length)) {
        fail(nfsstat4.NFS4ERR_BAD_COOKIE);
      }
      const start = Number(a.lxa_cookie);
      let room = maxcount - 16;
      let next = start;
      while (next < names.length && nameSize(names[next]) <= room) {
        room -= nameSize(names[next]);
        next++;
      }
      if (next === start && next < names.length) {
        fail(nfsstat4.NFS4ERR_TOOSMALL, "The next name does not fit");
      }
      return {
        status: nfsstat4.NFS4_OK,
        lxr_value: {
          lxr_cookie: BigInt(next),
          lxr_names: names.slice(start, next),
          lxr_eof: next === names.length,
        },
      };
    },
  }],
  [nfs_opnum4.OP_REMOVEXATTR, {
    name: "REMOVEXATTR",
    encode: statusAs("rxr_status", encode_REMOVEXATTR4res),
    run: async (a, cs) => {
      const { t, x } = xattrTarget(cs, true);
      const name = xattrName(a.rxa_name);
      const info = await changing(t, () => x.removexattr(t.cred, t.id, name));
      return { status: nfsstat4.NFS4_OK, rxr_info: info };
    },
  }],
]);
