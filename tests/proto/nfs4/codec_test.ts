import assert from "node:assert/strict";
import { XdrError, XdrReader, XdrWriter } from "../../../rpc/xdr.ts";
import * as nfs4 from "../../../proto/nfs4/mod.ts";
import type { UnionDef } from "../../../tools/xdrgen/parse.ts";
import { model, Samples } from "./_samples.ts";

type Enc = (w: XdrWriter, v: unknown) => void;
type Dec = (r: XdrReader) => unknown;
const codecs = nfs4 as unknown as Record<string, unknown>;

function codec(name: string): { enc: Enc; dec: Dec; min: number; max: number } {
  const enc = codecs[`encode_${name}`] as Enc;
  const dec = codecs[`decode_${name}`] as Dec;
  const size = codecs[`sizeof_${name}`] as { min: number; max: number };
  assert.equal(typeof enc, "function", `encode_${name} exists`);
  assert.equal(typeof dec, "function", `decode_${name} exists`);
  return { enc, dec, ...size };
}

/** Encodes, decodes, re-encodes; asserts equality and the size bounds. */
function roundTrip(name: string, v: unknown, what: string): Uint8Array {
  const c = codec(name);
  const w = new XdrWriter({ size: 16 });
  c.enc(w, v);
  const bytes = w.bytes().slice();
  assert.ok(
    bytes.length >= c.min && bytes.length <= c.max,
    `${what}: ${bytes.length} bytes lies within sizeof_${name} [${c.min}, ${c.max}]`,
  );
  const r = new XdrReader(bytes);
  const back = c.dec(r);
  assert.equal(r.remaining, 0, `${what}: decoding uses every byte`);
  assert.deepEqual(back, v, `${what}: decodes to what was encoded`);
  const w2 = new XdrWriter();
  c.enc(w2, back);
  assert.deepEqual(w2.bytes(), bytes, `${what}: re-encodes to the same bytes`);
  return bytes;
}

function hex(s: string): Uint8Array {
  const clean = s.replace(/\s+/g, "");
  return Uint8Array.from(clean.match(/../g)!, (b) => parseInt(b, 16));
}

function encodeWith<T>(fn: (w: XdrWriter, v: T) => void, v: T): Uint8Array {
  const w = new XdrWriter();
  fn(w, v);
  return w.bytes();
}

Deno.test("nfs4: every nfs_argop4 arm round-trips", () => {
  const s = new Samples(1);
  const u = model.type("nfs_argop4") as UnionDef;
  assert.equal(u.arms.length, 74, "3..75 without 0..2, plus OP_ILLEGAL");
  for (let arm = 0; arm < u.arms.length; arm++) {
    for (let i = 0; i < 8; i++) {
      roundTrip("nfs_argop4", s.union("nfs_argop4", arm), `argop arm ${arm}`);
    }
  }
});

Deno.test("nfs4: every nfs_resop4 arm round-trips, each result arm included", () => {
  const s = new Samples(2);
  const u = model.type("nfs_resop4") as UnionDef;
  let cases = 0;
  for (let arm = 0; arm < u.arms.length; arm++) {
    const decl = u.arms[arm].decl;
    assert.ok(decl.kind === "plain" && decl.type.kind === "named");
    const resType = model.resolveAlias(decl.type.name);
    const inner = resType.kind === "union" ? resType : null;
    const innerArms = inner
      ? inner.arms.length + (inner.defaultArm ? 1 : 0)
      : 1;
    for (let ia = 0; ia < innerArms; ia++) {
      for (let i = 0; i < 4; i++) {
        const res = inner
          ? s.union(inner.name, ia)
          : s.value(resType.kind === "struct" ? resType.name : decl.type.name);
        if (res === undefined) continue;
        const v = {
          resop: Number(model.value(u.arms[arm].labels[0])),
          [decl.name]: res,
        };
        roundTrip("nfs_resop4", v, `resop arm ${arm}, result arm ${ia}`);
        cases++;
      }
    }
  }
  assert.ok(cases > 57 * 4, `many cases ran (${cases})`);
});

Deno.test("nfs4: every type of nfs4.x round-trips", () => {
  const s = new Samples(3);
  for (const name of model.types.keys()) {
    for (let i = 0; i < 6; i++) roundTrip(name, s.value(name), name);
  }
});

