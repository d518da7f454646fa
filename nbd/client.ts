/**
 * The NBD client: the fixed newstyle handshake (LIST, INFO, GO, EXPORT_NAME,
 * STARTTLS, structured replies, meta contexts, extended headers, ABORT) and
 * a transmission phase with many requests in flight, replies matched by
 * cookie, and typed errors that carry the NBD error value.
 *
 * @example Write, zero and read a remote export
 * ```ts
 * import { connectNbd, MemoryDevice, serveNbd } from "@netfs/netfs/nbd";
 * import assert from "node:assert/strict";
 *
 * const server = serveNbd({ exports: [{ name: "mem", device: new MemoryDevice(1 << 20) }] });
 * const disk = await connectNbd({ hostname: "127.0.0.1", port: server.addr.port, export: "mem" });
 * await disk.writeAt(0, new Uint8Array(8192).fill(1), { fua: true }); // durable on return
 * await disk.writeZeroes(4096, 4096);
 * await disk.flush();
 * const data = await disk.readAt(0, 8192);
 * assert.deepEqual([data[0], data[4095], data[4096], data[8191]], [1, 1, 0, 0]);
 * await disk.close();
 * await server.shutdown();
 * ```
 *
 * @module
 */

import { BufferedReader, type Stream, writeAll } from "./_stream.ts";
import { NbdConnection } from "./_connection.ts";
import { getU64 } from "./_u64.ts";
import {
  BASE_ALLOCATION,
  decodeGreeting,
  decodeInfo,
  decodeMetaContextReply,
  decodeOptionReplyHeader,
  decodeServerReply,
  encodeGoOption,
  encodeMetaContextOption,
  encodeOption,
  encodeString,
  type ExportInfo,
  HandshakeFlag,
  Info,
  isRepError,
  NbdProtocolError,
  Opt,
  OPTION_REPLY_HEADER_SIZE,
  Rep,
} from "./protocol.ts";

export {
  type FuaOptions,
  NbdConnection,
  type ReadChunk,
  type ReadOptions,
  type ZeroOptions,
} from "./_connection.ts";

const MAX_OPTION_REPLY = 1 << 20;
const decoder = new TextDecoder();

/**
 * A byte stream the client can negotiate over instead of a TCP connection it
 * opens itself: what `Deno.Conn` offers (`Deno.UnixConn`, say), or a socket
 * from `connectSocket` that `attachKernel` can hand to the kernel.
 */
export interface NbdStream {
  /** Reads into `p`: the byte count, or null at end of stream. */
  read(p: Uint8Array): Promise<number | null>;
  /** Writes some of `p` and returns how much. */
  write(p: Uint8Array): Promise<number>;
  /** Closes the stream. */
  close(): void;
}

/** Where to connect. */
export interface NbdConnectOptions {
  /** Server address; default `"127.0.0.1"`. */
  hostname?: string;
  /** Server port; default 10809. */
  port?: number;
  /**
   * Negotiate over this open stream instead of connecting (`hostname` then
   * only names the server for TLS, which needs a `Deno.TcpConn`). The
   * connection owns it from then on.
   */
  stream?: NbdStream;
}

/** TLS settings of the client. */
export interface NbdClientTlsOptions {
  /** Trusted CA certificates (PEM); default the system store. */
  caCerts?: string[];
  /** Name to verify the server certificate against; default the hostname connected to. */
  hostname?: string;
}

/** A reply to an option: its type and data. */
export interface OptionReply {
  /** Reply type ({@link Rep}). */
  type: number;
  /** Reply data. */
  data: Uint8Array;
}

/**
 * An option reply error (`NBD_REP_ERR_*`) during the handshake.
 *
 * @example Asking for an export the server does not have
 * ```ts
 * import { connectNbd, MemoryDevice, NbdOptionError, Rep, serveNbd } from "@netfs/netfs/nbd";
 * import assert from "node:assert/strict";
 *
 * const server = serveNbd({ exports: [{ name: "mem", device: new MemoryDevice(4096) }] });
 * await assert.rejects(
 *   connectNbd({ port: server.addr.port, export: "disk2" }),
 *   (e) =>
 *     e instanceof NbdOptionError && e.reply === Rep.ERR_UNKNOWN &&
 *     e.message.endsWith("No such export: disk2"),
 * );
 * await server.shutdown();
 * ```
 */
export class NbdOptionError extends Error {
  /** The option that failed. */
  readonly option: number;
  /** The error reply type. */
  readonly reply: number;

