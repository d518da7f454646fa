// Raw-socket NBD peer for tests: speaks bytes, checks bytes, notices closes.
import assert from "node:assert/strict";
import { BufferedReader, type Stream, writeAll } from "../../nbd/_stream.ts";
import {
  decodeOptionReplyHeader,
  encodeOption,
  encodeRequest,
  isRepError,
  Rep,
} from "../../nbd/protocol.ts";
import { getU64 } from "../../nbd/_u64.ts";

export interface RawReply {
  option: number;
  type: number;
  data: Uint8Array;
}

export class Raw {
  conn: Stream;
  reader: BufferedReader;
  greeting: Uint8Array = new Uint8Array(0);

  private constructor(conn: Stream) {
    this.conn = conn;
    this.reader = new BufferedReader(conn);
  }

  /** Connects and reads the greeting; sends `flags` unless undefined. */
  static async connect(
    port: number,
    flags: number | undefined = 3,
  ): Promise<Raw> {
    return await Raw.over(
      await Deno.connect({ hostname: "127.0.0.1", port }),
      flags,
    );
  }

  /** Reads the greeting from a connected stream; sends `flags` unless undefined. */
  static async over(
    conn: Stream,
    flags: number | undefined = 3,
  ): Promise<Raw> {
    const r = new Raw(conn);
    if (!await r.reader.fill(18).catch(() => false)) {
      r.close();
      throw new Error("No greeting: the server closed the connection");
    }
    r.greeting = r.reader.take(18).slice();
    if (flags !== undefined) await r.u32(flags);
    return r;
  }

  async send(b: Uint8Array): Promise<void> {
    await writeAll(this.conn, b);
  }

  async u32(v: number): Promise<void> {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v);
    await this.send(b);
  }

  /** Exactly n bytes, or null at end of stream. */
  async read(n: number): Promise<Uint8Array | null> {
    const out = new Uint8Array(n);
    try {
      return await this.reader.readInto(out) ? out : null;
    } catch {
      return null;
    }
  }

  async reply(): Promise<RawReply> {
    const h = await this.read(20);
    assert.ok(h, "option reply header");
    const { option, type, length } = decodeOptionReplyHeader(h);
    const data = await this.read(length);
    assert.ok(data, "option reply data");
    return { option, type, data };
  }

  /** Sends an option and collects replies through the final one. */
  async option(opt: number, data?: Uint8Array): Promise<RawReply[]> {
    await this.send(encodeOption(opt, data));
    const out: RawReply[] = [];
    for (;;) {
      const r = await this.reply();
      assert.equal(r.option, opt, "reply names the option");
      out.push(r);
      if (r.type === Rep.ACK || isRepError(r.type)) return out;
    }
  }

  async request(
    r: {
      type: number;
      flags?: number;
      cookie?: number;
      offset?: number;
      length?: number;
    },
    options: { extended?: boolean; data?: Uint8Array } = {},
  ): Promise<void> {
    await this.send(encodeRequest({
      type: r.type,
      flags: r.flags ?? 0,
      cookie: r.cookie ?? 1,
      offset: r.offset ?? 0,
      length: r.length ?? 0,
    }, options));
  }

  /** A simple reply: [error, cookie]. */
  async simple(): Promise<[number, number]> {
    const b = await this.read(16);
    assert.ok(b, "simple reply");
    const v = new DataView(b.buffer);
    assert.equal(v.getUint32(0), 0x67446698, "simple reply magic");
    return [v.getUint32(4), getU64(v, 8)];
  }

  /** A structured (20-byte) or extended (32-byte) chunk. */
  async chunk(extended = false): Promise<
    {
      flags: number;
      type: number;
      cookie: number;
      offset?: number;
      data: Uint8Array;
    }
  > {
    const b = await this.read(extended ? 32 : 20);
    assert.ok(b, "chunk header");
    const v = new DataView(b.buffer);
    assert.equal(
      v.getUint32(0),
      extended ? 0x6e8a278c : 0x668e33ef,
      "chunk magic",
    );
    const len = extended ? getU64(v, 24) : v.getUint32(16);
    const data = await this.read(len);
    assert.ok(data, "chunk payload");
    return {
      flags: v.getUint16(4),
      type: v.getUint16(6),
      cookie: getU64(v, 8),
      offset: extended ? getU64(v, 16) : undefined,
      data,
    };
  }

  /** True when the server has closed the connection (after any pending bytes). */
  async closed(): Promise<boolean> {
    const b = new Uint8Array(4096);
    for (;;) {
      if (this.reader.buffered) return false;
      try {
        const n = await this.conn.read(b);
        if (n === null) return true;
        return false;
      } catch {
        return true;
      }
    }
  }

  close(): void {
    try {
      this.conn.close();
    } catch { /* closed */ }
  }
}

export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
export const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

/** The parts, back to back. */
export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