Deno.test("nfs4: every callback operation round-trips", () => {
  const s = new Samples(4);
  for (const name of ["nfs_cb_argop4", "nfs_cb_resop4"]) {
    const u = model.type(name) as UnionDef;
    for (let arm = 0; arm < u.arms.length; arm++) {
      for (let i = 0; i < 6; i++) {
        roundTrip(name, s.union(name, arm), `${name} arm ${arm}`);
      }
    }
  }
  for (let i = 0; i < 20; i++) {
    roundTrip(
      "CB_COMPOUND4args",
      s.value("CB_COMPOUND4args"),
      "CB_COMPOUND4args",
    );
    roundTrip("CB_COMPOUND4res", s.value("CB_COMPOUND4res"), "CB_COMPOUND4res");
  }
});

Deno.test("nfs4: a stateid4 is its seqid then 12 bytes", () => {
  const other = Uint8Array.from({ length: 12 }, (_, i) => i + 1);
  const bytes = encodeWith(nfs4.encode_stateid4, { seqid: 0x01020304, other });
  assert.deepEqual(bytes, hex("01020304 0102030405060708090a0b0c"));
  assert.deepEqual(nfs4.decode_stateid4(new XdrReader(bytes)), {
    seqid: 0x01020304,
    other,
  });
  assert.deepEqual(nfs4.sizeof_stateid4, { min: 16, max: 16 });
});

Deno.test("nfs4: a bitmap4 is a count then words, bit n in word n/32", () => {
  const bm = nfs4.bitmapOf([
    nfs4.FATTR4_TYPE,
    nfs4.FATTR4_SIZE,
    nfs4.FATTR4_MODE,
  ]);
  const bytes = encodeWith(nfs4.encode_bitmap4, bm);
  assert.deepEqual(bytes, hex("00000002 00000012 00000002"));
  assert.deepEqual(nfs4.decode_bitmap4(new XdrReader(bytes)), [0x12, 0x2]);
});

Deno.test("nfs4: COMPOUND of PUTROOTFH and GETFH, byte for byte", () => {
  const args: nfs4.COMPOUND4args = {
    tag: new Uint8Array(0),
    minorversion: 0,
    argarray: [
      { argop: nfs4.nfs_opnum4.OP_PUTROOTFH },
      { argop: nfs4.nfs_opnum4.OP_GETFH },
    ],
  };
  const bytes = encodeWith(nfs4.encode_COMPOUND4args, args);
  // tag (empty), minor version 0, two ops: 24 (PUTROOTFH), 10 (GETFH).
  assert.deepEqual(bytes, hex("00000000 00000000 00000002 00000018 0000000a"));
  assert.deepEqual(nfs4.decode_COMPOUND4args(new XdrReader(bytes)), args);

  const res: nfs4.COMPOUND4res = {
    status: nfs4.nfsstat4.NFS4_OK,
    tag: new TextEncoder().encode("ab"),
    resarray: [
      { resop: nfs4.nfs_opnum4.OP_PUTROOTFH, opputrootfh: { status: 0 } },
      {
        resop: nfs4.nfs_opnum4.OP_GETFH,
        opgetfh: { status: 0, resok4: { object: new Uint8Array([1, 2, 3]) } },
      },
    ],
  };
  const rbytes = encodeWith(nfs4.encode_COMPOUND4res, res);
  assert.deepEqual(
    rbytes,
    hex(
      "00000000 00000002 61620000 00000002" + // OK, tag "ab" padded, 2 results
        "00000018 00000000" + // PUTROOTFH: OK
        "0000000a 00000000 00000003 01020300", // GETFH: OK, handle 01 02 03
    ),
  );
  assert.deepEqual(nfs4.decode_COMPOUND4res(new XdrReader(rbytes)), res);
});

Deno.test("nfs4: a LOCK denied result carries the conflicting lock", () => {
  const res: nfs4.LOCK4res = {
    status: nfs4.nfsstat4.NFS4ERR_DENIED,
    denied: {
      offset: 0n,
      length: 0xffffffffffffffffn,
      locktype: nfs4.nfs_lock_type4.WRITE_LT,
      owner: { clientid: 0x0102030405060708n, owner: new Uint8Array([9]) },
    },
  };
  const bytes = encodeWith(nfs4.encode_LOCK4res, res);
  assert.deepEqual(
    bytes,
    hex(
      "0000271a 0000000000000000 ffffffffffffffff 00000002" +
        "0102030405060708 00000001 09000000",
    ),
  );
  assert.deepEqual(nfs4.decode_LOCK4res(new XdrReader(bytes)), res);
  // Any other error has no body.
  const io = encodeWith(nfs4.encode_LOCK4res, {
    status: nfs4.nfsstat4.NFS4ERR_IO,
  });
  assert.deepEqual(io, hex("00000005"));
});