  /**
   * Builds the error.
   *
   * @param message The server's message, if any.
   * @param options The option number and the error reply type.
   */
  constructor(message: string, options: { option: number; reply: number }) {
    const { option, reply } = options;
    const names = Object.entries(Rep).find(([, v]) => v === reply)?.[0] ??
      `0x${reply.toString(16)}`;
    super(
      `Option ${option} failed with ${names}${message ? `: ${message}` : ""}`,
    );
    this.name = "NbdOptionError";
    this.option = option;
    this.reply = reply;
  }
}

/**
 * A connection during option haggling. Obtain one with
 * {@link NbdHandshake.connect}, ask questions, then enter transmission with
 * {@link NbdHandshake.go} (or the legacy {@link NbdHandshake.exportName}).
 *
 * @example List the exports, ask about one, enter transmission
 * ```ts
 * import { MemoryDevice, NbdHandshake, serveNbd, TxFlag } from "@netfs/netfs/nbd";
 * import assert from "node:assert/strict";
 *
 * const server = serveNbd({
 *   exports: [{ name: "mem", device: new MemoryDevice(1 << 20), description: "RAM disk" }],
 * });
 * const h = await NbdHandshake.connect({ port: server.addr.port });
 * assert.deepEqual(await h.list(), [{ name: "mem", description: "RAM disk" }]);
 * const info = await h.info("mem");
 * assert.equal(info.size, 1 << 20);
 * assert.equal(info.flags & TxFlag.READ_ONLY, 0);
 * const disk = await h.go("mem"); // the handshake is over
 * assert.equal(disk.size, 1 << 20);
 * await disk.close();
 * await server.shutdown();
 * ```
 */
export class NbdHandshake {
  #conn: Deno.TcpConn | undefined;
  #stream: Stream;
  #reader: BufferedReader;
  #hostname: string;
  /** The server's handshake flags. */
  readonly serverFlags: number;
  /** Whether NO_ZEROES was negotiated. */
  readonly noZeroes: boolean;
  #structured = false;
  #extended = false;
  #meta = new Map<string, number>();
  #metaExport: string | undefined;
  #done = false;

  private constructor(
    conn: Deno.TcpConn | undefined,
    stream: Stream,
    reader: BufferedReader,
    hostname: string,
    flags: number,
  ) {
    this.#conn = conn;
    this.#stream = stream;
    this.#reader = reader;
    this.#hostname = hostname;
    this.serverFlags = flags;
    this.noZeroes = (flags & HandshakeFlag.NO_ZEROES) !== 0;
  }

  /**
   * Connects and completes the initial exchange (greeting and client flags:
   * fixed newstyle, and NO_ZEROES when offered).
   */
  static async connect(options: NbdConnectOptions = {}): Promise<NbdHandshake> {
    const hostname = options.hostname ?? "127.0.0.1";
    let tcp: Deno.TcpConn | undefined;
    let conn: Stream;
    if (options.stream) conn = options.stream;
    else {
      conn = tcp = await Deno.connect({
        hostname,
        port: options.port ?? 10809,
      });
    }
    try {
      tcp?.setNoDelay(true);
      const reader = new BufferedReader(conn, 1 << 20);
      if (!await reader.fill(18)) {
        throw new NbdProtocolError("Server closed during the greeting");
      }
      const flags = decodeGreeting(reader.take(18));
      if (!(flags & HandshakeFlag.FIXED_NEWSTYLE)) {
        throw new NbdProtocolError(
          "Server does not support fixed newstyle negotiation",
        );
      }
      const c = new Uint8Array(4);
      new DataView(c.buffer).setUint32(
        0,
        HandshakeFlag.FIXED_NEWSTYLE | (flags & HandshakeFlag.NO_ZEROES),
      );
      await writeAll(conn, c);
      return new NbdHandshake(tcp, conn, reader, hostname, flags);
    } catch (e) {
      conn.close();
      throw e;
    }
  }

  /** Whether structured replies were negotiated. */
  get structured(): boolean {
    return this.#structured;
  }

  /** Whether extended headers were negotiated. */
  get extended(): boolean {
    return this.#extended;
  }

