// A bare Deno NFSv3 server for bench/nfs_bench.ts --floor: the least a Deno
// program does to serve bench/nfsbench.c (libnfs) its I/O, create, stat and
// remove rows, and nfs-cp its copies, from memory. NFS v3 and MOUNT v3 on
// one TCP port of 127.0.0.1, with its own XDR (a DataView and a cursor;
// nothing of netfs in it).
//
// Serves a tree of directories ("/", handle = node number) whose files are
// kept in memory, each one array that grows in place (a resizable
// ArrayBuffer), so that what WRITE stores READ gives back. MOUNT: NULL, MNT
// (of "/" only), UMNT, EXPORT. NFS: NULL, GETATTR, SETATTR (size only),
// LOOKUP, ACCESS (grants what is asked), READ, WRITE (answered FILE_SYNC),
// CREATE, MKDIR, REMOVE, RMDIR, FSSTAT, FSINFO (1 MiB reads and writes, as
// netfs offers), PATHCONF and COMMIT; every other procedure gets
// PROC_UNAVAIL, another program PROG_UNAVAIL. libnfs's mount and the I/O
// rows use all of these but SETATTR, FSSTAT and PATHCONF (REMOVE also clears
// up after the nfs-cp rows; the create, stat and remove rows work in a
// directory below the root). Credentials are
// skipped unchecked; owners are root, times the last change's.
//
// Left out: READDIR(PLUS) (the listing row does not run on it), RENAME,
// LINK and the other namespace calls, permissions, a
// duplicate-request cache, multi-fragment records, replies batched per read.
//
// One connection is served one call at a time, in order of arrival
// (pipelined calls wait in the receive buffer): a 64 KiB receive buffer
// (one socket read brings a 4 KiB WRITE or many small calls, handled in
// place); a longer record can only be a WRITE, whose data past the buffer is
// read straight into the file (0.31-0.38 s of CPU per GiB written at 1 in
// flight, against 0.37-0.45 with the record read into an array of its own
// and copied). One socket write per reply, but two for a READ of more than
// 64 KiB: its header, then the data straight from the file (1 MiB READs at 1
// in flight: 2,100-3,500 MiB/s, against 1,500-2,500 with the data copied
// into one write). Bounded: a record over 1 MiB + 64 KiB, a fragment that is
// not the last, a long record that is no WRITE, or a call that does not
// decode closes the connection; files stop at --max MiB each (NFS3ERR_FBIG)
// and a directory at 65,536 names (NFS3ERR_NOSPC).
//
//   deno run --allow-net=127.0.0.1 bench/_nfs_floor_deno.ts --port PORT [--max MiB]
import { parseArgs } from "node:util";
import { readFull, serveEach, writeAll } from "./_floor_io.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    port: { type: "string", default: "2049" },
    max: { type: "string", default: "1024" },
  },
});
const MAX_FILE = Number(values.max) * 1024 * 1024;
const XFER = 1 << 20; // rtmax and wtmax
const BUF = 64 * 1024;
const MAX_RECORD = XFER + BUF;
const MAX_NAMES = 65536;
const NFS = 100003;
const MOUNT = 100005;
// NFS3ERR_*
const NOENT = 2, EXIST = 17, NOTDIR = 20, ISDIR = 21, INVAL = 22;
const NOTEMPTY = 66;
const FBIG = 27, NOSPC = 28, STALE = 70;

/** A file or a directory (number 1 is the root) and its data. */
interface Node {
  id: number;
  dir: boolean;
  /** A directory's entries. */
  names?: Map<string, Node>;
  /** A directory's parent (the root's is itself). */
  parent?: Node;
  /** A file's: a view of a resizable ArrayBuffer, tracking its length. */
  data: Uint8Array;
  size: number;
  /** Modification time in milliseconds. */
  mtime: number;
}

const root: Node = {
  id: 1,
  dir: true,
  data: new Uint8Array(0),
  size: 4096,
  mtime: Date.now(),
};
root.names = new Map();
root.parent = root;
const byId = new Map<number, Node>([[1, root]]);
/** The last node number given out (never reused: a removed node's handle goes stale). */
let lastId = 1;

