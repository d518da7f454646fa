import assert from "node:assert/strict";
import { XdrError, XdrReader, XdrWriter } from "../../../rpc/xdr.ts";
import {
  data_content4,
  decode_nfs_resop4,
  decode_READDIR4resok,
  decodeCompoundArgs,
  encode_COMPOUND4args,
  encode_nfs_resop4,
  encode_READDIR4resok,
  type entry4,
  entry4DirSize,
  entry4Size,
  fattr4Of,
  type nfs_argop4,
  nfs_opnum4,
  nfsstat4,
  type read_plus_content,
  ReaddirPage,
} from "../../../proto/nfs4/mod.ts";

Deno.test("nfs4 READ: 64 KiB of data is kept by reference when it ends the reply", () => {
  const data = new Uint8Array(65536).fill(9);
  const w = new XdrWriter({ reserve: 4, refMin: 65536 });
  encode_nfs_resop4(w, {
    resop: nfs_opnum4.OP_READ,
    opread: { status: nfsstat4.NFS4_OK, resok4: { eof: true, data } },
  });
  const { head, tail } = w.framed((v, n) => v.setUint32(0, n));
  assert.equal(tail, data, "the data is not copied");
  assert.equal(head.length, 4 + 4 + 4 + 4 + 4, "mark, op, status, eof, length");
  assert.equal(new DataView(head.buffer).getUint32(0), 20 + 65536 - 4);
});

Deno.test("nfs4 READ: data followed by more results is copied in, same bytes", () => {
  const data = new Uint8Array(65536).fill(9);
  const read = {
    resop: nfs_opnum4.OP_READ,
    opread: { status: nfsstat4.NFS4_OK, resok4: { eof: false, data } },
  } as const;
  const byRef = new XdrWriter({ refMin: 1 });
  encode_nfs_resop4(byRef, read);
  encode_nfs_resop4(byRef, {
    resop: nfs_opnum4.OP_SAVEFH,
    opsavefh: { status: 0 },
  });
  const copied = new XdrWriter();
  encode_nfs_resop4(copied, read);
  encode_nfs_resop4(copied, {
    resop: nfs_opnum4.OP_SAVEFH,
    opsavefh: { status: 0 },
  });
  assert.deepEqual(byRef.bytes(), copied.bytes());
  const r = new XdrReader(copied.bytes());
  assert.deepEqual(decode_nfs_resop4(r), read);
});

Deno.test("nfs4 READ_PLUS: a last data segment is kept by reference, a hole after it copies it in", () => {
  const data = new Uint8Array(65536).fill(7);
  const res = (contents: read_plus_content[]) => ({
    resop: nfs_opnum4.OP_READ_PLUS,
    opread_plus: {
      rp_status: nfsstat4.NFS4_OK,
      rp_resok4: { rpr_eof: false, rpr_contents: contents },
    },
  } as const);
  const hole: read_plus_content = {
    rpc_content: data_content4.NFS4_CONTENT_HOLE,
    rpc_hole: { di_offset: 0, di_length: 4096 },
  };
  const seg: read_plus_content = {
    rpc_content: data_content4.NFS4_CONTENT_DATA,
    rpc_data: { d_offset: 4096, d_data: data },
  };
  const w = new XdrWriter({ reserve: 4, refMin: 65536 });
  encode_nfs_resop4(w, res([hole, seg]));
  const { head, tail } = w.framed((v, n) => v.setUint32(0, n));
  assert.equal(tail, data, "the data is not copied");
  // mark, op, status, eof, count, hole (4 + 8 + 8), data arm, offset, length
  assert.equal(head.length, 4 + 4 + 4 + 4 + 4 + 20 + 4 + 8 + 4);
  const after = new XdrWriter({ refMin: 1 });
  encode_nfs_resop4(after, res([seg, hole]));
  const plain = new XdrWriter();
  encode_nfs_resop4(plain, res([seg, hole]));
  assert.deepEqual(after.bytes(), plain.bytes());
  assert.deepEqual(
    decode_nfs_resop4(new XdrReader(plain.bytes())),
    res([seg, hole]),
  );
});

function entry(cookie: number, name: string, attrBytes = 0): entry4 {
  return {
    cookie: BigInt(cookie),
    name: new TextEncoder().encode(name),
    attrs: {
      attrmask: attrBytes ? [0x10] : [],
      attr_vals: new Uint8Array(attrBytes),
    },
  };
}

Deno.test("nfs4 READDIR: sizes count the link, cookie, padded name and fattr4", () => {
  const e = entry(3, "abcde", 8);
  assert.equal(entry4Size(e), 4 + 8 + 4 + 8 + 4 + 4 + 4 + 8);
  assert.equal(entry4DirSize(e), 8 + 4 + 8);
  const w = new XdrWriter();
  const page = new ReaddirPage(0, 1 << 20);
  page.add(e);
  page.add(entry(4, "f"));
  encode_READDIR4resok(w, page.resok(new Uint8Array(8), true));
  assert.equal(w.length, page.size, "the page's size is the encoded size");
  assert.deepEqual(
    decode_READDIR4resok(new XdrReader(w.bytes())).reply.entries,
    page.entries,
  );
});

