/**
 * The error NBD devices throw and NBD clients receive: a message plus the
 * NBD error value (`NBD_EIO`, `NBD_ENOSPC` …) that goes on the wire.
 *
 * @example
 * ```ts
 * import { Errno, NbdError } from "@netfs/netfs/nbd";
 * import assert from "node:assert/strict";
 *
 * const e = new NbdError(Errno.ENOSPC, "Write past the end: offset 4096");
 * assert.equal(e.errno, 28); // the value on the wire
 * assert.equal(e.code, "ENOSPC"); // its name, for people
 * assert.equal(new NbdError(99, "Odd").code, "E99");
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
 * @example What a client sees when the server refuses a request
 * ```ts
 * import { connectNbd, MemoryDevice, NbdError, serveNbd } from "@netfs/netfs/nbd";
 * import assert from "node:assert/strict";
 *
 * const server = serveNbd({ exports: [{ name: "mem", device: new MemoryDevice(4096) }] });
 * const disk = await connectNbd({ port: server.addr.port, export: "mem" });
 * await assert.rejects(
 *   disk.writeAt(4094, new Uint8Array(4)),
 *   (e) => e instanceof NbdError && e.code === "ENOSPC", // the spec's answer for writes
 * );
 * await disk.close();
 * await server.shutdown();
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
 * import { Errno, NbdError, toErrno } from "@netfs/netfs/nbd";
 * import { VfsError } from "@netfs/netfs/vfs";
 * import assert from "node:assert/strict";
 *
 * assert.equal(toErrno(new NbdError(Errno.EINVAL, "Unaligned offset: 3")), Errno.EINVAL);
 * assert.equal(toErrno(new VfsError("EROFS", "Read-only file system")), Errno.EPERM);
 * assert.equal(toErrno(Object.assign(new Error("Too big"), { code: "EFBIG" })), Errno.ENOSPC);
 * assert.equal(toErrno(new TypeError("Bug")), Errno.EIO);
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
