// POSIX permission rules for changes, shared by adapters that get their
// attributes from elsewhere (CallbackFs), so they decide like MemFs.
import { hasPermission, inGroup, type Ownership, Perm } from "./access.ts";
import { VfsError } from "./errors.ts";
import { type Credentials, FileType, type SetAttributes } from "./types.ts";

const S_ISGID = 0o2000;
const S_ISVTX = 0o1000;

export function requirePerm(
  cred: Credentials,
  o: Ownership,
  want: number,
  what: string,
): void {
  if (!hasPermission(o, cred, want)) {
    throw new VfsError("EACCES", `Permission denied: ${what}`);
  }
}

/** Data access with the nfsd owner override (see MemFs). */
export function requireData(
  cred: Credentials,
  o: Ownership,
  write: boolean,
  what: string,
): void {
  if (cred.uid !== 0 && cred.uid === o.uid) return;
  const ok = write
    ? hasPermission(o, cred, Perm.W)
    : hasPermission(o, cred, Perm.R) || hasPermission(o, cred, Perm.X);
  if (!ok) {
    throw new VfsError(
      "EACCES",
      `Permission denied: cannot ${write ? "write" : "read"} ${what}`,
    );
  }
}

/** Only root, the directory's owner or the entry's owner may remove it from a sticky directory. */
export function requireSticky(
  cred: Credentials,
  dir: Ownership,
  victim: Ownership,
  name: string,
): void {
  if (
    (dir.mode & S_ISVTX) !== 0 && cred.uid !== 0 && cred.uid !== dir.uid &&
    cred.uid !== victim.uid
  ) {
    throw new VfsError(
      "EPERM",
      `Operation not permitted: ${name} is in a sticky directory`,
    );
  }
}

/** Checks the uid/gid a create asks for. */
export function checkInitialOwner(
  cred: Credentials,
  attrs: SetAttributes | undefined,
): void {
  if (attrs === undefined || cred.uid === 0) return;
  if (attrs.uid !== undefined && attrs.uid !== cred.uid) {
    throw new VfsError(
      "EPERM",
      `Operation not permitted: uid ${cred.uid} cannot give a file to uid ${attrs.uid}`,
    );
  }
  if (attrs.gid !== undefined && !inGroup(cred, attrs.gid)) {
    throw new VfsError(
      "EPERM",
      `Operation not permitted: uid ${cred.uid} is not in group ${attrs.gid}`,
    );
  }
}

/**
 * Checks a setattr against POSIX ownership rules; returns the mode to set
 * (setgid dropped when a non-root caller is outside the group).
 */
export function checkSetattr(
  cred: Credentials,
  o: Ownership,
  attrs: SetAttributes,
  what: string,
): number | undefined {
  const root = cred.uid === 0;
  const owner = root || cred.uid === o.uid;
  let mode: number | undefined;
  if (attrs.mode !== undefined) {
    if (!Number.isSafeInteger(attrs.mode) || attrs.mode < 0) {
      throw new VfsError("EINVAL", `Invalid mode: ${attrs.mode}`);
    }
    if (!owner) {
      throw new VfsError(
        "EPERM",
        `Operation not permitted: only the owner may chmod ${what}`,
      );
    }
    mode = attrs.mode & 0o7777;
    if (!root && (mode & S_ISGID) !== 0 && !inGroup(cred, o.gid)) {
      mode &= ~S_ISGID;
    }
  }
  if (attrs.uid !== undefined && attrs.uid !== o.uid && !root) {
    throw new VfsError(
      "EPERM",
      `Operation not permitted: only root may change the owner of ${what}`,
    );
  }
  if (attrs.gid !== undefined && attrs.gid !== o.gid && !root) {
    if (cred.uid !== o.uid || !inGroup(cred, attrs.gid)) {
      throw new VfsError(
        "EPERM",
        `Operation not permitted: cannot change group of ${what} to ${attrs.gid}`,
      );
    }
  }
  if (attrs.size !== undefined) {
    if (o.type === FileType.Directory) {
      throw new VfsError("EISDIR", `Is a directory: ${what}`);
    }
    if (o.type !== FileType.Regular) {
      throw new VfsError(
        "EINVAL",
        `Invalid argument: cannot set the size of ${what}`,
      );
    }
    if (!Number.isSafeInteger(attrs.size) || attrs.size < 0) {
      throw new VfsError("EINVAL", `Invalid size: ${attrs.size}`);
    }
    requireData(cred, o, true, what);
  }
  for (const t of [attrs.atime, attrs.mtime]) {
    if (t === undefined || owner) continue;
    if (t !== "server") {
      throw new VfsError(
        "EPERM",
        `Operation not permitted: only the owner may set times of ${what}`,
      );
    }
    requirePerm(cred, o, Perm.W, `cannot touch ${what}`);
  }
  return mode;
}