Deno.test("nfs4: READ and WRITE offsets are numbers, saturating above 2^53", () => {
  const stateid = { seqid: 0, other: new Uint8Array(12) };
  const bytes = encodeWith(nfs4.encode_READ4args, {
    stateid,
    offset: 2 ** 40,
    count: 4096,
  });
  assert.deepEqual(bytes.subarray(16), hex("0000010000000000 00001000"));
  const big = bytes.slice();
  big.set(hex("ffffffffffffffff"), 16);
  const a = nfs4.decode_READ4args(new XdrReader(big));
  assert.equal(a.offset, Number.MAX_SAFE_INTEGER, "2^64-1 saturates");
  // A lock range keeps all 64 bits.
  const lockt = nfs4.decode_LOCKT4args(
    new XdrReader(
      hex(
        "00000001 ffffffffffffffff fffffffffffffffe 0000000000000001 00000000",
      ),
    ),
  );
  assert.equal(lockt.offset, 2n ** 64n - 1n);
  assert.equal(lockt.length, 2n ** 64n - 2n);
});

Deno.test("nfs4: nfstime4 seconds beyond ±2^53 are refused", () => {
  const ok = hex("ffffffffffffffff 00000000"); // -1 s
  assert.deepEqual(nfs4.decode_nfstime4(new XdrReader(ok)), {
    seconds: -1,
    nseconds: 0,
  });
  const far = hex("7fffffffffffffff 00000000");
  assert.throws(
    () => nfs4.decode_nfstime4(new XdrReader(far)),
    /nfstime4\.seconds/,
  );
});

Deno.test("nfs4: a READDIR list of 100,000 entries decodes without recursion", () => {
  const n = 100_000;
  const w = new XdrWriter({ size: n * 28 + 64 });
  w.u32(0).fixedOpaque(new Uint8Array(8)); // NFS4_OK, cookieverf
  for (let i = 0; i < n; i++) {
    w.u32(1).u64big(BigInt(i + 3)).opaque(new Uint8Array(0)); // entry, cookie, name
    w.u32(0).u32(0); // fattr4: empty bitmap, no values
  }
  w.u32(0).u32(1); // end of list, eof
  const res = nfs4.decode_READDIR4res(new XdrReader(w.bytes()));
  assert.equal(res.status, nfs4.nfsstat4.NFS4_OK);
  if (res.status !== nfs4.nfsstat4.NFS4_OK) return;
  assert.equal(res.resok4.reply.entries.length, n);
  assert.equal(res.resok4.reply.entries[n - 1].cookie, BigInt(n + 2));
  assert.equal(res.resok4.reply.eof, true);
});

Deno.test("nfs4: lengths over their maximum are refused on both sides", () => {
  const fh = new Uint8Array(129);
  const w = new XdrWriter();
  w.u32(nfs4.nfs_opnum4.OP_PUTFH).opaque(fh);
  assert.throws(
    () => nfs4.decode_nfs_argop4(new XdrReader(w.bytes())),
    (e: unknown) =>
      e instanceof XdrError && e.field === "PUTFH4args.object" &&
      /129 exceeds maximum 128/.test(e.message),
  );
  assert.throws(
    () => encodeWith(nfs4.encode_PUTFH4args, { object: fh }),
    /exceeds maximum 128.*PUTFH4args\.object/,
  );
  assert.throws(
    () => encodeWith(nfs4.encode_verifier4, new Uint8Array(7)),
    /differs from the fixed size 8/,
  );
  const owner = new Uint8Array(1025);
  assert.throws(
    () => encodeWith(nfs4.encode_state_owner4, { clientid: 1n, owner }),
    /1025 exceeds maximum 1024/,
  );
  const cred = {
    stamp: 0,
    machinename: "é".repeat(128),
    uid: 0,
    gid: 0,
    gids: [],
  };
  assert.throws(
    () => encodeWith(nfs4.encode_authsys_parms, cred),
    /256 exceeds maximum 255/,
    "string maxima count bytes",
  );
  const gids = { ...cred, machinename: "h", gids: new Array(17).fill(0) };
  assert.throws(
    () => encodeWith(nfs4.encode_authsys_parms, gids),
    /Array length 17 exceeds maximum 16/,
  );
});

