/**
 * The errors the NFS and MOUNT clients throw.
 *
 * A server's status becomes an {@link NfsError} carrying the program, the
 * procedure, the status number and name, the path it was about, and a
 * POSIX-style `code`. Where Deno has a class for the same condition the
 * error is also an instance of it: a missing file is a
 * `Deno.errors.NotFound`, so code written for `Deno.stat` works unchanged
 * against {@link NfsClient}. A reply that cannot be decoded is an
 * {@link NfsProtocolError}; a lost connection, a refused call or a timeout
 * is one of the `RpcError` classes of `@netfs/netfs/rpc`.
 *
 * @example A missing file, as Deno and as NFS see it
 * ```ts
 * import { NfsClient, NfsError } from "@netfs/netfs/client";
 * import { serveNfs } from "@netfs/netfs/server";
 * import { MemFs } from "@netfs/netfs/vfs";
 * import assert from "node:assert/strict";
 *
 * const server = serveNfs({ port: 0, quiet: true, exports: [{ path: "/", fs: new MemFs({ rootMode: 0o1777 }) }] });
 * await using nfs = await NfsClient.connect(`nfs://127.0.0.1:${server.addr.port}/`);
 * await assert.rejects(nfs.stat("/missing.txt"), (e) =>
 *   e instanceof Deno.errors.NotFound && e instanceof NfsError &&
 *   e.procedure === "LOOKUP" && e.statusName === "NFS3ERR_NOENT" &&
 *   e.path === "/missing.txt" && e.code === "ENOENT");
 * await nfs.close();
 * await server.shutdown();
 * ```
 *
 * @module
 */

/** What an {@link NfsError} is made from. */
export interface NfsErrorInit {
  /** "NFS" or "MOUNT". */
  program: string;
  /** Protocol version: 2 or 3 for NFS, 1 or 3 for MOUNT. */
  version: number;
  /** The procedure that failed, such as "LOOKUP". */
  procedure: string;
  /** The status number from the reply. */
  status: number;
  /** The status name, such as "NFS3ERR_NOENT". */
  statusName: string;
  /** The path the call was about; "" when not known. */
  path: string;
}

const BRAND = Symbol.for("netfs.NfsError");

/**
 * The POSIX names of the statuses NFS shares with errno (NFS and MOUNT use
 * the errno numbers for them); the rest keep their protocol name.
 */
const POSIX_CODES: Readonly<Record<number, string>> = {
  1: "EPERM",
  2: "ENOENT",
  5: "EIO",
  6: "ENXIO",
  13: "EACCES",
  17: "EEXIST",
  18: "EXDEV",
  19: "ENODEV",
  20: "ENOTDIR",
  21: "EISDIR",
  22: "EINVAL",
  27: "EFBIG",
  28: "ENOSPC",
  30: "EROFS",
  31: "EMLINK",
  63: "ENAMETOOLONG",
  66: "ENOTEMPTY",
  69: "EDQUOT",
  70: "ESTALE",
  71: "EREMOTE",
  10004: "ENOTSUP",
  10008: "EJUKEBOX",
};

/** Human text for the common codes, Deno's wording where it has one. */
const TEXT: Readonly<Record<string, string>> = {
  EPERM: "Operation not permitted",
  ENOENT: "No such file or directory",
  EIO: "Input/output error",
  EACCES: "Permission denied",
  EEXIST: "File exists",
  EXDEV: "Cross-device link",
  ENOTDIR: "Not a directory",
  EISDIR: "Is a directory",
  EINVAL: "Invalid argument",
  EFBIG: "File too large",
  ENOSPC: "No space left on device",
  EROFS: "Read-only file system",
  EMLINK: "Too many links",
  ENAMETOOLONG: "File name too long",
  ENOTEMPTY: "Directory not empty",
  EDQUOT: "Disk quota exceeded",
  ESTALE: "Stale file handle",
  ENOTSUP: "Operation not supported",
  EJUKEBOX: "Server busy, try again later",
};

/** The Deno error class each code also belongs to. */
function denoClass(code: string): (new (message: string) => Error) | null {
  switch (code) {
    case "ENOENT":
      return Deno.errors.NotFound;
    case "EPERM":
    case "EACCES":
      return Deno.errors.PermissionDenied;
    case "EEXIST":
      return Deno.errors.AlreadyExists;
    case "ENOTDIR":
      return Deno.errors.NotADirectory;
    case "EISDIR":
      return Deno.errors.IsADirectory;
    case "ENOTSUP":
      return Deno.errors.NotSupported;
    case "EJUKEBOX":
      return Deno.errors.Busy;
    default:
      return null;
  }
}

