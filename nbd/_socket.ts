/**
 * Sockets opened through libc, as the {@link Stream} the NBD code reads and
 * writes: Deno gives no operating-system descriptor for a `Deno.Conn`, and
 * the kernel's NBD driver takes descriptors. A {@link SocketStream} is a
 * non-blocking socket; `read` and `write` try the call on the JavaScript
 * thread first (errno readable there) and, when it would block, wait in
 * poll(2) on Deno's thread pool together with an eventfd that `close` and
 * `handOff` signal, so no wait outlives the stream.
 *
 * {@link SocketStream.handOff} ends the stream's own use of the socket and
 * gives its descriptor away (to the kernel): a read or write waiting at that
 * moment rejects without touching the socket, so no byte meant for the new
 * owner is consumed here.
 *
 * @module
 */

import { ipv4Bytes, ipv6Bytes } from "../net/address.ts";
import { EAGAIN, EINPROGRESS, EINTR, errnoText } from "../sys/_libc.ts";
import {
  AF_INET,
  AF_INET6,
  AF_UNIX,
  IPPROTO_TCP,
  MSG_DONTWAIT,
  MSG_NOSIGNAL,
  NbdLibc,
  O_CLOEXEC,
  O_NONBLOCK,
  POLLERR,
  POLLHUP,
  POLLIN,
  POLLOUT,
  SO_ERROR,
  SOCK_CLOEXEC,
  SOCK_NONBLOCK,
  SOCK_STREAM,
  SOL_SOCKET,
  TCP_NODELAY,
} from "./_libc.ts";
import type { Stream } from "./_stream.ts";

/** libc for sockets, or an error saying why there is none. */
export function socketLibc(): NbdLibc {
  const lib = NbdLibc.open();
  if (typeof lib === "string") {
    throw new Error(`Sockets through libc are unavailable: ${lib}`);
  }
  return lib;
}

type State = "open" | "closed" | "handed-off";

/** A non-blocking socket descriptor as a {@link Stream}. */
export class SocketStream implements Stream {
  readonly #lib: NbdLibc;
  #fd: number;
  readonly #wake: number;
  #state: State = "open";
  #waits = 0;
  #settled: (() => void)[] = [];
  readonly #readPoll = new Uint8Array(16);
  readonly #writePoll = new Uint8Array(16);
  /** What the peer is, for messages. */
  readonly peer: string;

  /**
   * Takes ownership of `fd` (made non-blocking here); `lib` is released
   * when the stream ends.
   */
  constructor(lib: NbdLibc, fd: number, peer: string) {
    const wake = lib.eventfd(O_CLOEXEC | O_NONBLOCK);
    const nb = wake < 0 ? wake : lib.setNonBlocking(fd, true);
    if (wake < 0 || nb < 0) {
      if (wake >= 0) lib.close(wake);
      lib.close(fd);
      lib.release();
      throw new Error(
        `Socket setup failed: ${errnoText(wake < 0 ? wake : nb)}`,
      );
    }
    this.#lib = lib;
    this.#fd = fd;
    this.#wake = wake;
    this.peer = peer;
  }

  /** The descriptor (-1 once closed or handed off). */
  get fd(): number {
    return this.#fd;
  }

