// A TCP connection's receive low-water mark (SO_RCVLOWAT), set through
// libc by a reader that knows how many bytes it waits for: the rest of a
// 1 MiB WRITE whose header has arrived. Without a mark the kernel wakes the
// reader for each burst of segments (5 to 7 times per MiB over loopback,
// measured with strace); with one, once that many bytes are queued, the
// peer has closed, or the kernel is short of receive memory (it then wakes
// the reader anyway, so a mark cannot hang a connection on Linux 5.x and
// later).
//
// What it promises:
// - `LowWaterMarks.open()` gives the marks or says why not: not Linux on
//   x86_64 or aarch64, no `--allow-ffi` (sys/_libc.ts), or a kernel older
//   than 4.19 (which did not grow the receive buffer to hold a mark). One
//   libc symbol set is held until `close()`.
// - Deno does not expose a connection's descriptor, so the setter
//   `watch(conn)` gives finds it at its first mark over 1: the descriptor whose local and peer addresses both equal the
//   connection's (a TCP connection's address pair is unique on a host).
//   Descriptors are tried from 3 up to 65,535; if none matches, the setter
//   does nothing and the reader reads as it would without marks.
// - The setter skips a mark already set, clamps to [1, 16 MiB] (the kernel
//   clamps further, to half its largest receive buffer), and does nothing
//   once `closed()` says the connection is closed: its descriptor number
//   may by then belong to another file. A failed setsockopt turns the
//   setter off for good.
// - `openLowWater(option)` is the servers' `lowWater` option: false is
//   off, undefined on where it can be, true on or an error.

import {
  AF_INET,
  AF_INET6,
  type LibcHandle,
  openLibrary,
  SOL_SOCKET,
} from "../sys/_libc.ts";
import { ipv4Bytes, ipv6Bytes } from "./address.ts";

const SYMBOLS = {
  getsockname: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  getpeername: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  setsockopt: {
    parameters: ["i32", "i32", "i32", "buffer", "u32"],
    result: "i32",
  },
  uname: { parameters: ["buffer"], result: "i32" },
} as const;

/** Linux's value on x86_64 and aarch64 (asm-generic). */
const SO_RCVLOWAT = 18;

/** The highest descriptor tried when looking for a connection's. */
const MAX_FD = 65535;
/** The largest mark asked for. */
const MAX_MARK = 16 * 1024 * 1024;

/** Sets a connection's mark: the bytes its next read waits for. */
export type LowWater = (bytes: number) => void;

/**
 * The libc calls behind connections' low-water marks, held while a server
 * runs.
 */
export class LowWaterMarks {
  readonly #lib: LibcHandle<typeof SYMBOLS>;
  readonly #addr = new Uint8Array(128);
  readonly #len = new Uint32Array(1);
  readonly #lenBytes = u8(this.#len);
  readonly #value = new Int32Array(1);
  readonly #valueBytes = u8(this.#value);
  #closed = false;

  private constructor(lib: LibcHandle<typeof SYMBOLS>) {
    this.#lib = lib;
  }

  /** The marks, or why they cannot be set here. */
  static open(): LowWaterMarks | string {
    const lib = openLibrary(SYMBOLS);
    if (typeof lib === "string") return lib;
    const old = oldKernel(lib);
    if (old !== undefined) {
      lib.release();
      return old;
    }
    return new LowWaterMarks(lib);
  }

  /**
   * A setter for `conn`'s mark. `closed` says when the connection has been
   * closed. The descriptor is looked for at the first mark over 1: many
   * connections never need one.
   */
  watch(conn: Deno.TcpConn, closed: () => boolean): LowWater {
    const s = this.#lib.symbols;
    const value = this.#value;
    const valueBytes = this.#valueBytes;
    let fd: number | undefined;
    let current = 1;
    return (bytes: number) => {
      const want = bytes < 1 ? 1 : bytes > MAX_MARK ? MAX_MARK : bytes;
      if (want === current || fd === -1 || this.#closed || closed()) return;
      fd ??= this.#find(conn);
      if (fd < 0) return;
      current = want;
      value[0] = want;
      if (s.setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, valueBytes, 4) !== 0) {
        fd = -1;
      }
    };
  }