/** A new node named `name` in the directory `d`. */
function add(d: Node, name: string, dir: boolean): Node {
  const g: Node = {
    id: ++lastId,
    dir,
    data: dir
      ? new Uint8Array(0)
      : new Uint8Array(new ArrayBuffer(0, { maxByteLength: MAX_FILE })),
    size: dir ? 4096 : 0,
    mtime: Date.now(),
  };
  if (dir) {
    g.names = new Map();
    g.parent = d;
  }
  byId.set(g.id, g);
  d.names!.set(name, g);
  d.mtime = g.mtime;
  return g;
}

/** Why `name` cannot be made in `f`, or 0. */
function cannotAdd(f: Node, name: string): number {
  return !f.dir
    ? NOTDIR
    : name.length === 0 || name.includes("/") || name === "." || name === ".."
    ? INVAL
    : f.names!.size >= MAX_NAMES
    ? NOSPC
    : 0;
}

/**
 * Grows `f`'s array in place to hold `n` bytes (n at most MAX_FILE): the
 * array is a view of a resizable ArrayBuffer, so growing copies nothing
 * and views of it taken before stay valid.
 */
function reserve(f: Node, n: number): void {
  if (n <= f.data.length) return;
  (f.data.buffer as ArrayBuffer).resize(
    Math.min(MAX_FILE, Math.max(n, 2 * f.data.length)),
  );
}

/** Sets `f`'s size; bytes past a shrunk end read as zeros when regrown. */
function resize(f: Node, n: number): void {
  if (n < f.size) f.data.fill(0, n, f.size);
  else reserve(f, n);
  f.size = n;
  f.mtime = Date.now();
}

/** Thrown when a call does not decode: the connection closes. */
const BAD = new Error("Bad record");

/** The arguments of one call: a cursor over its record. */
class In {
  b: Uint8Array = new Uint8Array(0);
  v: DataView = new DataView(this.b.buffer);
  at = 0;
  end = 0;
  /** The record's bytes past `end`, still in the socket (a long WRITE's). */
  rest = 0;

  set(b: Uint8Array, v: DataView, at: number, end: number, rest = 0): void {
    this.b = b;
    this.v = v;
    this.at = at;
    this.end = end;
    this.rest = rest;
  }

  u32(): number {
    if (this.at + 4 > this.end) throw BAD;
    const n = this.v.getUint32(this.at);
    this.at += 4;
    return n;
  }

  /** An unsigned hyper as a number (inexact past 2^53: only compared). */
  u64(): number {
    return this.u32() * 2 ** 32 + this.u32();
  }

  /** Variable-length opaque data of at most `max` bytes, not copied. */
  opaque(max: number): Uint8Array {
    const n = this.u32();
    const next = this.at + ((n + 3) & ~3);
    if (n > max || next > this.end) throw BAD;
    const bytes = this.b.subarray(this.at, this.at + n);
    this.at = next;
    return bytes;
  }

  /** A file handle's node, or undefined for one this server never made. */
  fh(): Node | undefined {
    if (this.opaque(64).length !== 8) return undefined;
    return byId.get(this.v.getUint32(this.at - 4));
  }

  /** A name (ASCII is all the benchmark sends). */
  name(): string {
    return String.fromCharCode(...this.opaque(255));
  }

  /** A sattr3; answers the size it sets, or -1. */
  sattr(): number {
    for (let i = 0; i < 3; i++) if (this.u32()) this.u32(); // mode uid gid
    const size = this.u32() ? this.u64() : -1;
    for (let i = 0; i < 2; i++) if (this.u32() === 2) this.u64(); // times
    return size;
  }
}

/** A reply being written: 4 bytes of record mark, 24 of RPC header, results. */
class Out {
  readonly b = new Uint8Array(MAX_RECORD);
  readonly v = new DataView(this.b.buffer);
  at = 28;
  /** READ data sent after the reply's head, when not copied into it. */
  tail: Uint8Array | undefined;
  /** Where the rest of a long WRITE's data goes as it is read. */
  sink: Uint8Array | undefined;

