// The host as Deno shows it to the portable LocalFs engine: host errors as
// VfsErrors, an lstat that answers "absent" without throwing, the identity
// test every confinement check uses, and the open flags. What the engine's
// files share about the host, and nothing about LocalFs's own state.
import * as nfs from "node:fs";
import { VfsError, type VfsErrorCode } from "../errors.ts";

export const C: typeof nfs.constants = nfs.constants;
export const O_NOFOLLOW: number = C.O_NOFOLLOW;
export const O_DIRECTORY: number = C.O_DIRECTORY;

/** Every VfsError code, for mapping host error names (here and in ./_libc_abi.ts). */
export const VFS_CODES: ReadonlySet<string> = new Set<VfsErrorCode>([
  "EPERM",
  "ENOENT",
  "EIO",
  "ENXIO",
  "EBADF",
  "EAGAIN",
  "EACCES",
  "EBUSY",
  "EEXIST",
  "EXDEV",
  "ENODEV",
  "ENOTDIR",
  "EISDIR",
  "EINVAL",
  "EFBIG",
  "ENOSPC",
  "EROFS",
  "EMLINK",
  "ENAMETOOLONG",
  "ENOTEMPTY",
  "EDQUOT",
  "ESTALE",
  "ELOOP",
  "ENOTSUP",
  "ENODATA",
  "E2BIG",
  "ERANGE",
  "ETXTBSY",
  "ENOSYS",
]);

/** A host error as a VfsError naming the object. */
export function hostError(e: unknown, what: string): VfsError {
  if (e instanceof VfsError) return e;
  if (e instanceof Deno.errors.NotCapable) {
    return new VfsError(
      "EACCES",
      `Deno permission missing for ${what}: ${(e as Error).message}`,
    );
  }
  const code = (e as { code?: unknown })?.code;
  if (typeof code === "string") {
    const mapped = code === "EOPNOTSUPP"
      ? "ENOTSUP"
      : code === "EWOULDBLOCK"
      ? "EAGAIN"
      : code;
    if (VFS_CODES.has(mapped)) {
      return new VfsError(mapped as VfsErrorCode, `${mapped}: ${what}`);
    }
  }
  if (e instanceof Deno.errors.NotFound) {
    return new VfsError("ENOENT", `No such file or directory: ${what}`);
  }
  if (e instanceof Deno.errors.AlreadyExists) {
    return new VfsError("EEXIST", `File exists: ${what}`);
  }
  return new VfsError("EIO", `I/O error on ${what}: ${(e as Error)?.message}`);
}

/** A synchronous body as a promise: its throw becomes a rejection. */
export function settle<T>(body: () => T): Promise<T> {
  try {
    return Promise.resolve(body());
  } catch (e) {
    return Promise.reject(e);
  }
}

/** The same object: device, inode, birth time and type. */
export function sameObject(a: Deno.FileInfo, b: Deno.FileInfo): boolean {
  return a.dev === b.dev && a.ino === b.ino &&
    (a.birthtime?.getTime() ?? 0) === (b.birthtime?.getTime() ?? 0) &&
    ((a.mode ?? 0) & 0o170000) === ((b.mode ?? 0) & 0o170000);
}

/** A non-negative safe integer (an offset or a length). */
export function isInt(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0;
}

/** lstat, or undefined when nothing is at `path`. */
export function lstat(path: string): Deno.FileInfo | undefined {
  // A missing name is an answer, not an accident: without a stack trace the
  // error costs about half as much (lookups of absent names are common).
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return Deno.lstatSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    // ENOTDIR when a component became a file: the object is not there.
    if ((e as { code?: string }).code === "ENOTDIR") return undefined;
    throw e;
  } finally {
    Error.stackTraceLimit = limit;
  }
}
