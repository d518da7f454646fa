// The libc calls of the NBD kernel attachment (nbd/kernel.ts), through the
// shared opener in sys/_libc.ts: sockets for the connections handed to the
// kernel (Deno gives no descriptor for a Deno.Conn), netlink, the NBD ioctls
// and the block device itself. Every call returns its result or minus the
// errno. A call declared `nonblocking` runs on Deno's blocking thread pool
// and reports only failure (-1): poll (waiting for a socket without holding
// the JavaScript thread), fsync of the device, and the calls during which
// the kernel may wait for this process to serve I/O (netlink CONNECT and
// DISCONNECT, NBD_DO_IT and NBD_DISCONNECT, and opening and closing the
// device, which reads its partition table or writes back): made on the
// JavaScript thread, those would wait for a server that cannot run.
import { cstr, EINTR, type LibcHandle, openLibrary, w } from "../sys/_libc.ts";

export { AF_INET, AF_INET6, SOL_SOCKET } from "../sys/_libc.ts";
export const AF_UNIX = 1;
export const AF_NETLINK = 16;
export const SOCK_STREAM = 1;
export const SOCK_RAW = 3;
export const SOCK_NONBLOCK = 0o4000;
export const SOCK_CLOEXEC = 0o2000000;
export const NETLINK_GENERIC = 16;
export const SO_ERROR = 4;
export const IPPROTO_TCP = 6;
export const TCP_NODELAY = 1;
export const MSG_DONTWAIT = 0x40;
export const MSG_NOSIGNAL = 0x4000;
export const POLLIN = 0x1;
export const POLLOUT = 0x4;
export const POLLERR = 0x8;
export const POLLHUP = 0x10;
export const POLLRDHUP = 0x2000;
export const F_GETFL = 3;
export const F_SETFL = 4;
export const O_RDONLY = 0;
export const O_RDWR = 2;
export const O_NONBLOCK = 0o4000;
export const O_CLOEXEC = 0o2000000;

/** The NBD ioctls (linux/nbd.h: `_IO(0xab, n)`). */
export const NbdIoctl = {
  SET_SOCK: 0xab00,
  SET_BLKSIZE: 0xab01,
  DO_IT: 0xab03,
  CLEAR_SOCK: 0xab04,
  SET_SIZE_BLOCKS: 0xab07,
  DISCONNECT: 0xab08,
  SET_TIMEOUT: 0xab09,
  SET_FLAGS: 0xab0a,
} as const;

const SYMBOLS = {
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  socketpair: {
    parameters: ["i32", "i32", "i32", "buffer"],
    result: "i32",
  },
  connect: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  getsockopt: {
    parameters: ["i32", "i32", "i32", "buffer", "buffer"],
    result: "i32",
  },
  setsockopt: {
    parameters: ["i32", "i32", "i32", "buffer", "u32"],
    result: "i32",
  },
  // ssize_t results as i32: every transfer here is below 2 GiB.
  recv: { parameters: ["i32", "buffer", "usize", "i32"], result: "i32" },
  send: { parameters: ["i32", "buffer", "usize", "i32"], result: "i32" },
  sendAsync: {
    name: "send",
    parameters: ["i32", "buffer", "usize", "i32"],
    result: "i32",
    nonblocking: true,
  },
  poll: { parameters: ["buffer", "u64", "i32"], result: "i32" },
  pollAsync: {
    name: "poll",
    parameters: ["buffer", "u64", "i32"],
    result: "i32",
    nonblocking: true,
  },
  eventfd: { parameters: ["u32", "i32"], result: "i32" },
  read: { parameters: ["i32", "buffer", "usize"], result: "i32" },
  write: { parameters: ["i32", "buffer", "usize"], result: "i32" },
  // open(2) without O_CREAT never reads its third argument.
  open: { parameters: ["buffer", "i32"], result: "i32" },
  openAsync: {
    name: "open",
    parameters: ["buffer", "i32"],
    result: "i32",
    nonblocking: true,
  },
  close: { parameters: ["i32"], result: "i32" },
  closeAsync: {
    name: "close",
    parameters: ["i32"],
    result: "i32",
    nonblocking: true,
  },
  fcntl: { parameters: ["i32", "i32", "i64"], result: "i32" },
  ioctl: { parameters: ["i32", "u64", "u64"], result: "i32" },
  ioctlAsync: {
    name: "ioctl",
    parameters: ["i32", "u64", "u64"],
    result: "i32",
    nonblocking: true,
  },
  fsyncAsync: {
    name: "fsync",
    parameters: ["i32"],
    result: "i32",
    nonblocking: true,
  },
} as const satisfies Deno.ForeignLibraryInterface;

/** The NBD attachment's libc calls; each returns its result or -errno. */
export class NbdLibc {
  readonly #h: LibcHandle<typeof SYMBOLS>;
  readonly #s: LibcHandle<typeof SYMBOLS>["symbols"];
  readonly #int = new Int32Array(2);
  readonly #intBytes = new Uint8Array(this.#int.buffer);
  readonly #u64 = new BigUint64Array(1);
  readonly #u64Bytes = new Uint8Array(this.#u64.buffer);

  private constructor(h: LibcHandle<typeof SYMBOLS>) {
    this.#h = h;
    this.#s = h.symbols;
  }

  /** The bindings, or why they cannot be had (see sys/_libc.ts); release them after use. */
  static open(): NbdLibc | string {
    const h = openLibrary(SYMBOLS);
    return typeof h === "string" ? h : new NbdLibc(h);
  }

