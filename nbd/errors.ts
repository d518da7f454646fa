/**
 * The error NBD devices throw and NBD clients receive: a message plus the
 * NBD error value (`NBD_EIO`, `NBD_ENOSPC` …) that goes on the wire.
 *
 * @example
 * ```ts
 * import { NbdError } from "./errors.ts";
 * import { Errno } from "./protocol.ts";
 * const e = new NbdError(Errno.ENOSPC, "Write past the end: offset 4096");
 * console.log(e.errno, e.code); // 28 ENOSPC
 * ```
 *
 * @module
 */

import { Errno } from "./protocol.ts";

const NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(Errno).map(([k, v]) => [v, k]),
);

/**
 * An NBD-level failure with its error value. Devices throw it to choose the
 * value sent to the client; the client throws it when a reply carries an
 * error.
 *
 * @example
 * ```ts
 * import { NbdError } from "./errors.ts";
 * try {
 *   throw new NbdError(22, "Unaligned offset: 3");
 * } catch (e) {
 *   if (e instanceof NbdError) console.log(e.code); // EINVAL
 * }
 * ```
 */
export class NbdError extends Error {
  /** The NBD error value ({@link Errno}). */
  readonly errno: number;

  /**
   * Builds the error.
   *
   * @param errno The NBD error value.
   * @param message Sentence case, no final period, the detail after a colon.
   */
  constructor(errno: number, message: string) {
    super(message);
    this.name = "NbdError";
    this.errno = errno;
  }

  /** The symbolic name of {@link errno} (`"EIO"`, or `"E<number>"` if unknown). */
  get code(): string {
    return NAMES[this.errno] ?? `E${this.errno}`;
  }
}

/**
 * Maps any thrown value to the NBD error value to send: an {@link NbdError}
 * keeps its own; POSIX codes from VFS or `node:fs` errors map as the spec
 * asks (EDQUOT and EFBIG become ENOSPC, EROFS and EACCES become EPERM);
 * anything else is EIO.
 *
 * @example
 * ```ts
 * import { toErrno } from "./errors.ts";
 * console.log(toErrno(Object.assign(new Error("x"), { code: "EFBIG" }))); // 28
 * ```
 */
export function toErrno(e: unknown): number {
  if (e instanceof NbdError) return e.errno;
  const code = (e as { code?: unknown })?.code;
  switch (code) {
    case "EPERM":
    case "EACCES":
    case "EROFS":
      return Errno.EPERM;
    case "ENOSPC":
    case "EDQUOT":
    case "EFBIG":
      return Errno.ENOSPC;
    case "EINVAL":
      return Errno.EINVAL;
    case "ENOTSUP":
    case "EOPNOTSUPP":
    case "ENOSYS":
      return Errno.ENOTSUP;
    case "ENOMEM":
      return Errno.ENOMEM;
    default:
      return Errno.EIO;
  }
}