  /**
   * Sends one option and collects replies up to the final one (ACK or an
   * error). Low level: for tests and options this class has no method for.
   */
  async option(option: number, data?: Uint8Array): Promise<OptionReply[]> {
    if (this.#done) throw new Error("Handshake is over");
    await writeAll(this.#stream, encodeOption(option, data));
    const out: OptionReply[] = [];
    for (;;) {
      if (!await this.#reader.fill(OPTION_REPLY_HEADER_SIZE)) {
        throw new NbdProtocolError(
          "Server closed the connection during option haggling",
        );
      }
      const h = decodeOptionReplyHeader(
        this.#reader.take(OPTION_REPLY_HEADER_SIZE),
      );
      if (h.option !== option) {
        throw new NbdProtocolError(
          `Reply for option ${h.option}, expected ${option}`,
        );
      }
      if (h.length > MAX_OPTION_REPLY) {
        throw new NbdProtocolError(`Option reply too long: ${h.length}`);
      }
      const d = new Uint8Array(h.length);
      if (!await this.#reader.readInto(d)) {
        throw new NbdProtocolError("Option reply truncated");
      }
      out.push({ type: h.type, data: d });
      if (h.type === Rep.ACK || isRepError(h.type)) return out;
    }
  }

  async #expectAck(option: number, data?: Uint8Array): Promise<OptionReply[]> {
    const replies = await this.option(option, data);
    const last = replies[replies.length - 1];
    if (isRepError(last.type)) {
      throw new NbdOptionError(decoder.decode(last.data), {
        option,
        reply: last.type,
      });
    }
    return replies;
  }

  /** The server's exports (NBD_OPT_LIST). */
  async list(): Promise<{ name: string; description: string }[]> {
    const replies = await this.#expectAck(Opt.LIST);
    return replies.filter((r) => r.type === Rep.SERVER).map((r) =>
      decodeServerReply(r.data)
    );
  }

  /** Upgrades to TLS (NBD_OPT_STARTTLS); forgets earlier negotiation as the spec says. */
  async startTls(options: NbdClientTlsOptions = {}): Promise<void> {
    if (!this.#conn) {
      throw new Error("STARTTLS needs a TCP connection opened by the client");
    }
    await this.#expectAck(Opt.STARTTLS);
    if (this.#reader.buffered) {
      throw new NbdProtocolError("Data after the STARTTLS reply");
    }
    const tls = await Deno.startTls(this.#conn, {
      hostname: options.hostname ?? this.#hostname,
      caCerts: options.caCerts,
    });
    this.#stream = tls;
    this.#reader = new BufferedReader(tls, 1 << 20);
    this.#structured = false;
    this.#extended = false;
    this.#meta.clear();
    this.#metaExport = undefined;
  }

  /** Asks for structured replies; false if the server does not support them. */
  async structuredReplies(): Promise<boolean> {
    const r = await this.option(Opt.STRUCTURED_REPLY);
    this.#structured = r[r.length - 1].type === Rep.ACK;
    return this.#structured;
  }

  /** Asks for extended headers; false if the server does not support them. */
  async extendedHeaders(): Promise<boolean> {
    const r = await this.option(Opt.EXTENDED_HEADERS);
    this.#extended = r[r.length - 1].type === Rep.ACK;
    return this.#extended;
  }