  /** Gives the library back (closed with its last holder). */
  release(): void {
    this.#h.release();
  }

  #r(r: number): number {
    return r >= 0 ? r : -this.#h.errno();
  }

  /** socket(2). */
  socket(domain: number, type: number, protocol: number): number {
    return this.#r(this.#s.socket(domain, type, protocol));
  }

  /** socketpair(2): both descriptors, or -errno. */
  socketpair(domain: number, type: number): [number, number] | number {
    const r = this.#r(this.#s.socketpair(domain, type, 0, this.#intBytes));
    return r < 0 ? r : [this.#int[0], this.#int[1]];
  }

  /** connect(2) to an encoded socket address. */
  connect(fd: number, addr: Uint8Array): number {
    return this.#r(this.#s.connect(fd, addr, addr.length));
  }

  /** An int socket option, or -errno. */
  getIntOption(fd: number, level: number, name: number): number {
    this.#int[1] = 4;
    const r = this.#r(
      this.#s.getsockopt(
        fd,
        level,
        name,
        this.#intBytes.subarray(0, 4),
        this.#intBytes.subarray(4),
      ),
    );
    return r < 0 ? r : this.#int[0];
  }

  /** Sets an int socket option. */
  setIntOption(fd: number, level: number, name: number, value: number): number {
    this.#int[0] = value;
    return this.#r(
      this.#s.setsockopt(fd, level, name, this.#intBytes.subarray(0, 4), 4),
    );
  }

  /** recv(2), retried on EINTR. */
  recv(fd: number, buf: Uint8Array, flags: number): number {
    for (;;) {
      const r = this.#r(this.#s.recv(fd, buf, w(buf.length), flags));
      if (r !== -EINTR) return r;
    }
  }

  /** send(2), retried on EINTR. */
  send(fd: number, buf: Uint8Array, flags: number): number {
    for (;;) {
      const r = this.#r(this.#s.send(fd, buf, w(buf.length), flags));
      if (r !== -EINTR) return r;
    }
  }

  /** send(2) on the thread pool: the byte count, or -1 (errno unknown). */
  sendAsync(fd: number, buf: Uint8Array, flags: number): Promise<number> {
    return this.#s.sendAsync(fd, buf, w(buf.length), flags);
  }

  /** poll(2) with no wait, for its revents: the count, or -errno. */
  poll(fds: Uint8Array): number {
    return this.#r(this.#s.poll(fds, w(fds.length / 8), 0));
  }

  /** poll(2) on the thread pool: the count, or -1 (errno unknown). */
  pollAsync(fds: Uint8Array, timeoutMs: number): Promise<number> {
    return this.#s.pollAsync(fds, w(fds.length / 8), timeoutMs);
  }

  /** eventfd(2). */
  eventfd(flags: number): number {
    return this.#r(this.#s.eventfd(0, flags));
  }

  /** Adds one to an eventfd (wakes its pollers). */
  signal(fd: number): number {
    this.#u64[0] = 1n;
    return this.#r(this.#s.write(fd, this.#u64Bytes, w(8)));
  }

  /** read(2), retried on EINTR. */
  read(fd: number, buf: Uint8Array): number {
    for (;;) {
      const r = this.#r(this.#s.read(fd, buf, w(buf.length)));
      if (r !== -EINTR) return r;
    }
  }

  /** open(2) of an existing file. */
  open(path: string, flags: number): number {
    for (;;) {
      const r = this.#r(this.#s.open(cstr(path), flags | O_CLOEXEC));
      if (r !== -EINTR) return r;
    }
  }

  /**
   * open(2) on the thread pool: the descriptor, or -1 (errno unknown). For
   * a block device this process may serve: its first open reads the
   * partition table.
   */
  openAsync(path: string, flags: number): Promise<number> {
    return this.#s.openAsync(cstr(path), flags | O_CLOEXEC);
  }

  /**
   * close(2) on the thread pool. For a block device this process may
   * serve: the last close writes back what is dirty.
   */
  async closeAsync(fd: number): Promise<void> {
    await this.#s.closeAsync(fd);
  }

  /** close(2); errors are ignored (the descriptor is gone either way on Linux). */
  close(fd: number): void {
    this.#s.close(fd);
  }

  /** Sets or clears O_NONBLOCK. */
  setNonBlocking(fd: number, on: boolean): number {
    const flags = this.#r(this.#s.fcntl(fd, F_GETFL, w(0)));
    if (flags < 0) return flags;
    const want = on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK;
    return want === flags ? 0 : this.#r(this.#s.fcntl(fd, F_SETFL, w(want)));
  }

  /** ioctl(2) with an integer argument. */
  ioctl(fd: number, request: number, arg: number): number {
    return this.#r(this.#s.ioctl(fd, w(request), w(arg)));
  }

  /** ioctl(2) on the thread pool: the result, or -1 (errno unknown). */
  ioctlAsync(fd: number, request: number, arg: number): Promise<number> {
    return this.#s.ioctlAsync(fd, w(request), w(arg));
  }

  /** fsync(2) on the thread pool: 0, or -1 (errno unknown). */
  fsyncAsync(fd: number): Promise<number> {
    return this.#s.fsyncAsync(fd);
  }

  /** A small file (sysfs) as text, or -errno. */
  readText(path: string): string | number {
    const fd = this.open(path, O_RDONLY);
    if (fd < 0) return fd;
    try {
      const buf = new Uint8Array(4096);
      const n = this.read(fd, buf);
      return n < 0 ? n : new TextDecoder().decode(buf.subarray(0, n));
    } finally {
      this.close(fd);
    }
  }
}