  reset(): void {
    this.at = 28;
    this.tail = undefined;
    this.sink = undefined;
  }

  u32(n: number): void {
    this.v.setUint32(this.at, n);
    this.at += 4;
  }

  u64(n: number): void {
    this.v.setUint32(this.at, Math.floor(n / 2 ** 32));
    this.v.setUint32(this.at + 4, n >>> 0);
    this.at += 8;
  }

  fh(f: Node): void {
    this.u32(8);
    this.u32(0);
    this.u32(f.id);
  }

  /** fattr3. */
  attrs(f: Node): void {
    this.u32(f.dir ? 2 : 1);
    this.u32(f.dir ? 0o1777 : 0o644);
    this.u32(f.dir ? 2 : 1);
    this.u32(0);
    this.u32(0);
    this.u64(f.size);
    this.u64(f.dir ? f.size : f.data.length);
    this.u64(0); // rdev
    this.u64(1); // fsid
    this.u64(f.id);
    const sec = Math.floor(f.mtime / 1000), nsec = (f.mtime % 1000) * 1e6;
    for (let i = 0; i < 3; i++) {
      this.u32(sec);
      this.u32(nsec);
    }
  }

  /** post_op_attr, present. */
  post(f: Node): void {
    this.u32(1);
    this.attrs(f);
  }

  /** wcc_data: no before, the attributes after. */
  wcc(f: Node): void {
    this.u32(0);
    this.post(f);
  }

  /** CREATE's or MKDIR's success: `g`'s handle and attributes, `d`'s wcc. */
  made(g: Node, d: Node): void {
    this.u32(0);
    this.u32(1);
    this.fh(g);
    this.post(g);
    this.wcc(d);
  }

  /** A status with no attributes (post_op_attr absent). */
  fail(status: number): void {
    this.u32(status);
    this.u32(0);
  }
}

/** MOUNT v3: writes the results; false for a procedure it does not serve. */
function mount(proc: number, i: In, o: Out): boolean {
  if (proc === 0 || proc === 3) return true; // NULL, UMNT
  if (proc === 5) { // EXPORT: "/", no groups
    o.u32(1);
    o.u32(1);
    o.u32(0x2f000000);
    o.u32(0);
    o.u32(0);
    return true;
  }
  if (proc !== 1) return false;
  if (String.fromCharCode(...i.opaque(1024)) !== "/") {
    o.u32(2); // MNT3ERR_NOENT
    return true;
  }
  o.u32(0);
  o.fh(root);
  o.u32(2); // AUTH_NONE and AUTH_SYS
  o.u32(0);
  o.u32(1);
  return true;
}

