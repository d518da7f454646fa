// Raw-socket helpers for RPC server tests: build calls byte by byte and read
// whole reply records, so malformed calls can be sent on purpose.
import assert from "node:assert/strict";
import {
  decodeReplyHeader,
  encodeCallHeader,
  type OpaqueAuth,
  type ReplyHeader,
} from "../../rpc/message.ts";
import { recordMark, RecordReader } from "../../rpc/record.ts";
import { procedure, type RpcProgram } from "../../rpc/program.ts";
import { XdrReader, XdrWriter } from "../../rpc/xdr.ts";

/** A test program: NULL, ECHO (opaque), SLOW (waits args ms, echoes u32), BOOM. */
export const TEST_PROG = 0x20000101;

export function testProgram(
  version = 1,
  extra: RpcProgram["procedures"] = {},
): RpcProgram {
  return {
    program: TEST_PROG,
    version,
    name: "test",
    procedures: {
      0: { name: "NULL", run: () => {} },
      1: procedure({
        name: "ECHO",
        decode: (args) => {
          const data = args.opaque(1 << 20);
          args.end();
          return data;
        },
        run: (data) => data,
        encode: (reply, data) => void reply.opaque(data),
      }),
      2: procedure({
        name: "SLOW",
        decode: (args) => ({ ms: args.u32(), tag: args.u32() }),
        run: async ({ ms, tag }) => {
          await new Promise((r) => setTimeout(r, ms));
          return tag;
        },
        encode: (reply, tag) => void reply.u32(tag),
      }),
      3: {
        name: "BOOM",
        run: () => {
          throw new Error("Intentional failure");
        },
      },
      ...extra,
    },
  };
}

/** One call record (with record mark) with arbitrary header fields. */
export function callRecord(
  init: {
    xid: number;
    program?: number;
    version?: number;
    procedure?: number;
    cred?: OpaqueAuth;
    verf?: OpaqueAuth;
  },
  args?: (w: XdrWriter) => void,
): Uint8Array {
  const w = new XdrWriter({ reserve: 4 });
  encodeCallHeader(w, {
    xid: init.xid,
    program: init.program ?? TEST_PROG,
    version: init.version ?? 1,
    procedure: init.procedure ?? 0,
    cred: init.cred,
    verf: init.verf,
  });
  args?.(w);
  return w.withHeader(recordMark).slice();
}

/** Wraps raw body bytes in a one-fragment record mark. */
export function rawRecord(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(body.length + 4);
  new DataView(out.buffer).setUint32(0, (0x80000000 | body.length) >>> 0);
  out.set(body, 4);
  return out;
}

export async function writeAll(conn: Deno.Conn, bytes: Uint8Array) {
  let at = 0;
  while (at < bytes.length) at += await conn.write(bytes.subarray(at));
}

/** A raw connection that reads reply records. */
export class RawConn {
  readonly conn: Deno.TcpConn;
  readonly records: RecordReader;
  constructor(conn: Deno.TcpConn) {
    this.conn = conn;
    this.records = new RecordReader(conn);
  }
  static async open(addr: Deno.NetAddr): Promise<RawConn> {
    return new RawConn(
      await Deno.connect({ hostname: addr.hostname, port: addr.port }),
    );
  }
  send(bytes: Uint8Array): Promise<void> {
    return writeAll(this.conn, bytes);
  }
  next(): Promise<Uint8Array | null> {
    return this.records.next();
  }
  /** Resolves true when the server closes the connection. */
  async closedByPeer(): Promise<boolean> {
    try {
      return (await this.records.next()) === null;
    } catch {
      return true;
    }
  }
  close() {
    try {
      this.conn.close();
    } catch { /* closed */ }
  }
}

/** A log sink that keeps lines in `lines` instead of printing them. */
export function quietLog(lines: string[] = []) {
  return (m: string) => void lines.push(m);
}

/** The next reply on `c`: its header and a reader at its results. */
export async function reply(c: RawConn): Promise<[ReplyHeader, XdrReader]> {
  const rec = await c.next();
  assert.ok(rec, "expected a reply record");
  const r = new XdrReader(rec);
  return [decodeReplyHeader(r), r];
}

/** Asserts `h` is an accepted reply with accept status `stat`. */
export function accepted(h: ReplyHeader, stat: number) {
  assert.equal(h.replyStat, 0, "accepted reply");
  if (h.replyStat === 0) assert.equal(h.acceptStat, stat);
}