Deno.test("nfs4 READDIR: maxcount is exact; one more byte admits one more entry", () => {
  const e = entry(3, "name", 4);
  const one = 16 + entry4Size(e);
  const tight = new ReaddirPage(0, one + entry4Size(e) - 1);
  assert.ok(tight.add(e));
  assert.ok(!tight.add(e));
  assert.ok(!tight.add(entry(5, "")), "nothing after the first refusal");
  assert.equal(tight.entries.length, 1);
  assert.ok(tight.full && !tight.tooSmall);
  const roomy = new ReaddirPage(0, one + entry4Size(e));
  assert.ok(roomy.add(e) && roomy.add(e));
});

Deno.test("nfs4 READDIR: dircount bounds names and cookies but never the first entry", () => {
  const e = entry(3, "twelve-bytes", 400);
  const page = new ReaddirPage(1, 1 << 20);
  assert.ok(page.add(e), "the first entry is taken whatever dircount says");
  assert.ok(!page.add(e));
  const enough = new ReaddirPage(2 * entry4DirSize(e), 1 << 20);
  assert.ok(enough.add(e) && enough.add(e) && !enough.add(e));
});

Deno.test("nfs4 READDIR: a maxcount below one entry is too small", () => {
  const page = new ReaddirPage(0, 16 + 20);
  assert.ok(!page.add(entry(3, "abc")));
  assert.ok(page.tooSmall);
});

function compound(ops: (w: XdrWriter) => void, count: number): XdrReader {
  const w = new XdrWriter();
  w.opaque(new Uint8Array([0x74])).u32(1).u32(count);
  ops(w);
  return new XdrReader(w.bytes());
}

Deno.test("nfs4 COMPOUND: a well-formed request decodes whole", () => {
  const w = new XdrWriter();
  const argarray: nfs_argop4[] = [
    { argop: nfs_opnum4.OP_PUTROOTFH },
    { argop: nfs_opnum4.OP_GETATTR, opgetattr: { attr_request: [0x12] } },
  ];
  encode_COMPOUND4args(w, {
    tag: new Uint8Array(0),
    minorversion: 1,
    argarray,
  });
  const args = decodeCompoundArgs(new XdrReader(w.bytes()));
  assert.deepEqual(args, { tag: new Uint8Array(0), minorversion: 1, argarray });
});

Deno.test("nfs4 COMPOUND: undecodable arguments stop with BADXDR at that operation", () => {
  const r = compound((w) => {
    w.u32(nfs_opnum4.OP_PUTROOTFH);
    w.u32(nfs_opnum4.OP_PUTFH).opaque(new Uint8Array(200)); // handle too long
    w.u32(nfs_opnum4.OP_GETFH);
  }, 3);
  const args = decodeCompoundArgs(r);
  assert.deepEqual(args.tag, new Uint8Array([0x74]));
  assert.equal(args.argarray.length, 1);
  assert.deepEqual(args.stopped, {
    index: 1,
    opnum: nfs_opnum4.OP_PUTFH,
    status: nfsstat4.NFS4ERR_BADXDR,
  });
});

Deno.test("nfs4 COMPOUND: OP_ILLEGAL itself decodes; numbers outside nfs_opnum4 stop", () => {
  const r = compound((w) => w.u32(nfs_opnum4.OP_ILLEGAL).u32(0), 2);
  const args = decodeCompoundArgs(r);
  assert.deepEqual(args.argarray, [{ argop: nfs_opnum4.OP_ILLEGAL }]);
  assert.deepEqual(args.stopped, {
    index: 1,
    opnum: 0,
    status: nfsstat4.NFS4ERR_OP_ILLEGAL,
  });
});

Deno.test("nfs4 COMPOUND: a broken header or impossible count is refused whole", () => {
  assert.throws(
    () => decodeCompoundArgs(new XdrReader(new Uint8Array([0, 0, 0, 9]))),
    XdrError,
  );
  assert.throws(
    () => decodeCompoundArgs(compound(() => {}, 0xffffffff)),
    /cannot fit in 0 bytes/,
  );
  // Three operations promised, two and a half present.
  const short = compound((w) => {
    w.u32(nfs_opnum4.OP_PUTFH).opaque(new Uint8Array(0));
    w.u32(nfs_opnum4.OP_SAVEFH);
  }, 3);
  assert.throws(() => decodeCompoundArgs(short), /nfs_argop4\.argop/);
});

Deno.test("nfs4 fattr4Of: CREATE attributes carry only what was given", () => {
  const f = fattr4Of({ mode: 0o600 });
  assert.deepEqual(f.attrmask, [0, 2]);
  assert.deepEqual(f.attr_vals, new Uint8Array([0, 0, 1, 0x80]));
});