/** NFS v3: writes the results; false for a procedure it does not serve. */
function nfs(proc: number, i: In, o: Out): boolean {
  if (proc === 0) return true;
  if (proc > 21 || !((1 << proc) & 0x3c33de)) return false;
  const f = i.fh();
  if (!f) { // then no attributes: post_op_attr or wcc_data absent
    o.u32(STALE);
    if (proc !== 1) o.u32(0);
    if ([2, 7, 8, 9, 12, 13, 21].includes(proc)) o.u32(0);
    return true;
  }
  switch (proc) {
    case 1: // GETATTR
      o.u32(0);
      o.attrs(f);
      return true;
    case 2: { // SETATTR
      const size = i.sattr();
      if (i.u32()) i.u64(); // guard
      const status = size < 0 ? 0 : f.dir ? ISDIR : size > MAX_FILE ? FBIG : 0;
      if (size >= 0 && status === 0) resize(f, size);
      o.u32(status);
      o.wcc(f);
      return true;
    }
    case 3: { // LOOKUP
      const name = i.name();
      const found = !f.dir
        ? undefined
        : name === "."
        ? f
        : name === ".."
        ? f.parent
        : f.names!.get(name);
      if (!found) {
        o.u32(f.dir ? NOENT : NOTDIR);
        o.post(f);
        return true;
      }
      o.u32(0);
      o.fh(found);
      o.post(found);
      o.post(f);
      return true;
    }
    case 4: { // ACCESS
      const asked = i.u32();
      o.u32(0);
      o.post(f);
      o.u32(asked & 0x3f);
      return true;
    }
    case 6: { // READ
      const offset = i.u64();
      const count = Math.min(i.u32(), XFER);
      if (f.dir) {
        o.u32(ISDIR);
        o.post(f);
        return true;
      }
      const n = offset >= f.size ? 0 : Math.min(count, f.size - offset);
      o.u32(0);
      o.post(f);
      o.u32(n);
      o.u32(offset + n >= f.size ? 1 : 0);
      o.u32(n);
      const data = f.data.subarray(offset, offset + n);
      if (n > BUF && n % 4 === 0) {
        o.tail = data;
        return true;
      }
      o.b.set(data, o.at);
      o.b.fill(0, o.at + n, o.at + ((n + 3) & ~3));
      o.at += (n + 3) & ~3;
      return true;
    }
    case 7: { // WRITE
      const offset = i.u64();
      const count = i.u32();
      i.u32(); // stable: memory is as stable as it gets here
      const n = i.u32(); // the data's length; the data ends the record
      if (n > XFER || i.at + ((n + 3) & ~3) !== i.end + i.rest) throw BAD;
      const here = Math.min(n, i.end - i.at); // the rest is in the socket
      const status = f.dir
        ? ISDIR
        : count !== n
        ? INVAL
        : offset + n > MAX_FILE
        ? FBIG
        : 0;
      if (status) {
        o.sink = o.b.subarray(BUF, BUF + n - here); // read, then dropped
        o.u32(status);
        o.wcc(f);
        return true;
      }
      reserve(f, offset + n);
      f.data.set(i.b.subarray(i.at, i.at + here), offset);
      o.sink = f.data.subarray(offset + here, offset + n);
      if (offset + n > f.size) f.size = offset + n;
      f.mtime = Date.now();
      o.u32(0);
      o.wcc(f);
      o.u32(count);
      o.u32(2); // FILE_SYNC
      o.u64(0); // verifier
      return true;
    }
    case 8: { // CREATE
      const name = i.name();
      const how = i.u32();
      let size = -1;
      if (how === 2) i.u64(); // EXCLUSIVE's verifier
      else size = i.sattr();
      let g = f.dir ? f.names!.get(name) : undefined;
      const status = g
        ? (how !== 0 || g.dir ? EXIST : size > MAX_FILE ? FBIG : 0)
        : size > MAX_FILE
        ? FBIG
        : cannotAdd(f, name);
      if (status) {
        o.u32(status);
        o.wcc(f);
        return true;
      }
      g ??= add(f, name, false);
      if (size >= 0) resize(g, size);
      o.made(g, f);
      return true;
    }
    case 9: { // MKDIR
      const name = i.name();
      i.sattr();
      const status = f.dir && f.names!.has(name) ? EXIST : cannotAdd(f, name);
      if (status) {
        o.u32(status);
        o.wcc(f);
        return true;
      }
      const g = add(f, name, true);
      o.made(g, f);
      return true;
    }
    case 12: // REMOVE
    case 13: { // RMDIR
      const name = i.name();
      const g = f.dir ? f.names!.get(name) : undefined;
      const status = !f.dir
        ? NOTDIR
        : !g
        ? NOENT
        : proc === 12 && g.dir
        ? ISDIR
        : proc === 13 && !g.dir
        ? NOTDIR
        : g.names?.size
        ? NOTEMPTY
        : 0;
      if (status === 0) {
        f.names!.delete(name);
        byId.delete(g!.id);
        f.mtime = Date.now();
      }
      o.u32(status);
      o.wcc(f);
      return true;
    }
    case 18: // FSSTAT
      o.u32(0);
      o.post(f);
      for (let k = 0; k < 3; k++) o.u64(64 * MAX_FILE); // bytes
      for (let k = 0; k < 3; k++) o.u64(MAX_NAMES); // files
      o.u32(0); // invarsec
      return true;
    case 19: // FSINFO
      o.u32(0);
      o.post(f);
      for (const n of [XFER, XFER, 4096, XFER, XFER, 4096, 65536]) o.u32(n);
      o.u64(MAX_FILE);
      o.u32(0); // time_delta: 1 ns
      o.u32(1);
      o.u32(0x18); // HOMOGENEOUS | CANSETTIME
      return true;
    case 20: // PATHCONF
      o.u32(0);
      o.post(f);
      for (const n of [1, 255, 1, 1, 0, 1]) o.u32(n);
      return true;
    default: // 21, COMMIT
      i.u64();
      i.u32();
      o.u32(0);
      o.wcc(f);
      o.u64(0); // verifier
      return true;
  }
}

