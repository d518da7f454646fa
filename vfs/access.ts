/**
 * Permission checks from mode bits, owner and groups, shared by every
 * backend so that they agree on who may do what. Root (uid 0) bypasses read
 * and write checks as on Linux, but may execute a non-directory only when
 * some execute bit is set.
 *
 * @example
 * ```ts
 * import { Access, accessBits } from "./access.ts";
 * import { FileType } from "./types.ts";
 * const attrs = { type: FileType.Regular, mode: 0o640, uid: 1000, gid: 100 };
 * const cred = { uid: 1001, gid: 100, groups: [] };
 * console.log(accessBits(attrs, cred, Access.READ | Access.MODIFY)); // 1 (READ)
 * ```
 *
 * @module
 */

import { type Credentials, FileType } from "./types.ts";

/** The NFS ACCESS bits (NFSv3 ACCESS3_*, NFSv4 ACCESS4_*, which agree). */
export const Access = {
  /** Read data or list a directory. */
  READ: 0x01,
  /** Look up a name in a directory. */
  LOOKUP: 0x02,
  /** Rewrite data or change directory entries. */
  MODIFY: 0x04,
  /** Append data or add directory entries. */
  EXTEND: 0x08,
  /** Delete a directory entry. */
  DELETE: 0x10,
  /** Execute a file. */
  EXECUTE: 0x20,
} as const;

/** The POSIX permission a check asks for. */
export const Perm = {
  /** Read (r). */
  R: 4,
  /** Write (w). */
  W: 2,
  /** Execute or search (x). */
  X: 1,
} as const;

/** The attributes a permission check needs. */
export interface Ownership {
  /** Object type (directories are always searchable by root). */
  type: FileType;
  /** Permission bits. */
  mode: number;
  /** Owner. */
  uid: number;
  /** Group. */
  gid: number;
}

/**
 * Whether `cred` is in group `gid` (primary or supplementary).
 *
 * @example
 * ```ts
 * import { inGroup } from "./access.ts";
 * console.log(inGroup({ uid: 1, gid: 5, groups: [7] }, 7)); // true
 * ```
 */
export function inGroup(cred: Credentials, gid: number): boolean {
  return cred.gid === gid || cred.groups.includes(gid);
}

/**
 * Whether `cred` has every permission in `want` (a sum of {@link Perm}
 * bits) on an object, by POSIX rules: the owner class if the caller owns it,
 * else the group class if in its group, else others; root passes read and
 * write, and execute when the object is a directory or has any x bit.
 *
 * @example
 * ```ts
 * import { hasPermission, Perm } from "./access.ts";
 * import { FileType } from "./types.ts";
 * const attrs = { type: FileType.Regular, mode: 0o600, uid: 1000, gid: 1000 };
 * console.log(hasPermission(attrs, { uid: 1000, gid: 1000, groups: [] }, Perm.R | Perm.W)); // true
 * console.log(hasPermission(attrs, { uid: 0, gid: 0, groups: [] }, Perm.X)); // false
 * ```
 */
export function hasPermission(
  attrs: Ownership,
  cred: Credentials,
  want: number,
): boolean {
  if (cred.uid === 0) {
    if ((want & Perm.X) === 0 || attrs.type === FileType.Directory) return true;
    return (attrs.mode & 0o111) !== 0;
  }
  let bits: number;
  if (cred.uid === attrs.uid) bits = (attrs.mode >> 6) & 7;
  else if (inGroup(cred, attrs.gid)) bits = (attrs.mode >> 3) & 7;
  else bits = attrs.mode & 7;
  return (bits & want) === want;
}

/**
 * Which of the NFS ACCESS bits in `mask` the caller has on an object,
 * mapped as Linux nfsd does: on a directory READ needs r, LOOKUP and
 * EXECUTE need x, MODIFY/EXTEND/DELETE need w and x; on other objects READ
 * needs r, MODIFY/EXTEND need w, EXECUTE needs x, and LOOKUP/DELETE are
 * never granted. Read-only file systems should clear MODIFY, EXTEND and
 * DELETE from the result.
 *
 * @example
 * ```ts
 * import { Access, accessBits } from "./access.ts";
 * import { FileType } from "./types.ts";
 * const dir = { type: FileType.Directory, mode: 0o755, uid: 0, gid: 0 };
 * const user = { uid: 1000, gid: 1000, groups: [] };
 * console.log(accessBits(dir, user, 0x3f) === (Access.READ | Access.LOOKUP | Access.EXECUTE)); // true
 * ```
 */
export function accessBits(
  attrs: Ownership,
  cred: Credentials,
  mask: number,
): number {
  const r = hasPermission(attrs, cred, Perm.R);
  const w = hasPermission(attrs, cred, Perm.W);
  const x = hasPermission(attrs, cred, Perm.X);
  let granted = 0;
  if (attrs.type === FileType.Directory) {
    if (r) granted |= Access.READ;
    if (x) granted |= Access.LOOKUP | Access.EXECUTE;
    if (w && x) granted |= Access.MODIFY | Access.EXTEND | Access.DELETE;
  } else {
    if (r) granted |= Access.READ;
    if (w) granted |= Access.MODIFY | Access.EXTEND;
    if (x) granted |= Access.EXECUTE;
  }
  return granted & mask;
}

/** The ACCESS bits that ask for a change. */
export const ACCESS_CHANGE_BITS: number = Access.MODIFY | Access.EXTEND |
  Access.DELETE;
