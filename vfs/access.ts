/**
 * The one POSIX permission policy: MemFs, LocalFs and CallbackFs decide with
 * these functions, and so can the NFS servers' ACCESS and OPEN. Each is a pure
 * function of the caller's credentials, an object's type, mode, owner and
 * group, and what is asked for.
 *
 * - Classes: the owner bits apply when the caller owns the object, else the
 *   group bits when the caller is in its group (primary or supplementary),
 *   else the other bits. Classes never fall through: an owner denied by the
 *   owner bits is denied whatever the group bits say.
 * - Root (uid 0) may read and write anything; it may execute a non-directory
 *   only when some execute bit is set, and search any directory (as Linux
 *   and knfsd). Group 0 gives nothing special.
 * - Sticky directories: only the entry's owner, the directory's owner or root
 *   may remove or rename an entry ({@link stickyAllows}).
 * - Data (READ, WRITE, truncate, OPEN) takes knfsd's owner override: the owner
 *   of a file may read and write it whatever its mode, so a file created
 *   O_EXCL with mode 0 still takes its creator's writes; and permission to
 *   execute a regular file lets it be read ({@link AccessOptions}). ACCESS
 *   does not take the override, so clients see the plain mode bits.
 *
 * Deciders return what is allowed. The `require*` and `check*` functions at
 * the end throw the {@link VfsError} a back end reports, with a message naming
 * the object; `mod.ts` does not re-export them.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Access, accessBits, FileType } from "@netfs/netfs/vfs";
 * const file = { type: FileType.Regular, mode: 0o640, uid: 1000, gid: 100 };
 * const member = { uid: 1001, gid: 100, groups: [] };
 * assert.equal(accessBits(file, member, Access.READ | Access.MODIFY), Access.READ);
 * ```
 *
 * @module
 */

import { VfsError } from "./errors.ts";
import { type Credentials, FileType, type SetAttributes } from "./types.ts";

const S_ISUID = 0o4000;
const S_ISGID = 0o2000;
const S_ISVTX = 0o1000;

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
  /** Permission bits, with the set-id and sticky bits above them. */
  mode: number;
  /** Owner. */
  uid: number;
  /** Group. */
  gid: number;
}

/** How {@link accessBits} grants. */
export interface AccessOptions {
  /**
   * Decide for a data operation (READ, WRITE, truncate, OPEN) rather than for
   * ACCESS, as knfsd does: the owner of a non-directory gets READ, MODIFY and
   * EXTEND whatever its mode, and execute permission on a regular file
   * grants READ (default false).
   */
  ownerOverride?: boolean;
}

/**
 * Whether `cred` is in group `gid` (primary or supplementary).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { inGroup } from "@netfs/netfs/vfs";
 * assert.equal(inGroup({ uid: 1, gid: 5, groups: [7] }, 7), true);
 * assert.equal(inGroup({ uid: 1, gid: 5, groups: [7] }, 1), false);
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
 * import assert from "node:assert/strict";
 * import { FileType, hasPermission, Perm, ROOT } from "@netfs/netfs/vfs";
 * const file = { type: FileType.Regular, mode: 0o600, uid: 1000, gid: 1000 };
 * const owner = { uid: 1000, gid: 1000, groups: [] };
 * assert.equal(hasPermission(file, owner, Perm.R | Perm.W), true);
 * assert.equal(hasPermission(file, ROOT, Perm.X), false, "root needs an x bit");
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
 * never granted. Read-only file systems should clear
 * {@link ACCESS_CHANGE_BITS} from the result. With `ownerOverride`, the
 * answer is the one a READ, WRITE or OPEN gets (see {@link AccessOptions}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Access, accessBits, FileType } from "@netfs/netfs/vfs";
 * const user = { uid: 1000, gid: 1000, groups: [] };
 * const dir = { type: FileType.Directory, mode: 0o755, uid: 0, gid: 0 };
 * assert.equal(accessBits(dir, user, 0x3f), Access.READ | Access.LOOKUP | Access.EXECUTE);
 * // A file its owner created with mode 0: ACCESS says no, a WRITE may.
 * const made = { type: FileType.Regular, mode: 0, uid: 1000, gid: 1000 };
 * assert.equal(accessBits(made, user, Access.MODIFY), 0);
 * assert.equal(accessBits(made, user, Access.MODIFY, { ownerOverride: true }), Access.MODIFY);
 * ```
 */