/**
 * A status other than OK from an NFS or MOUNT server.
 *
 * `e instanceof NfsError` is true for every such error, including those
 * that are also a `Deno.errors` class: NotFound (NOENT), PermissionDenied
 * (PERM, ACCES), AlreadyExists (EXIST), NotADirectory (NOTDIR),
 * IsADirectory (ISDIR), NotSupported (NOTSUPP) and Busy (JUKEBOX). Build
 * them with {@link nfsError}. (What the client finds on its own, such as a
 * symbolic-link loop, is a plain `Deno.errors` error.)
 *
 * @example Not empty has no Deno class; the code tells
 * ```ts
 * import { NfsClient, NfsError } from "@netfs/netfs/client";
 * import { serveNfs } from "@netfs/netfs/server";
 * import { MemFs } from "@netfs/netfs/vfs";
 * import assert from "node:assert/strict";
 *
 * const server = serveNfs({ port: 0, quiet: true, exports: [{ path: "/", fs: new MemFs({ rootMode: 0o1777 }) }] });
 * await using nfs = await NfsClient.connect(`nfs://127.0.0.1:${server.addr.port}/`);
 * await nfs.mkdir("/d/e", { recursive: true });
 * await assert.rejects(nfs.remove("/d"), (e) =>
 *   e instanceof NfsError && e.code === "ENOTEMPTY" && e.procedure === "RMDIR" &&
 *   e.message === "Directory not empty (NFS3ERR_NOTEMPTY from RMDIR): /d");
 * await nfs.close();
 * await server.shutdown();
 * ```
 */
export class NfsError extends Error {
  /** "NFS" or "MOUNT". */
  declare readonly program: string;
  /** Protocol version. */
  declare readonly version: number;
  /** The procedure that failed, such as "LOOKUP". */
  declare readonly procedure: string;
  /** The status number from the reply. */
  declare readonly status: number;
  /** The status name, such as "NFS3ERR_NOENT". */
  declare readonly statusName: string;
  /** The path the call was about; "" when not known. */
  declare readonly path: string;
  /** The POSIX name ("ENOENT") or, for NFS-only statuses, the status name. */
  declare readonly code: string;

  /**
   * Creates the error. Prefer {@link nfsError}, which also picks the
   * matching `Deno.errors` class.
   *
   * @param init What failed, and how.
   */
  constructor(init: NfsErrorInit) {
    super(nfsErrorMessage(init));
    this.name = "NfsError";
    brand(this, init);
  }

  /** True for every error {@link nfsError} makes, whatever its class. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === "object" && value !== null &&
      (value as Record<symbol, unknown>)[BRAND] === true;
  }
}

function codeOf(init: NfsErrorInit): string {
  return POSIX_CODES[init.status] ?? init.statusName;
}

function nfsErrorMessage(init: NfsErrorInit): string {
  const code = codeOf(init);
  const what = TEXT[code] ?? `${init.program} error`;
  const where = init.path === "" ? "" : `: ${init.path}`;
  return `${what} (${init.statusName} from ${init.procedure})${where}`;
}

function brand(e: Error, init: NfsErrorInit): void {
  const fields = { ...init, code: codeOf(init) };
  for (const [k, v] of Object.entries(fields)) {
    Object.defineProperty(e, k, { value: v, enumerable: true });
  }
  Object.defineProperty(e, BRAND, { value: true });
}

/**
 * Makes the error for a failed call: an instance of the matching
 * `Deno.errors` class when there is one, else a plain {@link NfsError};
 * either way `instanceof NfsError` holds and the fields are set.
 *
 * @example
 * ```ts
 * import { nfsError, NfsError } from "@netfs/netfs/client";
 * import assert from "node:assert/strict";
 *
 * const e = nfsError({
 *   program: "NFS", version: 3, procedure: "CREATE",
 *   status: 17, statusName: "NFS3ERR_EXIST", path: "/a.txt",
 * });
 * assert.ok(e instanceof Deno.errors.AlreadyExists && e instanceof NfsError);
 * assert.equal(e.message, "File exists (NFS3ERR_EXIST from CREATE): /a.txt");
 * ```
 *
 * @param init What failed, and how.
 */
export function nfsError(init: NfsErrorInit): NfsError {
  const Base = denoClass(codeOf(init));
  if (Base === null) return new NfsError(init);
  const e = new Base(nfsErrorMessage(init));
  brand(e, init);
  return e as NfsError;
}

/**
 * A reply the client cannot use: malformed XDR, a result that contradicts
 * the call (more READ data than asked for, a directory listing that
 * repeats itself), or a server that does not speak the protocol.
 *
 * @example A reply with a field cut short
 * ```ts
 * import { NfsProtocolError } from "@netfs/netfs/client";
 * import assert from "node:assert/strict";
 *
 * const e = new NfsProtocolError("GETATTR", "Need 84 bytes, 12 left (fattr3)");
 * assert.equal(e.message, "Malformed GETATTR reply: Need 84 bytes, 12 left (fattr3)");
 * assert.equal(e.procedure, "GETATTR");
 * ```
 */
export class NfsProtocolError extends Error {
  /** The procedure whose reply was bad. */
  readonly procedure: string;

  /**
   * Creates the error.
   *
   * @param procedure The procedure whose reply was bad.
   * @param detail What was wrong with it.
   */
  constructor(procedure: string, detail: string) {
    super(`Malformed ${procedure} reply: ${detail}`);
    this.name = "NfsProtocolError";
    this.procedure = procedure;
  }
}