  /** Metadata contexts of an export matching `queries` (all if empty). */
  async listMetaContexts(
    name: string,
    queries: string[] = [],
  ): Promise<string[]> {
    const replies = await this.#expectAck(
      Opt.LIST_META_CONTEXT,
      encodeMetaContextOption({ name, queries }),
    );
    return replies.filter((r) => r.type === Rep.META_CONTEXT)
      .map((r) => decodeMetaContextReply(r.data).name);
  }

  /** Selects metadata contexts for `name`; returns the selected names and their ids. */
  async setMetaContexts(
    name: string,
    queries: string[],
  ): Promise<Map<string, number>> {
    this.#meta.clear();
    this.#metaExport = undefined;
    const replies = await this.#expectAck(
      Opt.SET_META_CONTEXT,
      encodeMetaContextOption({ name, queries }),
    );
    for (const r of replies) {
      if (r.type !== Rep.META_CONTEXT) continue;
      const m = decodeMetaContextReply(r.data);
      this.#meta.set(m.name, m.id);
    }
    this.#metaExport = name;
    return new Map(this.#meta);
  }

  async #info(
    option: number,
    name: string,
    requests: number[],
  ): Promise<ExportInfo> {
    const replies = await this.#expectAck(
      option,
      encodeGoOption({ name, requests }),
    );
    const info: ExportInfo = { size: -1, flags: 0 };
    for (const r of replies) if (r.type === Rep.INFO) decodeInfo(r.data, info);
    if (info.size < 0) {
      throw new NbdProtocolError("Server sent no NBD_INFO_EXPORT");
    }
    return info;
  }

  /** What the server says about an export (NBD_OPT_INFO). */
  info(
    name: string,
    requests: number[] = [Info.NAME, Info.DESCRIPTION, Info.BLOCK_SIZE],
  ): Promise<ExportInfo> {
    return this.#info(Opt.INFO, name, requests);
  }

  /** Enters transmission on `name` (NBD_OPT_GO), promising to obey block sizes. */
  async go(
    name: string,
    options: { maxInFlight?: number; requests?: number[] } = {},
  ): Promise<NbdConnection> {
    const info = await this.#info(
      Opt.GO,
      name,
      options.requests ?? [Info.NAME, Info.DESCRIPTION, Info.BLOCK_SIZE],
    );
    return this.#enter(name, info, options.maxInFlight);
  }

  /** Enters transmission the legacy way (NBD_OPT_EXPORT_NAME); errors end the connection. */
  async exportName(
    name: string,
    options: { maxInFlight?: number } = {},
  ): Promise<NbdConnection> {
    if (this.#done) throw new Error("Handshake is over");
    await writeAll(
      this.#stream,
      encodeOption(Opt.EXPORT_NAME, encodeString(name)),
    );
    const n = this.noZeroes ? 10 : 134;
    if (!await this.#reader.fill(n)) {
      this.#close();
      throw new NbdProtocolError(`Server refused export: ${name}`);
    }
    const b = this.#reader.take(n);
    const v = new DataView(b.buffer, b.byteOffset, n);
    return this.#enter(
      name,
      { size: getU64(v, 0), flags: v.getUint16(8) },
      options.maxInFlight,
    );
  }

  #enter(name: string, info: ExportInfo, maxInFlight = 64): NbdConnection {
    this.#done = true;
    const allocation = this.#metaExport === name
      ? this.#meta.get(BASE_ALLOCATION)
      : undefined;
    const contexts = new Map<number, string>();
    if (this.#metaExport === name) {
      for (const [k, v] of this.#meta) contexts.set(v, k);
    }
    return new NbdConnection(this.#stream, {
      reader: this.#reader,
      name,
      info,
      structured: this.#structured || this.#extended,
      extended: this.#extended,
      contexts,
      allocationId: allocation,
      maxInFlight,
    });
  }

  /** Ends the session politely (NBD_OPT_ABORT) and closes the connection. */
  async abort(): Promise<void> {
    try {
      await writeAll(this.#stream, encodeOption(Opt.ABORT));
      // The server may or may not answer; either is fine.
      await this.#reader.fill(OPTION_REPLY_HEADER_SIZE).catch(() => false);
    } catch { /* already gone */ }
    this.#close();
  }

  /** Closes the connection without a word (a hard disconnect). */
  close(): void {
    this.#close();
  }

  #close(): void {
    this.#done = true;
    try {
      this.#stream.close();
    } catch { /* closed */ }
  }
}

/** Options of {@link connectNbd}. */
export interface ConnectNbdOptions extends NbdConnectOptions {
  /** Export name; default `""` (the server's default export). */
  export?: string;
  /** Upgrade with STARTTLS first (and fail if the server refuses). */
  tls?: NbdClientTlsOptions;
  /** Negotiate structured replies (default true). */
  structuredReplies?: boolean;
  /** Negotiate extended headers (default false). */
  extendedHeaders?: boolean;
  /** Metadata contexts to select (default `["base:allocation"]` when structured). */
  metaContexts?: string[];
  /** Requests in flight at once (default 64). */
  maxInFlight?: number;
}

/**
 * Connects, negotiates and enters transmission in one call.
 *
 * @example Negotiate extended headers (64-bit lengths)
 * ```ts
 * import { connectNbd, MemoryDevice, serveNbd } from "@netfs/netfs/nbd";
 * import assert from "node:assert/strict";
 *
 * const server = serveNbd({ exports: [{ name: "mem", device: new MemoryDevice(1 << 20) }] });
 * const disk = await connectNbd({ port: server.addr.port, export: "mem", extendedHeaders: true });
 * assert.equal(disk.extended, true); // this server supports them
 * assert.equal(disk.structured, true); // extended headers imply structured replies
 * assert.equal(disk.hasAllocation, true); // base:allocation is selected by default
 * await disk.close();
 * await server.shutdown();
 * ```
 */
export async function connectNbd(
  options: ConnectNbdOptions = {},
): Promise<NbdConnection> {
  const h = await NbdHandshake.connect(options);
  try {
    if (options.tls) await h.startTls(options.tls);
    const name = options.export ?? "";
    if (options.extendedHeaders) await h.extendedHeaders();
    if ((options.structuredReplies ?? true) && !h.extended) {
      await h.structuredReplies();
    }
    if (h.structured || h.extended) {
      const contexts = options.metaContexts ?? [BASE_ALLOCATION];
      if (contexts.length) await h.setMetaContexts(name, contexts);
    }
    return await h.go(name, { maxInFlight: options.maxInFlight });
  } catch (e) {
    h.close();
    throw e;
  }
}