/**
 * Runs the call in `i` and leaves its reply in `o` (with `o.tail`): accept
 * state SUCCESS, PROG_UNAVAIL, PROG_MISMATCH or PROC_UNAVAIL. Throws BAD
 * for a record that is no call or whose arguments do not decode.
 */
function call(i: In, o: Out): void {
  const xid = i.u32();
  if (i.u32() !== 0 || i.u32() !== 2) throw BAD; // a CALL of RPC version 2
  const prog = i.u32(), vers = i.u32(), proc = i.u32();
  i.u32();
  i.opaque(400); // credential
  i.u32();
  i.opaque(400); // verifier
  o.reset();
  let accept = 0;
  if (prog !== NFS && prog !== MOUNT) accept = 1;
  else if (vers !== 3) {
    accept = 2;
    o.u32(3);
    o.u32(3);
  } else if (!(prog === NFS ? nfs : mount)(proc, i, o)) accept = 3;
  const v = o.v;
  v.setUint32(4, xid);
  v.setUint32(8, 1); // REPLY
  v.setUint32(12, 0); // MSG_ACCEPTED
  v.setUint32(16, 0); // AUTH_NONE verifier
  v.setUint32(20, 0);
  v.setUint32(24, accept);
  v.setUint32(0, 0x80000000 | (o.at - 4 + (o.tail?.length ?? 0)));
}

async function serve(conn: Deno.TcpConn): Promise<void> {
  conn.setNoDelay(true);
  const buf = new Uint8Array(BUF);
  const bv = new DataView(buf.buffer);
  let start = 0, end = 0;
  /** Makes `n` bytes (at most BUF) available at `start`; false at the end. */
  const need = async (n: number) => {
    if (end - start >= n) return true;
    buf.copyWithin(0, start, end);
    end -= start;
    start = 0;
    while (end < n) {
      const got = await conn.read(buf.subarray(end));
      if (got === null) return false;
      end += got;
    }
    return true;
  };
  const pad = new Uint8Array(3);
  const i = new In();
  const o = new Out();
  for (;;) {
    if (!await need(4)) return;
    const mark = bv.getUint32(start);
    const len = mark & 0x7fffffff;
    if (mark >>> 31 === 0 || len > MAX_RECORD) return;
    start += 4;
    if (len <= BUF) {
      if (!await need(len)) return;
      i.set(buf, bv, start, start + len);
      start += len; // the next need() moves nothing before this call is done
    } else { // a 1 MiB WRITE: its head here, its data read to where it goes
      if (!await need(BUF)) return;
      i.set(buf, bv, start, end, len - (end - start));
      start = end;
    }
    call(i, o);
    if (i.rest > 0) {
      const sink = o.sink; // none: a long record that is no WRITE
      if (
        !sink || !await readFull(conn, sink) ||
        !await readFull(conn, pad.subarray(0, i.rest - sink.length))
      ) return;
    }
    await writeAll(conn, o.b.subarray(0, o.at));
    if (o.tail) await writeAll(conn, o.tail);
  }
}

await serveEach(Number(values.port), serve);