export function accessBits(
  attrs: Ownership,
  cred: Credentials,
  mask: number,
  options: AccessOptions = {},
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
    if (options.ownerOverride) {
      if (cred.uid === attrs.uid) {
        granted |= Access.READ | Access.MODIFY | Access.EXTEND;
      }
      if (x && attrs.type === FileType.Regular) granted |= Access.READ;
    }
  }
  return granted & mask;
}

/** The ACCESS bits that ask for a change. */
export const ACCESS_CHANGE_BITS: number = Access.MODIFY | Access.EXTEND |
  Access.DELETE;

/**
 * The sticky-directory rule for removing or renaming `entry` out of `dir`,
 * or renaming something over it: when `dir` has the sticky bit, only root,
 * the directory's owner or the entry's owner may. The caller also needs
 * write and search permission on `dir` (DELETE from {@link accessBits}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { FileType, stickyAllows } from "@netfs/netfs/vfs";
 * const tmp = { type: FileType.Directory, mode: 0o1777, uid: 0, gid: 0 };
 * const mine = { uid: 1000 };
 * assert.equal(stickyAllows(tmp, mine, { uid: 1000, gid: 1000, groups: [] }), true);
 * assert.equal(stickyAllows(tmp, mine, { uid: 1001, gid: 1000, groups: [] }), false);
 * ```
 */
export function stickyAllows(
  dir: Pick<Ownership, "mode" | "uid">,
  entry: Pick<Ownership, "uid">,
  cred: Credentials,
): boolean {
  return (dir.mode & S_ISVTX) === 0 || cred.uid === 0 ||
    cred.uid === dir.uid || cred.uid === entry.uid;
}

/**
 * The mode a file keeps after `cred` writes or truncates it: a writer other
 * than root clears setuid, and setgid when the group may execute (setgid
 * without group execute marks mandatory locking and stays), as Linux does.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { modeAfterWrite, ROOT } from "@netfs/netfs/vfs";
 * const user = { uid: 1000, gid: 1000, groups: [] };
 * assert.equal(modeAfterWrite(0o6755, user), 0o755);
 * assert.equal(modeAfterWrite(0o6745, user), 0o2745);
 * assert.equal(modeAfterWrite(0o6755, ROOT), 0o6755);
 * ```
 */
export function modeAfterWrite(mode: number, cred: Credentials): number {
  if (cred.uid === 0) return mode;
  let next = mode & ~S_ISUID;
  if ((mode & 0o010) !== 0) next &= ~S_ISGID;
  return next;
}

// ---- checks that throw, for back ends --------------------------------------

/** Throws EACCES unless `cred` has every {@link Perm} bit in `want`. */
export function requirePermission(
  attrs: Ownership,
  cred: Credentials,
  want: number,
  what: string,
): void {
  if (!hasPermission(attrs, cred, want)) {
    throw new VfsError("EACCES", `Permission denied: ${what}`);
  }
}

/** Throws EACCES unless `cred` may read or write the data of `attrs`, owner override included. */
export function requireData(
  attrs: Ownership,
  cred: Credentials,
  use: "read" | "write",
  what: string,
): void {
  const want = use === "read" ? Access.READ : Access.MODIFY;
  if (accessBits(attrs, cred, want, { ownerOverride: true }) === 0) {
    throw new VfsError("EACCES", `Permission denied: cannot ${use} ${what}`);
  }
}

