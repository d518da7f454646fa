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

import {
  BufferedReader,
  MessageWriter,
  type Stream,
  writeAll,
} from "./_stream.ts";
import { NbdError } from "./errors.ts";
import { getU64 } from "./_u64.ts";
import {
  BASE_ALLOCATION,
  type BlockSize,
  Cmd,
  CmdFlag,
  decodeBlockStatus,
  decodeErrorPayload,
  decodeGreeting,
  decodeInfo,
  decodeMetaContextReply,
  decodeOptionReplyHeader,
  decodeServerReply,
  encodeGoOption,
  encodeMetaContextOption,
  encodeOption,
  encodeString,
  Errno,
  type ExportInfo,
  type Extent,
  HandshakeFlag,
  Info,
  isRepError,
  Magic,
  NbdProtocolError,
  Opt,
  OPTION_REPLY_HEADER_SIZE,
  Rep,
  REPLY_FLAG_DONE,
  ReplyType,
  writeRequestHeader,
} from "./protocol.ts";

const MAX_OPTION_REPLY = 1 << 20;
const MAX_REPLY_PAYLOAD = (1 << 25) + 64;
const decoder = new TextDecoder();

/** Where to connect. */
export interface NbdConnectOptions {
  /** Server address; default `"127.0.0.1"`. */
  hostname?: string;
  /** Server port; default 10809. */
  port?: number;
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
  #conn: Deno.TcpConn;
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
    conn: Deno.TcpConn,
    reader: BufferedReader,
    hostname: string,
    flags: number,
  ) {
    this.#conn = conn;
    this.#stream = conn;
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
    const conn = await Deno.connect({ hostname, port: options.port ?? 10809 });
    try {
      conn.setNoDelay(true);
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
      return new NbdHandshake(conn, reader, hostname, flags);
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

/** Options of {@link NbdConnection.readAt}. */
export interface ReadOptions {
  /** Ask for one content chunk (NBD_CMD_FLAG_DF). */
  df?: boolean;
}

/** Options of write commands. */
export interface FuaOptions {
  /** Force unit access (NBD_CMD_FLAG_FUA). */
  fua?: boolean;
}

/** Options of {@link NbdConnection.writeZeroes}. */
export interface ZeroOptions extends FuaOptions {
  /** Keep the range allocated (NBD_CMD_FLAG_NO_HOLE). */
  noHole?: boolean;
  /** Fail with ENOTSUP unless zeroing is fast (NBD_CMD_FLAG_FAST_ZERO). */
  fast?: boolean;
}

/** A chunk of a structured read reply, as received (for inspection). */
export interface ReadChunk {
  /** `"data"` or `"hole"`. */
  type: "data" | "hole";
  /** Absolute offset. */
  offset: number;
  /** Length in bytes. */
  length: number;
}

interface Pending {
  type: number;
  offset: number;
  length: number;
  buf?: Uint8Array;
  chunks?: ReadChunk[];
  status?: Map<string, Extent[]>;
  error?: NbdError;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

/** Where a connection is after the handshake (internal wiring). */
interface EnterOptions {
  reader: BufferedReader;
  name: string;
  info: ExportInfo;
  structured: boolean;
  extended: boolean;
  contexts: Map<number, string>;
  allocationId: number | undefined;
  maxInFlight: number;
}

/**
 * An export in the transmission phase. Every method may be called many
 * times without waiting: requests are pipelined up to `maxInFlight` and
 * matched to replies by cookie. A request that fails rejects with an
 * {@link NbdError} carrying the server's error value.
 *
 * @example Many requests in flight on one connection
 * ```ts
 * import { connectNbd, MemoryDevice, serveNbd } from "@netfs/netfs/nbd";
 * import assert from "node:assert/strict";
 *
 * const server = serveNbd({ exports: [{ name: "mem", device: new MemoryDevice(1 << 20) }] });
 * const disk = await connectNbd({ port: server.addr.port, export: "mem", maxInFlight: 16 });
 * const writes = Array.from({ length: 8 }, (_, i) => disk.writeAt(i * 512, new Uint8Array(512).fill(i)));
 * assert.equal(disk.inFlight, 8); // all sent without waiting for a reply
 * await Promise.all(writes);
 * const blocks = await Promise.all(writes.map((_, i) => disk.readAt(i * 512, 512)));
 * assert.deepEqual(blocks.map((b) => b[0]), [0, 1, 2, 3, 4, 5, 6, 7]);
 * await disk.close();
 * await server.shutdown();
 * ```
 */
export class NbdConnection {
  /** The export name used to enter transmission. */
  readonly name: string;
  /** Size in bytes. */
  readonly size: number;
  /** Transmission flags ({@link TxFlag}). */
  readonly flags: number;
  /** Size constraints, when the server sent them. */
  readonly blockSize?: BlockSize;
  /** Description, when the server sent one. */
  readonly description?: string;
  /** Whether replies are structured (or extended). */
  readonly structured: boolean;
  /** Whether extended headers are in use. */
  readonly extended: boolean;
  #stream: Stream;
  #reader: BufferedReader;
  #writer: MessageWriter;
  #pending = new Map<number, Pending>();
  #contexts: Map<number, string>;
  #allocationId: number | undefined;
  #nextCookie = 1;
  #maxInFlight: number;
  #slotWaiters: (() => void)[] = [];
  #drainWaiters: (() => void)[] = [];
  #closed = false;
  #failure: Error | undefined;
  #loop: Promise<void>;

  /** Built by {@link NbdHandshake.go}; not for direct use. */
  constructor(stream: Stream, o: EnterOptions) {
    this.name = o.name;
    this.size = o.info.size;
    this.flags = o.info.flags;
    this.blockSize = o.info.blockSize;
    this.description = o.info.description;
    this.structured = o.structured;
    this.extended = o.extended;
    this.#stream = stream;
    this.#reader = o.reader;
    this.#writer = new MessageWriter(stream);
    this.#contexts = o.contexts;
    this.#allocationId = o.allocationId;
    this.#maxInFlight = Math.max(1, o.maxInFlight);
    this.#loop = this.#readLoop();
  }

  /** Whether `base:allocation` was selected (block status is usable). */
  get hasAllocation(): boolean {
    return this.#allocationId !== undefined;
  }

  /** Requests sent and not yet answered. */
  get inFlight(): number {
    return this.#pending.size;
  }

  async #submit(
    type: number,
    flags: number,
    offset: number,
    length: number,
    extra: { data?: Uint8Array; buf?: Uint8Array; chunks?: ReadChunk[] } = {},
  ): Promise<unknown> {
    while (this.#pending.size >= this.#maxInFlight && !this.#closed) {
      await new Promise<void>((r) => this.#slotWaiters.push(r));
    }
    if (this.#closed) throw this.#failure ?? new Error("Connection is closed");
    const cookie = this.#nextCookie++;
    const hdrSize = this.extended ? 32 : 28;
    const hdr = new Uint8Array(hdrSize);
    if (this.extended && extra.data) flags |= CmdFlag.PAYLOAD_LEN;
    writeRequestHeader(
      new DataView(hdr.buffer),
      0,
      {
        type,
        flags,
        cookie,
        offset,
        length: extra.data ? extra.data.length : length,
        extended: this.extended,
      },
    );
    return new Promise((resolve, reject) => {
      this.#pending.set(cookie, {
        type,
        offset,
        length,
        buf: extra.buf,
        chunks: extra.chunks,
        resolve,
        reject,
      });
      if (extra.data && extra.data.length <= 65536) {
        const b = new Uint8Array(hdrSize + extra.data.length);
        b.set(hdr);
        b.set(extra.data, hdrSize);
        this.#writer.send(b);
      } else {
        this.#writer.send(hdr);
        if (extra.data) this.#writer.send(extra.data);
      }
    });
  }

  /** Reads `length` bytes at `offset`. */
  async readAt(
    offset: number,
    length: number,
    options: ReadOptions = {},
  ): Promise<Uint8Array> {
    const buf = new Uint8Array(length);
    await this.#submit(Cmd.READ, options.df ? CmdFlag.DF : 0, offset, length, {
      buf,
    });
    return buf;
  }

  /**
   * Reads like {@link readAt} and also returns the structured chunks the
   * server sent (data and holes), for clients that care about sparseness.
   */
  async readChunks(
    offset: number,
    length: number,
    options: ReadOptions = {},
  ): Promise<{ data: Uint8Array; chunks: ReadChunk[] }> {
    const buf = new Uint8Array(length);
    const chunks: ReadChunk[] = [];
    await this.#submit(Cmd.READ, options.df ? CmdFlag.DF : 0, offset, length, {
      buf,
      chunks,
    });
    return { data: buf, chunks };
  }

  /** Writes `data` at `offset`. The caller must not change `data` until this resolves. */
  async writeAt(
    offset: number,
    data: Uint8Array,
    options: FuaOptions = {},
  ): Promise<void> {
    await this.#submit(
      Cmd.WRITE,
      options.fua ? CmdFlag.FUA : 0,
      offset,
      data.length,
      { data },
    );
  }

  /** Makes completed writes durable (NBD_CMD_FLUSH). */
  async flush(): Promise<void> {
    await this.#submit(Cmd.FLUSH, 0, 0, 0);
  }

  /** Discards a range (NBD_CMD_TRIM). */
  async trim(
    offset: number,
    length: number,
    options: FuaOptions = {},
  ): Promise<void> {
    await this.#submit(Cmd.TRIM, options.fua ? CmdFlag.FUA : 0, offset, length);
  }

  /** Zeroes a range (NBD_CMD_WRITE_ZEROES). */
  async writeZeroes(
    offset: number,
    length: number,
    options: ZeroOptions = {},
  ): Promise<void> {
    const flags = (options.fua ? CmdFlag.FUA : 0) |
      (options.noHole ? CmdFlag.NO_HOLE : 0) |
      (options.fast ? CmdFlag.FAST_ZERO : 0);
    await this.#submit(Cmd.WRITE_ZEROES, flags, offset, length);
  }

  /** Asks the server to prefetch a range (NBD_CMD_CACHE). */
  async cache(offset: number, length: number): Promise<void> {
    await this.#submit(Cmd.CACHE, 0, offset, length);
  }

  /**
   * Block status of a range for every selected metadata context, keyed by
   * context name (NBD_CMD_BLOCK_STATUS).
   */
  async blockStatus(
    offset: number,
    length: number,
    options: { reqOne?: boolean } = {},
  ): Promise<Map<string, Extent[]>> {
    return await this.#submit(
      Cmd.BLOCK_STATUS,
      options.reqOne ? CmdFlag.REQ_ONE : 0,
      offset,
      length,
    ) as Map<string, Extent[]>;
  }

  /**
   * Sends a raw request (flags and type as given) and resolves when its reply
   * is complete. Low level: for tests of servers.
   */
  async request(
    r: {
      type: number;
      flags?: number;
      offset?: number;
      length?: number;
      data?: Uint8Array;
    },
  ): Promise<void> {
    const buf = r.type === Cmd.READ ? new Uint8Array(r.length ?? 0) : undefined;
    await this.#submit(r.type, r.flags ?? 0, r.offset ?? 0, r.length ?? 0, {
      data: r.data,
      buf,
    });
  }

  /**
   * Waits for requests in flight, sends NBD_CMD_DISC and closes the
   * connection.
   */
  async close(): Promise<void> {
    if (this.#closed) {
      await this.#loop;
      return;
    }
    while (this.#pending.size && !this.#closed) {
      await new Promise<void>((r) => this.#drainWaiters.push(r));
    }
    if (!this.#closed) {
      const hdr = new Uint8Array(this.extended ? 32 : 28);
      writeRequestHeader(
        new DataView(hdr.buffer),
        0,
        {
          type: Cmd.DISC,
          flags: 0,
          cookie: this.#nextCookie++,
          offset: 0,
          length: 0,
          extended: this.extended,
        },
      );
      this.#writer.send(hdr);
      await this.#writer.idle();
    }
    this.#fail(new Error("Connection is closed"));
    await this.#loop;
  }

  #fail(e: Error): void {
    if (!this.#closed) {
      this.#closed = true;
      this.#failure = e;
      try {
        this.#stream.close();
      } catch { /* closed */ }
    }
    for (const p of this.#pending.values()) p.reject(e);
    this.#pending.clear();
    for (const w of this.#slotWaiters.splice(0)) w();
    for (const d of this.#drainWaiters.splice(0)) d();
  }

  #finish(cookie: number, p: Pending): void {
    this.#pending.delete(cookie);
    if (p.error) p.reject(p.error);
    else if (p.type === Cmd.BLOCK_STATUS) p.resolve(p.status ?? new Map());
    else p.resolve(undefined);
    const w = this.#slotWaiters.shift();
    w?.();
    if (this.#pending.size === 0) {
      for (const d of this.#drainWaiters.splice(0)) {
        d();
      }
    }
  }

  async #readLoop(): Promise<void> {
    const rd = this.#reader;
    try {
      for (;;) {
        if (!await rd.fill(4)) break;
        const magic = new DataView(rd.take(4).slice().buffer).getUint32(0);
        if (magic === Magic.SIMPLE_REPLY && !this.extended) {
          if (!await rd.fill(12)) break;
          const b = rd.take(12);
          const v = new DataView(b.buffer, b.byteOffset, 12);
          const error = v.getUint32(0);
          const cookie = getU64(v, 4);
          const p = this.#pending.get(cookie);
          if (!p) {
            throw new NbdProtocolError(`Reply for unknown cookie: ${cookie}`);
          }
          if (error) {
            p.error = new NbdError(error, `Server replied ${errName(error)}`);
          } else if (p.type === Cmd.READ) {
            if (this.structured) {
              throw new NbdProtocolError("Simple reply to a structured read");
            }
            if (!await rd.readInto(p.buf!)) break;
          }
          this.#finish(cookie, p);
          continue;
        }
        const ext = magic === Magic.EXTENDED_REPLY;
        if (
          !(ext
            ? this.extended
            : magic === Magic.STRUCTURED_REPLY && this.structured &&
              !this.extended)
        ) {
          throw new NbdProtocolError(
            `Bad reply magic: 0x${magic.toString(16)}`,
          );
        }
        const rest = ext ? 28 : 16;
        if (!await rd.fill(rest)) break;
        const hb = rd.take(rest);
        const hv = new DataView(hb.buffer, hb.byteOffset, rest);
        const flags = hv.getUint16(0);
        const type = hv.getUint16(2);
        const cookie = getU64(hv, 4);
        const length = ext ? getU64(hv, 20) : hv.getUint32(12);
        const p = this.#pending.get(cookie);
        if (!p) {
          throw new NbdProtocolError(`Reply for unknown cookie: ${cookie}`);
        }
        if (length > MAX_REPLY_PAYLOAD) {
          throw new NbdProtocolError(`Reply too long: ${length}`);
        }
        if (type === ReplyType.OFFSET_DATA && p.buf) {
          if (length < 9) {
            throw new NbdProtocolError(`Bad OFFSET_DATA length: ${length}`);
          }
          if (!await rd.fill(8)) break;
          const ob = rd.take(8);
          const off = getU64(new DataView(ob.buffer, ob.byteOffset, 8), 0);
          const n = length - 8;
          const rel = off - p.offset;
          if (rel < 0 || rel + n > p.buf.length) {
            throw new NbdProtocolError(
              `Data chunk outside the request: offset ${off}`,
            );
          }
          if (!await rd.readInto(p.buf.subarray(rel, rel + n))) break;
          p.chunks?.push({ type: "data", offset: off, length: n });
        } else {
          const d = new Uint8Array(length);
          if (!await rd.readInto(d)) break;
          this.#chunk(p, type, d, ext);
        }
        if (flags & REPLY_FLAG_DONE) this.#finish(cookie, p);
      }
      this.#fail(
        this.#closed
          ? this.#failure!
          : new Error("Server closed the connection"),
      );
    } catch (e) {
      this.#fail(e instanceof Error ? e : new Error(String(e)));
    }
  }

  #chunk(p: Pending, type: number, d: Uint8Array, ext: boolean): void {
    const v = new DataView(d.buffer, d.byteOffset, d.length);
    switch (type) {
      case ReplyType.NONE:
        return;
      case ReplyType.OFFSET_HOLE: {
        if (d.length !== 12 || !p.buf) {
          throw new NbdProtocolError("Bad OFFSET_HOLE chunk");
        }
        const off = getU64(v, 0);
        const n = v.getUint32(8);
        const rel = off - p.offset;
        if (n === 0 || rel < 0 || rel + n > p.buf.length) {
          throw new NbdProtocolError(
            `Hole chunk outside the request: offset ${off}`,
          );
        }
        p.buf.fill(0, rel, rel + n);
        p.chunks?.push({ type: "hole", offset: off, length: n });
        return;
      }
      case ReplyType.BLOCK_STATUS:
      case ReplyType.BLOCK_STATUS_EXT: {
        if (p.type !== Cmd.BLOCK_STATUS) {
          throw new NbdProtocolError("Unexpected block status chunk");
        }
        if (type === ReplyType.BLOCK_STATUS_EXT && !ext) {
          throw new NbdProtocolError(
            "Extended block status without extended headers",
          );
        }
        const bs = decodeBlockStatus(d, type === ReplyType.BLOCK_STATUS_EXT);
        const name = this.#contexts.get(bs.id) ?? `context ${bs.id}`;
        (p.status ??= new Map()).set(name, bs.extents);
        return;
      }
      case ReplyType.ERROR:
      case ReplyType.ERROR_OFFSET: {
        const e = decodeErrorPayload(d, type === ReplyType.ERROR_OFFSET);
        p.error ??= new NbdError(
          e.error,
          e.message || `Server replied ${errName(e.error)}`,
        );
        return;
      }
      default:
        if (type & 0x8000) {
          p.error ??= new NbdError(
            Errno.EINVAL,
            `Unknown error chunk type: ${type}`,
          );
          return;
        }
        throw new NbdProtocolError(`Unknown reply chunk type: ${type}`);
    }
  }
}

function errName(errno: number): string {
  return new NbdError(errno, "").code;
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
