// What every libc binding of this toolkit shares (the native LocalFs engine's
// in vfs/localfs/_libc.ts, the NBD kernel attachment's in nbd/_libc.ts): the
// platform check, opening libc.so.6 with a symbol set while some holder
// needs it, reading errno, the errno numbers with their names and texts, and
// the socket constants both socket users (nbd/_libc.ts, net/_low_water.ts)
// need.
//
// What it promises:
// - `openLibrary(symbols)` gives the symbols or says why it cannot: not
//   Linux on x86_64 or aarch64, no `--allow-ffi`, or a libc without one of
//   the symbols (all or nothing). Each symbol set is opened once while it has
//   holders and closed with its last `release()`, so that a test that opens
//   and closes what uses it leaves no library loaded (the resource sanitizer
//   counts a loaded library). Deno prepares a call path per symbol, so a set
//   costs some milliseconds to open.
// - `errno()` reads the calling thread's errno: valid right after a
//   synchronous call that failed. A call made with `nonblocking: true` runs
//   on another thread whose errno cannot be read here; its callers learn
//   the errno another way (a synchronous retry, a status word) or not at all.

/** The architecture, as Deno names it. */
export const arch = Deno.build.arch as string;

/** Socket families and the socket option level (the same on x86_64 and aarch64). */
export const AF_INET = 2;
export const AF_INET6 = 10;
export const SOL_SOCKET = 1;

/** errno values (the same on x86_64 and aarch64). */
export const EPERM = 1;
export const ENOENT = 2;
export const EINTR = 4;
export const EIO = 5;
export const ENXIO = 6;
export const EBADF = 9;
export const EAGAIN = 11;
export const EACCES = 13;
export const EBUSY = 16;
export const EEXIST = 17;
export const EXDEV = 18;
export const ENODEV = 19;
export const ENOTDIR = 20;
export const EINVAL = 22;
export const ENOTTY = 25;
export const EPIPE = 32;
export const EROFS = 30;
export const ERANGE = 34;
export const ENOSYS = 38;
export const ELOOP = 40;
export const ENODATA = 61;
export const EOPNOTSUPP = 95;
export const ECONNRESET = 104;
export const ENOTCONN = 107;
export const ETIMEDOUT = 110;
export const ECONNREFUSED = 111;
export const EINPROGRESS = 115;

/** errno numbers with their names and texts (EOPNOTSUPP is named ENOTSUP, as POSIX allows). */
export const ERRNO_NAMES: Readonly<Record<number, readonly [string, string]>> =
  {
    1: ["EPERM", "Operation not permitted"],
    2: ["ENOENT", "No such file or directory"],
    5: ["EIO", "Input/output error"],
    6: ["ENXIO", "No such device or address"],
    7: ["E2BIG", "Argument list too long"],
    9: ["EBADF", "Bad file descriptor"],
    11: ["EAGAIN", "Resource temporarily unavailable"],
    12: ["ENOMEM", "Cannot allocate memory"],
    13: ["EACCES", "Permission denied"],
    16: ["EBUSY", "Device or resource busy"],
    17: ["EEXIST", "File exists"],
    18: ["EXDEV", "Crosses a mount point"],
    19: ["ENODEV", "No such device"],
    20: ["ENOTDIR", "Not a directory"],
    21: ["EISDIR", "Is a directory"],
    22: ["EINVAL", "Invalid argument"],
    25: ["ENOTTY", "Inappropriate ioctl for device"],
    26: ["ETXTBSY", "Text file busy"],
    27: ["EFBIG", "File too large"],
    28: ["ENOSPC", "No space left on device"],
    30: ["EROFS", "Read-only file system"],
    31: ["EMLINK", "Too many links"],
    32: ["EPIPE", "Broken pipe"],
    34: ["ERANGE", "Result out of range"],
    36: ["ENAMETOOLONG", "File name too long"],
    38: ["ENOSYS", "Function not implemented"],
    39: ["ENOTEMPTY", "Directory not empty"],
    40: ["ELOOP", "Too many levels of symbolic links"],
    61: ["ENODATA", "No such attribute"],
    95: ["ENOTSUP", "Operation not supported"],
    97: ["EAFNOSUPPORT", "Address family not supported by protocol"],
    99: ["EADDRNOTAVAIL", "Cannot assign requested address"],
    101: ["ENETUNREACH", "Network is unreachable"],
    104: ["ECONNRESET", "Connection reset by peer"],
    107: ["ENOTCONN", "Transport endpoint is not connected"],
    110: ["ETIMEDOUT", "Connection timed out"],
    111: ["ECONNREFUSED", "Connection refused"],
    113: ["EHOSTUNREACH", "No route to host"],
    116: ["ESTALE", "Stale file handle"],
    122: ["EDQUOT", "Disk quota exceeded"],
  };