Deno.test("nfs4: 2^32-1 lengths and counts are refused before allocating", () => {
  const tag = hex("ffffffff");
  assert.throws(() => nfs4.decode_COMPOUND4args(new XdrReader(tag)), XdrError);
  const count = hex("00000000 00000001 ffffffff 00000018");
  assert.throws(
    () => nfs4.decode_COMPOUND4args(new XdrReader(count)),
    /4294967295 cannot fit in 4 bytes.*COMPOUND4args\.argarray/,
  );
  const bitmap = hex("ffffffff 00000000");
  assert.throws(() => nfs4.decode_bitmap4(new XdrReader(bitmap)), /cannot fit/);
  const write = new XdrWriter();
  write.u32(0).fixedOpaque(new Uint8Array(12)).u64(0).u32(2).u32(0xffffffff);
  assert.throws(
    () => nfs4.decode_WRITE4args(new XdrReader(write.bytes())),
    /WRITE4args\.data/,
  );
});

Deno.test("nfs4: every truncation of a COMPOUND is refused", () => {
  const s = new Samples(5);
  for (let i = 0; i < 20; i++) {
    const args = s.value("COMPOUND4args") as nfs4.COMPOUND4args;
    const bytes = encodeWith(nfs4.encode_COMPOUND4args, args);
    for (let n = 0; n < bytes.length; n++) {
      assert.throws(
        () => nfs4.decode_COMPOUND4args(new XdrReader(bytes.subarray(0, n))),
        XdrError,
        `${n} of ${bytes.length} bytes`,
      );
    }
  }
});

Deno.test("nfs4: enum values, union arms and bools outside their sets are refused", () => {
  assert.throws(
    () => nfs4.decode_nfsstat4(new XdrReader(hex("00000013"))),
    /Invalid enum value: 19/,
  );
  assert.throws(
    () => nfs4.decode_nfs_argop4(new XdrReader(hex("00000002"))),
    /Invalid enum value: 2.*nfs_argop4\.argop/,
  );
  assert.throws(
    () => nfs4.decode_nfs_cb_argop4(new XdrReader(hex("00000063"))),
    /Invalid union discriminant: 99.*nfs_cb_argop4\.argop/,
  );
  assert.throws(
    () => nfs4.decode_OPENATTR4args(new XdrReader(hex("00000002"))),
    /Invalid boolean/,
  );
  assert.throws(
    () =>
      encodeWith(
        nfs4.encode_nfs_argop4,
        { argop: 2 } as unknown as nfs4.nfs_argop4,
      ),
    /Invalid union discriminant: 2/,
  );
});

Deno.test("nfs4: opaque data decodes as a view of the input", () => {
  const data = new Uint8Array(64).fill(7);
  const bytes = encodeWith(nfs4.encode_WRITE4args, {
    stateid: { seqid: 1, other: new Uint8Array(12) },
    offset: 0,
    stable: nfs4.stable_how4.UNSTABLE4,
    data,
  });
  const a = nfs4.decode_WRITE4args(new XdrReader(bytes));
  assert.equal(
    a.data.buffer,
    bytes.buffer,
    "WRITE data is a subarray, not a copy",
  );
  assert.deepEqual(a.data, data);
});

Deno.test("nfs4: sizes bound what the server reserves", () => {
  assert.deepEqual(nfs4.sizeof_GETFH4res, { min: 4, max: 4 + 4 + 128 });
  assert.deepEqual(nfs4.sizeof_nfs_fh4, { min: 4, max: 132 });
  assert.deepEqual(nfs4.sizeof_SEQUENCE4args, { min: 32, max: 32 });
  assert.deepEqual(nfs4.sizeof_change_info4, { min: 20, max: 20 });
  assert.equal(nfs4.sizeof_COMPOUND4args.max, Infinity);
  assert.equal(
    nfs4.sizeof_entry4.min,
    8 + 4 + 8 + 4,
    "cookie, empty name, empty fattr4, link",
  );
});

Deno.test("nfs4: the compiler requires a success arm's body", () => {
  // @ts-expect-error NFS4_OK carries resok4: leaving it out does not compile
  const missing: nfs4.GETFH4res = { status: nfs4.nfsstat4.NFS4_OK };
  const extra: nfs4.GETFH4res = {
    status: nfs4.nfsstat4.NFS4ERR_STALE,
    // @ts-expect-error an error status carries no body
    resok4: { object: new Uint8Array(0) },
  };
  const fine: nfs4.GETFH4res = { status: nfs4.nfsstat4.NFS4ERR_STALE };
  // At run time the missing body is a TypeError in the encoder, not bad bytes.
  assert.throws(() => encodeWith(nfs4.encode_GETFH4res, missing), TypeError);
  assert.deepEqual(encodeWith(nfs4.encode_GETFH4res, fine), hex("00000046"));
  assert.ok(extra);
});
