/**
 * Generic netlink for the NBD kernel attachment: the message and attribute
 * codec (linux/netlink.h, linux/genetlink.h; host byte order, which is
 * little-endian on both architectures sys/_libc.ts allows), the requests of
 * the kernel's "nbd" family (linux/nbd-netlink.h), and a socket that sends a
 * request and collects its replies up to the acknowledgement.
 *
 * Decoding is bounded and total: every length is checked against the bytes
 * left, nesting is one level deep at most, and malformed input gives a
 * {@link NetlinkError}, never another exception.
 *
 * @module
 */

import { EAGAIN, errnoText } from "../sys/_libc.ts";
import {
  AF_NETLINK,
  MSG_DONTWAIT,
  type NbdLibc,
  NETLINK_GENERIC,
  POLLIN,
  SOCK_CLOEXEC,
  SOCK_RAW,
} from "./_libc.ts";

export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
export const NLM_F_REQUEST = 1;
export const NLM_F_ACK = 4;
export const GENL_ID_CTRL = 0x10;
export const CTRL_CMD_GETFAMILY = 3;
export const CTRL_ATTR_FAMILY_ID = 1;
export const CTRL_ATTR_FAMILY_NAME = 2;
const NLA_F_NESTED = 0x8000;
const NLA_TYPE_MASK = 0x3fff;

/** The kernel's NBD netlink family (linux/nbd-netlink.h). */
export const NbdCmd = { CONNECT: 1, DISCONNECT: 2, STATUS: 5 } as const;
export const NbdAttr = {
  INDEX: 1,
  SIZE_BYTES: 2,
  BLOCK_SIZE_BYTES: 3,
  TIMEOUT: 4,
  SERVER_FLAGS: 5,
  CLIENT_FLAGS: 6,
  SOCKETS: 7,
  DEAD_CONN_TIMEOUT: 8,
} as const;
const NBD_SOCK_ITEM = 1;
const NBD_SOCK_FD = 1;
/** NBD_CFLAG_DESTROY_ON_DISCONNECT: the device goes away with its connection. */
export const CFLAG_DESTROY_ON_DISCONNECT = 1;

/** Malformed netlink data. */
export class NetlinkError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NetlinkError";
  }
}

/** Builds a message's attributes. */
export class AttrWriter {
  #parts: Uint8Array[] = [];
  #length = 0;