/** "Text (ENAME)" for an errno (positive or negated), or its number when unknown. */
export function errnoText(errno: number): string {
  const e = Math.abs(errno);
  const known = ERRNO_NAMES[e];
  return known ? `${known[1]} (${known[0]})` : `errno ${e}`;
}

const ERRNO_LOCATION = {
  name: "__errno_location",
  parameters: [],
  result: "pointer",
} as const;

/** What a holder of an open symbol set gets. */
export interface LibcHandle<S extends Deno.ForeignLibraryInterface> {
  /** The symbols, valid until {@link release}. */
  readonly symbols: Deno.DynamicLibrary<S>["symbols"];
  /** The calling thread's errno (see the module header). */
  errno(): number;
  /** Gives the set back (closed with its last holder); no call may follow. */
  release(): void;
}

interface Shared {
  lib: Deno.DynamicLibrary<Deno.ForeignLibraryInterface>;
  errno: Deno.UnsafePointerView;
  holders: number;
}

/** The open symbol sets, keyed by their declaration object. */
const open = new Map<Deno.ForeignLibraryInterface, Shared>();

/** Why no libc binding can run here, or undefined when it can. */
export function platformProblem(): string | undefined {
  if (Deno.build.os !== "linux") return `not Linux (${Deno.build.os})`;
  if (arch !== "x86_64" && arch !== "aarch64") {
    return `unsupported architecture (${arch})`;
  }
  if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") {
    return "--allow-ffi not granted";
  }
  return undefined;
}

/**
 * Opens libc.so.6 with `symbols` (shared with other holders of the same
 * declaration object), or says why it cannot.
 */
export function openLibrary<S extends Deno.ForeignLibraryInterface>(
  symbols: S,
): LibcHandle<S> | string {
  const problem = platformProblem();
  if (problem !== undefined) return problem;
  let shared = open.get(symbols);
  if (shared === undefined) {
    let lib: Deno.DynamicLibrary<Deno.ForeignLibraryInterface>;
    try {
      lib = Deno.dlopen("libc.so.6", {
        ...symbols,
        errnoLocation: ERRNO_LOCATION,
      });
    } catch (e) {
      return `libc.so.6 could not be opened: ${(e as Error).message}`;
    }
    const at = (lib.symbols.errnoLocation as () => Deno.PointerValue)();
    if (at === null) {
      lib.close();
      return "no errno location";
    }
    shared = { lib, errno: new Deno.UnsafePointerView(at), holders: 0 };
    open.set(symbols, shared);
  }
  shared.holders++;
  const s = shared;
  let released = false;
  return {
    symbols: s.lib.symbols as Deno.DynamicLibrary<S>["symbols"],
    errno: () => s.errno.getInt32(),
    release() {
      if (released) return;
      released = true;
      if (--s.holders === 0) {
        open.delete(symbols);
        s.lib.close();
      }
    },
  };
}

/**
 * A safe integer as a 64-bit FFI argument. Deno's FFI takes a number or a
 * bigint for u64/i64/usize (its declarations say bigint only); a BigInt
 * per argument cost ~0.1 µs of a ~0.7 µs pread here.
 */
export function w(n: number): bigint {
  return n as unknown as bigint;
}

const enc = new TextEncoder();

/** A NUL-terminated copy of `s` in `scratch` when it fits, else a new buffer. */
export function cstr(s: string, scratch?: Uint8Array): Uint8Array {
  if (scratch !== undefined && s.length * 3 < scratch.length) {
    const n = enc.encodeInto(s, scratch).written;
    scratch[n] = 0;
    return scratch;
  }
  return enc.encode(s + "\0");
}