  /** Gives the libc symbols back; setters made before do nothing after. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#lib.release();
  }

  /** The descriptor whose address pair is `conn`'s, or -1. */
  #find(conn: Deno.TcpConn): number {
    const local = addressKey(conn.localAddr as Deno.NetAddr);
    const peer = addressKey(conn.remoteAddr as Deno.NetAddr);
    if (local === undefined || peer === undefined) return -1;
    const s = this.#lib.symbols;
    for (let fd = 3; fd <= MAX_FD; fd++) {
      if (
        this.#matches(s.getpeername, fd, peer) &&
        this.#matches(s.getsockname, fd, local)
      ) return fd;
    }
    return -1;
  }

  /** Whether `call` gives `fd` the address `key`. */
  #matches(
    call: (fd: number, addr: Uint8Array, len: Uint8Array) => number,
    fd: number,
    key: Uint8Array,
  ): boolean {
    this.#len[0] = this.#addr.length;
    if (call(fd, this.#addr, this.#lenBytes) !== 0) return false;
    const got = socketKey(this.#addr, this.#len[0]);
    return got !== undefined && equal(got, key);
  }
}

/**
 * Why the running kernel's marks could hang a connection, or undefined:
 * before Linux 4.19 a mark over half the receive buffer was not met by
 * growing the buffer, so the reader could wait for bytes that never fit.
 */
function oldKernel(lib: LibcHandle<typeof SYMBOLS>): string | undefined {
  // struct utsname: six 65-byte fields; the release is the third.
  const u = new Uint8Array(6 * 65);
  if (lib.symbols.uname(u) !== 0) return "uname failed";
  const release = new TextDecoder().decode(u.subarray(130, 195))
    .replace(/\0.*$/s, "");
  return kernelProblem(release);
}

/** Why marks are unsafe on kernel `release` ("6.1.0-18-amd64"), or undefined. */
export function kernelProblem(release: string): string | undefined {
  const m = /^(\d+)\.(\d+)/.exec(release);
  if (m === null) return `unknown kernel release: ${release}`;
  const [major, minor] = [Number(m[1]), Number(m[2])];
  return major > 4 || (major === 4 && minor >= 19)
    ? undefined
    : `kernel ${release} is older than 4.19`;
}

function u8(a: Int32Array | Uint32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/**
 * An address as 18 bytes: the IPv6 form (an IPv4 address mapped into
 * it), then the port. The same key whichever family a dual-stack socket
 * reports an IPv4 peer in.
 */
function key(ip: Uint8Array, port: number): Uint8Array {
  const out = new Uint8Array(18);
  if (ip.length === 4) {
    out[10] = out[11] = 0xff;
    out.set(ip, 12);
  } else out.set(ip);
  out[16] = port >> 8;
  out[17] = port & 0xff;
  return out;
}

/** The key of a Deno address, or undefined if its hostname is not an IP. */
export function addressKey(addr: Deno.NetAddr): Uint8Array | undefined {
  const host = addr.hostname.replace(/^\[|\]$/g, "").replace(/%.*$/, "");
  const ip = ipv4Bytes(host) ?? ipv6Bytes(host);
  return ip === undefined ? undefined : key(ip, addr.port);
}

/** The key of a `sockaddr_in` / `sockaddr_in6` of `len` bytes, or undefined. */
export function socketKey(sa: Uint8Array, len: number): Uint8Array | undefined {
  const family = sa[0] | (sa[1] << 8);
  const port = (sa[2] << 8) | sa[3];
  if (family === AF_INET && len >= 8) return key(sa.subarray(4, 8), port);
  if (family === AF_INET6 && len >= 24) return key(sa.subarray(8, 24), port);
  return undefined;
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return a.length === b.length;
}

/**
 * The marks a server's `lowWater` option asks for: none for false; for
 * undefined, the marks where they can be set; for true, the marks or an
 * error saying why they cannot be set.
 */
export function openLowWater(
  option: boolean | undefined,
): LowWaterMarks | undefined {
  if (option === false) return undefined;
  const marks = LowWaterMarks.open();
  if (typeof marks !== "string") return marks;
  if (option) throw new Error(`Receive low-water marks unavailable: ${marks}`);
  return undefined;
}