  #attr(type: number, payload: Uint8Array): this {
    const padded = (payload.length + 3) & ~3;
    const b = new Uint8Array(4 + padded);
    const v = new DataView(b.buffer);
    v.setUint16(0, 4 + payload.length, true);
    v.setUint16(2, type, true);
    b.set(payload, 4);
    this.#parts.push(b);
    this.#length += b.length;
    return this;
  }

  u32(type: number, value: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, value, true);
    return this.#attr(type, b);
  }

  u64(type: number, value: number): this {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt(value), true);
    return this.#attr(type, b);
  }

  string(type: number, value: string): this {
    return this.#attr(type, new TextEncoder().encode(value + "\0"));
  }

  nested(type: number, fill: (w: AttrWriter) => void): this {
    const inner = new AttrWriter();
    fill(inner);
    return this.#attr(type | NLA_F_NESTED, inner.bytes());
  }

  bytes(): Uint8Array {
    const out = new Uint8Array(this.#length);
    let at = 0;
    for (const p of this.#parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}

/** A generic netlink request: header, genl header, attributes. */
export function genlRequest(
  family: number,
  seq: number,
  cmd: number,
  version: number,
  attrs: Uint8Array,
): Uint8Array {
  const b = new Uint8Array(20 + attrs.length);
  const v = new DataView(b.buffer);
  v.setUint32(0, b.length, true);
  v.setUint16(4, family, true);
  v.setUint16(6, NLM_F_REQUEST | NLM_F_ACK, true);
  v.setUint32(8, seq, true);
  v.setUint32(12, 0, true);
  b[16] = cmd;
  b[17] = version;
  b.set(attrs, 20);
  return b;
}

/** One received message. */
export interface NlMessage {
  type: number;
  flags: number;
  seq: number;
  payload: Uint8Array;
}

/** Splits a datagram into its messages. */
export function parseMessages(buf: Uint8Array): NlMessage[] {
  const v = new DataView(buf.buffer, buf.byteOffset, buf.length);
  const out: NlMessage[] = [];
  let at = 0;
  while (buf.length - at >= 16) {
    const len = v.getUint32(at, true);
    if (len < 16 || len > buf.length - at) {
      throw new NetlinkError(`Bad netlink message length: ${len}`);
    }
    out.push({
      type: v.getUint16(at + 4, true),
      flags: v.getUint16(at + 6, true),
      seq: v.getUint32(at + 8, true),
      payload: buf.subarray(at + 16, at + len),
    });
    at += (len + 3) & ~3;
  }
  // Fewer than 4 bytes left are padding; more that cannot hold a header are not.
  if (buf.length - at > 3) {
    throw new NetlinkError(
      `Truncated netlink message: ${buf.length - at} bytes`,
    );
  }
  return out;
}

/** The attributes of a payload, by type (nested ones undecoded). */
export function parseAttrs(payload: Uint8Array): Map<number, Uint8Array> {
  const v = new DataView(payload.buffer, payload.byteOffset, payload.length);
  const out = new Map<number, Uint8Array>();
  let at = 0;
  while (payload.length - at >= 4) {
    const len = v.getUint16(at, true);
    if (len < 4 || len > payload.length - at) {
      throw new NetlinkError(`Bad netlink attribute length: ${len}`);
    }
    out.set(
      v.getUint16(at + 2, true) & NLA_TYPE_MASK,
      payload.subarray(at + 4, at + len),
    );
    at += (len + 3) & ~3;
  }
  return out;
}

/** An attribute as an unsigned integer of its own width (1, 2, 4 or 8 bytes). */
export function attrUint(a: Uint8Array | undefined, name: string): number {
  if (a === undefined) throw new NetlinkError(`Missing attribute: ${name}`);
  const v = new DataView(a.buffer, a.byteOffset, a.length);
  switch (a.length) {
    case 1:
      return a[0];
    case 2:
      return v.getUint16(0, true);
    case 4:
      return v.getUint32(0, true);
    case 8:
      return Number(v.getBigUint64(0, true));
  }
  throw new NetlinkError(`Bad attribute size: ${name} has ${a.length} bytes`);
}

/** The errno of an NLMSG_ERROR payload: 0 for an acknowledgement, else negative. */
export function parseError(payload: Uint8Array): number {
  if (payload.length < 4) {
    throw new NetlinkError(
      `Netlink error message too short: ${payload.length}`,
    );
  }
  return new DataView(payload.buffer, payload.byteOffset, 4).getInt32(0, true);
}

/** The attributes of a generic netlink reply (after its 4-byte genl header). */
export function genlAttrs(m: NlMessage): Map<number, Uint8Array> {
  if (m.payload.length < 4) {
    throw new NetlinkError(
      `Generic netlink reply too short: ${m.payload.length}`,
    );
  }
  return parseAttrs(m.payload.subarray(4));
}

/** What NBD_CMD_CONNECT sends. */
export interface ConnectRequest {
  index?: number;
  size: number;
  blockSize: number;
  /** Seconds; 0 leaves requests without a timeout. */
  timeout: number;
  /** Seconds. */
  deadConnTimeout: number;
  serverFlags: number;
  clientFlags: number;
  fds: number[];
}

/** NBD_CMD_CONNECT's attributes. */
export function connectAttrs(r: ConnectRequest): Uint8Array {
  const w = new AttrWriter();
  if (r.index !== undefined) w.u32(NbdAttr.INDEX, r.index);
  w.u64(NbdAttr.SIZE_BYTES, r.size)
    .u64(NbdAttr.BLOCK_SIZE_BYTES, r.blockSize)
    .u64(NbdAttr.SERVER_FLAGS, r.serverFlags)
    .u64(NbdAttr.CLIENT_FLAGS, r.clientFlags)
    .u64(NbdAttr.DEAD_CONN_TIMEOUT, r.deadConnTimeout);
  if (r.timeout > 0) w.u64(NbdAttr.TIMEOUT, r.timeout);
  w.nested(NbdAttr.SOCKETS, (s) => {
    for (const fd of r.fds) {
      s.nested(NBD_SOCK_ITEM, (i) => i.u32(NBD_SOCK_FD, fd));
    }
  });
  return w.bytes();
}

/** A netlink error with its errno, as the kernel answered a request. */
export class NetlinkRequestError extends Error {
  /** The positive errno. */
  readonly errno: number;
  constructor(errno: number, what: string) {
    super(`${what} failed: ${errnoText(errno)}`);
    this.name = "NetlinkRequestError";
    this.errno = Math.abs(errno);
  }
}

/** A NETLINK_GENERIC socket that makes one request at a time. */
export class GenlSocket {
  readonly #lib: NbdLibc;
  readonly #fd: number;
  #seq = 1;
  readonly #buf = new Uint8Array(64 * 1024);

  private constructor(lib: NbdLibc, fd: number) {
    this.#lib = lib;
    this.#fd = fd;
  }

  /** Opens one (released with {@link close}). */
  static open(lib: NbdLibc): GenlSocket {
    const fd = lib.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
    if (fd < 0) {
      throw new NetlinkRequestError(fd, "Opening a generic netlink socket");
    }
    return new GenlSocket(lib, fd);
  }

  close(): void {
    this.#lib.close(this.#fd);
  }

  /** The id of a generic netlink family, or undefined when the kernel has none of that name. */
  async family(name: string): Promise<number | undefined> {
    const attrs = new AttrWriter().string(CTRL_ATTR_FAMILY_NAME, name).bytes();
    try {
      const [reply] = await this.request(
        GENL_ID_CTRL,
        CTRL_CMD_GETFAMILY,
        1,
        attrs,
        `Looking up the ${name} netlink family`,
      );
      if (!reply) throw new NetlinkError(`No reply for the ${name} family`);
      return attrUint(genlAttrs(reply).get(CTRL_ATTR_FAMILY_ID), "family id");
    } catch (e) {
      if (e instanceof NetlinkRequestError && e.errno === 2) return undefined;
      throw e;
    }
  }

  /**
   * Sends a request synchronously and leaves its answer unread (for the
   * process's exit, when nothing can wait).
   */
  sendNow(
    family: number,
    cmd: number,
    version: number,
    attrs: Uint8Array,
  ): void {
    this.#lib.send(
      this.#fd,
      genlRequest(family, this.#seq++, cmd, version, attrs),
      0,
    );
  }

  /**
   * Sends a request from the thread pool (the kernel may wait on this
   * process while handling it) and returns the replies of its sequence
   * number before the acknowledgement; an error acknowledgement throws.
   */
  async request(
    family: number,
    cmd: number,
    version: number,
    attrs: Uint8Array,
    what: string,
  ): Promise<NlMessage[]> {
    const seq = this.#seq++;
    const msg = genlRequest(family, seq, cmd, version, attrs);
    const sent = await this.#lib.sendAsync(this.#fd, msg, 0);
    if (sent !== msg.length) {
      throw new Error(`${what} failed: the netlink request was not sent`);
    }
    const replies: NlMessage[] = [];
    // The kernel answers while handling the send, so the replies are queued
    // by now; the wait only covers a datagram still on its way.
    for (let datagrams = 0; datagrams < 64; datagrams++) {
      let n = this.#lib.recv(this.#fd, this.#buf, MSG_DONTWAIT);
      if (n === -EAGAIN) {
        const pfd = new Uint8Array(8);
        const v = new DataView(pfd.buffer);
        v.setInt32(0, this.#fd, true);
        v.setInt16(4, POLLIN, true);
        await this.#lib.pollAsync(pfd, 5000);
        n = this.#lib.recv(this.#fd, this.#buf, MSG_DONTWAIT);
        if (n === -EAGAIN) {
          throw new Error(`${what} failed: no answer from the kernel in 5 s`);
        }
      }
      if (n < 0) throw new NetlinkRequestError(n, what);
      for (const m of parseMessages(this.#buf.subarray(0, n))) {
        if (m.seq !== seq) continue;
        if (m.type === NLMSG_ERROR) {
          const err = parseError(m.payload);
          if (err !== 0) throw new NetlinkRequestError(err, what);
          return replies;
        }
        if (m.type === NLMSG_DONE) return replies;
        replies.push({ ...m, payload: m.payload.slice() });
      }
    }
    throw new Error(`${what} failed: no acknowledgement from the kernel`);
  }
}
