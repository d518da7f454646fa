// A bare Deno NBD server for bench/nbd_bench.ts --floor: the least a
// Deno program does to serve fio's nbd engine (libnbd) from memory. Fixed
// newstyle handshake answering NBD_OPT_GO, NBD_OPT_EXPORT_NAME and
// NBD_OPT_STRUCTURED_REPLY (every other option gets NBD_REP_ERR_UNSUP), then
// READ (an OFFSET_DATA chunk once structured replies are on, as libnbd asks
// and netfs and nbdkit agree to), WRITE, FLUSH and DISC (simple replies), one
// request at a time per connection: a 64 KiB receive buffer (one socket
// read brings a request and a 4 KiB payload; a longer payload is read
// straight into memory), and one write per reply. No checks beyond what
// keeps it in bounds; a bad request closes the connection. What a 1-in-flight
// request costs in Deno with nothing of netfs in it, next to nbdkit.
//
//   deno run --allow-net=127.0.0.1 bench/_nbd_floor_deno.ts --port PORT [--size MiB]
import { parseArgs } from "node:util";
import { readFull, serveEach, writeAll } from "./_floor_io.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    port: { type: "string", default: "10809" },
    size: { type: "string", default: "1024" },
  },
});
const SIZE = Number(values.size) * 1024 * 1024;
const disk = new Uint8Array(SIZE);
const OPT_MAGIC = 0x49484156454f5054n;
const REPLY_MAGIC = 0x3e889045565a9n;
// HAS_FLAGS | SEND_FLUSH | CAN_MULTI_CONN
const TX_FLAGS = 1 | 4 | 256;

function optionReply(option: number, type: number, data: Uint8Array) {
  const out = new Uint8Array(20 + data.length);
  const v = new DataView(out.buffer);
  v.setBigUint64(0, REPLY_MAGIC);
  v.setUint32(8, option);
  v.setUint32(12, type);
  v.setUint32(16, data.length);
  out.set(data, 20);
  return out;
}

/**
 * The handshake; answers whether structured replies are on, or undefined
 * when the client left or aborted.
 */
async function handshake(conn: Deno.Conn): Promise<boolean | undefined> {
  const hello = new Uint8Array(18);
  const hv = new DataView(hello.buffer);
  hv.setBigUint64(0, 0x4e42444d41474943n);
  hv.setBigUint64(8, OPT_MAGIC);
  hv.setUint16(16, 1 | 2); // FIXED_NEWSTYLE | NO_ZEROES
  await writeAll(conn, hello);
  const clientFlags = new Uint8Array(4);
  if (!await readFull(conn, clientFlags)) return undefined;
  const noZeroes = (clientFlags[3] & 2) !== 0;
  const head = new Uint8Array(16);
  const info = new Uint8Array(12);
  const iv = new DataView(info.buffer);
  iv.setBigUint64(2, BigInt(SIZE)); // NBD_INFO_EXPORT: type 0, size, flags
  iv.setUint16(10, TX_FLAGS);
  let structured = false;
  for (let i = 0; i < 64; i++) {
    if (!await readFull(conn, head)) return undefined;
    const v = new DataView(head.buffer);
    const option = v.getUint32(8);
    const length = v.getUint32(12);
    if (v.getBigUint64(0) !== OPT_MAGIC || length > 4096) return undefined;
    const data = new Uint8Array(length);
    if (!await readFull(conn, data)) return undefined;
    if (option === 1) { // EXPORT_NAME: size, flags, and no reply header
      const out = new Uint8Array(noZeroes ? 10 : 134);
      new DataView(out.buffer).setBigUint64(0, BigInt(SIZE));
      new DataView(out.buffer).setUint16(8, TX_FLAGS);
      await writeAll(conn, out);
      return structured;
    }
    if (option === 2) return undefined; // ABORT
    if (option === 8) { // STRUCTURED_REPLY
      structured = true;
      await writeAll(conn, optionReply(option, 1, new Uint8Array(0)));
      continue;
    }
    if (option === 7 || option === 6) { // GO, INFO
      await writeAll(conn, optionReply(option, 3, info));
      await writeAll(conn, optionReply(option, 1, new Uint8Array(0)));
      if (option === 7) return structured;
      continue;
    }
    await writeAll(conn, optionReply(option, 0x80000001, new Uint8Array(0)));
  }
  return undefined;
}

/** A connection's receive buffer: one socket read brings what the client sent. */
class Received {
  readonly buf = new Uint8Array(65536);
  start = 0;
  end = 0;
  constructor(readonly conn: Deno.Conn) {}

  /** Makes `n` (at most 65536) bytes available at `start`; false at end of stream. */
  async need(n: number): Promise<boolean> {
    if (this.end - this.start >= n) return true;
    this.buf.copyWithin(0, this.start, this.end);
    this.end -= this.start;
    this.start = 0;
    while (this.end < n) {
      const got = await this.conn.read(this.buf.subarray(this.end));
      if (got === null) return false;
      this.end += got;
    }
    return true;
  }

  /** Fills `into` from the buffer, then straight from the socket. */
  async fill(into: Uint8Array): Promise<boolean> {
    const have = Math.min(into.length, this.end - this.start);
    into.set(this.buf.subarray(this.start, this.start + have));
    this.start += have;
    return have === into.length ||
      await readFull(this.conn, into.subarray(have));
  }
}

async function serve(conn: Deno.TcpConn): Promise<void> {
  conn.setNoDelay(true);
  const structured = await handshake(conn);
  if (structured === undefined) return;
  const r = new Received(conn);
  const rv = new DataView(r.buf.buffer);
  const reply = new Uint8Array(28 + 32 * 1024 * 1024);
  const out = new DataView(reply.buffer);
  // A simple reply's header, or a READ's OFFSET_DATA chunk header (flag
  // DONE, type 1, the cookie, the length, then the offset) over it.
  const SIMPLE = 0x67446698;
  const CHUNK = 0x668e33ef;
  for (;;) {
    if (!await r.need(28)) return;
    const at = r.start;
    const type = rv.getUint16(at + 6);
    const offset = Number(rv.getBigUint64(at + 16));
    const length = rv.getUint32(at + 24);
    if (rv.getUint32(at) !== 0x25609513 || type === 2) return; // or DISC
    const cookie = r.buf.subarray(at + 8, at + 16);
    r.start += 28;
    const inBounds = offset + length <= SIZE && length <= 32 * 1024 * 1024;
    if (type === 1) {
      if (!inBounds) return;
      if (!await r.fill(disk.subarray(offset, offset + length))) return;
    }
    if (type === 0 && inBounds) {
      let head = 16;
      if (structured) {
        out.setUint32(0, CHUNK);
        out.setUint32(4, 0x00010001); // flags DONE, type OFFSET_DATA
        reply.set(cookie, 8);
        out.setUint32(16, 8 + length);
        out.setBigUint64(20, BigInt(offset));
        head = 28;
      } else {
        out.setUint32(0, SIMPLE);
        out.setUint32(4, 0);
        reply.set(cookie, 8);
      }
      reply.set(disk.subarray(offset, offset + length), head);
      await writeAll(conn, reply.subarray(0, head + length));
    } else {
      out.setUint32(0, SIMPLE);
      out.setUint32(4, type > 3 || type === 0 ? 22 : 0);
      reply.set(cookie, 8);
      await writeAll(conn, reply.subarray(0, 16));
    }
  }
}

await serveEach(Number(values.port), serve);