/** Throws EPERM unless {@link stickyAllows}; `name` is the entry's name. */
export function requireSticky(
  dir: Pick<Ownership, "mode" | "uid">,
  entry: Pick<Ownership, "uid">,
  cred: Credentials,
  name: string,
): void {
  if (!stickyAllows(dir, entry, cred)) {
    throw new VfsError(
      "EPERM",
      `Operation not permitted: ${name} in a sticky directory belongs to uid ${entry.uid}`,
    );
  }
}

/** Throws EPERM unless `cred` may create an object with the owner and group `set` asks for. */
export function checkNewOwner(
  cred: Credentials,
  set: SetAttributes | undefined,
): void {
  if (set === undefined || cred.uid === 0) return;
  if (set.uid !== undefined && set.uid !== cred.uid) {
    throw new VfsError(
      "EPERM",
      `Operation not permitted: uid ${cred.uid} cannot give a file to uid ${set.uid}`,
    );
  }
  if (set.gid !== undefined && !inGroup(cred, set.gid)) {
    throw new VfsError(
      "EPERM",
      `Operation not permitted: uid ${cred.uid} is not in group ${set.gid}`,
    );
  }
}

/** What {@link checkSetattr} reports on. */
export interface SetattrContext {
  /** The object, as error messages name it. */
  what: string;
  /** A size above this is EFBIG (default: no limit). */
  maxFileSize?: number;
}

/**
 * Checks a setattr against the POSIX ownership rules before anything
 * changes: only the owner (or root) may chmod or set explicit times, only
 * root may chown, the owner may chgrp to a group it is in, truncating needs
 * data write access, and anyone with write permission may set the times to
 * the server's clock. Returns the mode to set, setgid dropped when a caller
 * other than root is outside the file's group.
 */
export function checkSetattr(
  attrs: Ownership,
  cred: Credentials,
  set: SetAttributes,
  context: SetattrContext,
): number | undefined {
  const { what } = context;
  const root = cred.uid === 0;
  const owner = root || cred.uid === attrs.uid;
  let mode: number | undefined;
  if (set.mode !== undefined) {
    if (!isCount(set.mode)) {
      throw new VfsError("EINVAL", `Invalid mode: ${set.mode}`);
    }
    if (!owner) {
      throw new VfsError(
        "EPERM",
        `Operation not permitted: only the owner may chmod ${what}`,
      );
    }
    mode = set.mode & 0o7777;
    if (!root && (mode & S_ISGID) !== 0 && !inGroup(cred, attrs.gid)) {
      mode &= ~S_ISGID;
    }
  }
  if (set.uid !== undefined && set.uid !== attrs.uid && !root) {
    throw new VfsError(
      "EPERM",
      `Operation not permitted: only root may change the owner of ${what}`,
    );
  }
  if (set.gid !== undefined && set.gid !== attrs.gid && !root) {
    if (cred.uid !== attrs.uid || !inGroup(cred, set.gid)) {
      throw new VfsError(
        "EPERM",
        `Operation not permitted: cannot change group of ${what} to ${set.gid}`,
      );
    }
  }
  if (set.size !== undefined) {
    if (attrs.type === FileType.Directory) {
      throw new VfsError("EISDIR", `Is a directory: ${what}`);
    }
    if (attrs.type !== FileType.Regular) {
      throw new VfsError(
        "EINVAL",
        `Invalid argument: cannot set the size of ${what}`,
      );
    }
    if (!isCount(set.size)) {
      throw new VfsError("EINVAL", `Invalid size: ${set.size}`);
    }
    if (set.size > (context.maxFileSize ?? Infinity)) {
      throw new VfsError("EFBIG", `File too large: ${set.size}`);
    }
    requireData(attrs, cred, "write", what);
  }
  for (const t of [set.atime, set.mtime]) {
    if (t === undefined || owner) continue;
    if (t !== "server") {
      throw new VfsError(
        "EPERM",
        `Operation not permitted: only the owner may set times of ${what}`,
      );
    }
    requirePermission(attrs, cred, Perm.W, `cannot touch ${what}`);
  }
  return mode;
}

function isCount(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0;
}