  #ended(): Error {
    return new Error(
      this.#state === "handed-off"
        ? `Socket was handed to the kernel: ${this.peer}`
        : `Socket is closed: ${this.peer}`,
    );
  }

  /**
   * Waits in poll(2) off the JavaScript thread until `events` or a wake-up;
   * returns the socket's revents.
   */
  async #wait(buf: Uint8Array, events: number): Promise<number> {
    const v = new DataView(buf.buffer);
    v.setInt32(0, this.#fd, true);
    v.setInt16(4, events, true);
    v.setInt16(6, 0, true);
    v.setInt32(8, this.#wake, true);
    v.setInt16(12, POLLIN, true);
    v.setInt16(14, 0, true);
    this.#waits++;
    try {
      // A failure (EINTR) is a spurious wake-up: the caller tries again.
      await this.#lib.pollAsync(buf, -1);
    } finally {
      if (--this.#waits === 0) {
        for (const r of this.#settled.splice(0)) r();
      }
    }
    if (this.#state !== "open") throw this.#ended();
    return v.getInt16(6, true);
  }

  /** Reads what is there (at least one byte), or null at end of stream. */
  async read(p: Uint8Array): Promise<number | null> {
    for (;;) {
      if (this.#state !== "open") throw this.#ended();
      const n = this.#lib.recv(this.#fd, p, MSG_DONTWAIT);
      if (n > 0) return n;
      if (n === 0) return p.length === 0 ? 0 : null;
      if (n !== -EAGAIN) {
        throw new Error(`Socket read failed: ${errnoText(n)}: ${this.peer}`);
      }
      await this.#wait(this.#readPoll, POLLIN);
    }
  }

  /** Writes some of `p` (at least one byte) and returns how much. */
  async write(p: Uint8Array): Promise<number> {
    for (;;) {
      if (this.#state !== "open") throw this.#ended();
      const n = this.#lib.send(this.#fd, p, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n >= 0) return n;
      if (n !== -EAGAIN) {
        throw new Error(`Socket write failed: ${errnoText(n)}: ${this.peer}`);
      }
      await this.#wait(this.#writePoll, POLLOUT);
    }
  }

  /** Waits for a non-blocking connect(2) to finish; throws its error. */
  async connected(): Promise<void> {
    for (;;) {
      const revents = await this.#wait(this.#writePoll, POLLOUT);
      if ((revents & (POLLOUT | POLLERR | POLLHUP)) === 0) continue;
      const err = this.#lib.getIntOption(this.#fd, SOL_SOCKET, SO_ERROR);
      if (err === 0) return;
      if (err !== EINPROGRESS && err !== -EINTR) {
        throw new Error(`Connect failed: ${errnoText(err)}: ${this.peer}`);
      }
    }
  }

  #settle(): Promise<void> {
    if (this.#waits === 0) return Promise.resolve();
    this.#lib.signal(this.#wake);
    return new Promise((r) => this.#settled.push(r));
  }

  /** Closes the socket once no wait is in flight (at once when none is). */
  close(): void {
    if (this.#state !== "open") return;
    this.#state = "closed";
    const fd = this.#fd;
    this.#fd = -1;
    this.#settle().then(() => {
      this.#lib.close(fd);
      this.#lib.close(this.#wake);
      this.#lib.release();
    });
  }

  /**
   * Ends this stream's use of the socket and returns its descriptor, made
   * blocking again, for a new owner who must close it. Waiting reads and
   * writes reject first.
   */
  async handOff(): Promise<number> {
    if (this.#state !== "open") throw this.#ended();
    this.#state = "handed-off";
    const fd = this.#fd;
    this.#fd = -1;
    await this.#settle();
    this.#lib.setNonBlocking(fd, false);
    this.#lib.close(this.#wake);
    this.#lib.release();
    return fd;
  }
}

/** Where {@link connectSocket} connects. */
export interface SocketAddress {
  /** An IPv4 or IPv6 address or a name (resolved with `Deno.resolveDns`); default `"127.0.0.1"`. */
  hostname?: string;
  /** Default 10809. */
  port?: number;
}

function sockaddr(ip: Uint8Array, port: number): Uint8Array {
  const b = new Uint8Array(ip.length === 4 ? 16 : 28);
  const v = new DataView(b.buffer);
  v.setUint16(0, ip.length === 4 ? AF_INET : AF_INET6, true);
  v.setUint16(2, port); // network order
  b.set(ip, ip.length === 4 ? 4 : 8);
  return b;
}

async function resolve(hostname: string): Promise<Uint8Array> {
  const literal = ipv4Bytes(hostname) ??
    ipv6Bytes(hostname.replace(/^\[(.*)\]$/, "$1"));
  if (literal) return literal;
  if (hostname === "localhost") return new Uint8Array([127, 0, 0, 1]);
  for (const type of ["A", "AAAA"] as const) {
    const found = await Deno.resolveDns(hostname, type).catch(() => []);
    for (const a of found) {
      const ip = ipv4Bytes(a) ?? ipv6Bytes(a);
      if (ip) return ip;
    }
  }
  throw new Error(`Host name did not resolve: ${hostname}`);
}

/** Opens a TCP connection through libc (TCP_NODELAY set). */
export async function connectSocket(
  options: SocketAddress = {},
): Promise<SocketStream> {
  const hostname = options.hostname ?? "127.0.0.1";
  const port = options.port ?? 10809;
  const ip = await resolve(hostname);
  const lib = socketLibc();
  const fd = lib.socket(
    ip.length === 4 ? AF_INET : AF_INET6,
    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
    0,
  );
  if (fd < 0) {
    lib.release();
    throw new Error(`Socket creation failed: ${errnoText(fd)}`);
  }
  const peer = `${hostname}:${port}`;
  const s = new SocketStream(lib, fd, peer);
  try {
    lib.setIntOption(fd, IPPROTO_TCP, TCP_NODELAY, 1);
    const r = lib.connect(fd, sockaddr(ip, port));
    if (r === -EINPROGRESS || r === -EINTR) await s.connected();
    else if (r < 0) {
      throw new Error(`Connect failed: ${errnoText(r)}: ${peer}`);
    }
    return s;
  } catch (e) {
    s.close();
    throw e;
  }
}

/** Two connected ends of an AF_UNIX stream socket pair. */
export function socketPair(name: string): [SocketStream, SocketStream] {
  const lib = socketLibc();
  const fds = lib.socketpair(
    AF_UNIX,
    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
  );
  if (typeof fds === "number") {
    lib.release();
    throw new Error(`Socket pair creation failed: ${errnoText(fds)}`);
  }
  // A failed end closes its own descriptor and holder; the other is
  // closed here, so a failure leaks neither.
  const other = socketLibc();
  let first: SocketStream;
  try {
    first = new SocketStream(lib, fds[0], `${name} (client end)`);
  } catch (e) {
    other.close(fds[1]);
    other.release();
    throw e;
  }
  try {
    return [first, new SocketStream(other, fds[1], `${name} (server end)`)];
  } catch (e) {
    first.close();
    throw e;
  }
}
