import assert from "node:assert/strict";
import { XdrError, XdrReader, XdrWriter } from "../../rpc/xdr.ts";
import * as P from "../../proto/nfs3.ts";
import { fuzzMs, fuzzRecords } from "../fuzz/_fuzz.ts";

const attrs: P.Fattr3 = {
  type: 1,
  mode: 0o644,
  nlink: 1,
  uid: 1000,
  gid: 100,
  size: 2 ** 40 + 5,
  used: 4096,
  rdev: { major: 0, minor: 0 },
  fsid: 7,
  fileid: 2 ** 52 + 3,
  atime: { sec: 1, nsec: 2 },
  mtime: { sec: 3, nsec: 4 },
  ctime: { sec: 5, nsec: 999_999_999 },
};
const fh = new Uint8Array(20).map((_, i) => i);
const wcc: P.WccData = {
  before: { size: 1, mtime: { sec: 1, nsec: 1 }, ctime: { sec: 2, nsec: 2 } },
  after: attrs,
};
const verf = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);
const sattr: P.Sattr3 = {
  mode: 0o600,
  uid: 1,
  gid: 2,
  size: 3,
  atime: "server",
  mtime: { sec: 9, nsec: 10 },
};

// [name, encode, decode, value] for every argument and result type.
// deno-lint-ignore no-explicit-any
type Case = [
  string,
  (w: XdrWriter, v: any) => void,
  (r: XdrReader) => unknown,
  unknown,
];
const cases: Case[] = [
  ["fh args", P.encodeFhArgs, P.decodeFhArgs, { object: fh }],
  ["diropargs", P.encodeDirOpArgs, P.decodeDirOpArgs, { dir: fh, name: "név" }],
  ["setattr", P.encodeSetattrArgs, P.decodeSetattrArgs, {
    object: fh,
    attrs: sattr,
    guard: { sec: 1, nsec: 2 },
  }],
  ["setattr empty", P.encodeSetattrArgs, P.decodeSetattrArgs, {
    object: fh,
    attrs: {},
  }],
  ["access", P.encodeAccessArgs, P.decodeAccessArgs, {
    object: fh,
    access: 0x3f,
  }],
  ["read", P.encodeReadArgs, P.decodeReadArgs, {
    file: fh,
    offset: 2 ** 45,
    count: 1 << 20,
  }],
  ["commit", P.encodeCommitArgs, P.decodeCommitArgs, {
    file: fh,
    offset: 0,
    count: 0,
  }],
  ["write", P.encodeWriteArgs, P.decodeWriteArgs, {
    file: fh,
    offset: 5,
    count: 3,
    stable: 2,
    data: new Uint8Array([7, 8, 9]),
  }],
  ["create unchecked", P.encodeCreateArgs, P.decodeCreateArgs, {
    dir: fh,
    name: "a",
    mode: 0,
    attrs: sattr,
  }],
  ["create guarded", P.encodeCreateArgs, P.decodeCreateArgs, {
    dir: fh,
    name: "a",
    mode: 1,
    attrs: {},
  }],
  ["create exclusive", P.encodeCreateArgs, P.decodeCreateArgs, {
    dir: fh,
    name: "a",
    mode: 2,
    verf,
  }],
  ["mkdir", P.encodeMkdirArgs, P.decodeMkdirArgs, {
    dir: fh,
    name: "d",
    attrs: sattr,
  }],
  ["symlink", P.encodeSymlinkArgs, P.decodeSymlinkArgs, {
    dir: fh,
    name: "l",
    attrs: {},
    target: "../x",
  }],
  ["mknod chr", P.encodeMknodArgs, P.decodeMknodArgs, {
    dir: fh,
    name: "c",
    type: 4,
    attrs: {},
    spec: { major: 1, minor: 2 },
  }],
  ["mknod fifo", P.encodeMknodArgs, P.decodeMknodArgs, {
    dir: fh,
    name: "p",
    type: 7,
    attrs: { mode: 0o600 },
  }],
  ["mknod reg", P.encodeMknodArgs, P.decodeMknodArgs, {
    dir: fh,
    name: "r",
    type: 1,
  }],
  ["rename", P.encodeRenameArgs, P.decodeRenameArgs, {
    fromDir: fh,
    fromName: "a",
    toDir: fh,
    toName: "b",
  }],
  ["link", P.encodeLinkArgs, P.decodeLinkArgs, {
    file: fh,
    dir: fh,
    name: "h",
  }],
  ["readdir", P.encodeReaddirArgs, P.decodeReaddirArgs, {
    dir: fh,
    cookie: 2n ** 64n - 1n,
    cookieverf: verf,
    count: 4096,
  }],
  ["readdirplus", P.encodeReaddirplusArgs, P.decodeReaddirplusArgs, {
    dir: fh,
    cookie: 3n,
    cookieverf: verf,
    dircount: 1,
    maxcount: 2,
  }],
  ["getattr ok", P.encodeGetattrRes, P.decodeGetattrRes, { status: 0, attrs }],
  ["getattr fail", P.encodeGetattrRes, P.decodeGetattrRes, { status: 70 }],
  ["wcc ok", P.encodeWccRes, P.decodeWccRes, { status: 0, wcc }],
  ["wcc empty", P.encodeWccRes, P.decodeWccRes, {
    status: 13,
    wcc: { before: undefined, after: undefined },
  }],
  ["lookup ok", P.encodeLookupRes, P.decodeLookupRes, {
    status: 0,
    object: fh,
    objAttrs: attrs,
    dirAttrs: undefined,
  }],
  ["lookup fail", P.encodeLookupRes, P.decodeLookupRes, {
    status: 2,
    dirAttrs: attrs,
  }],
  ["access ok", P.encodeAccessRes, P.decodeAccessRes, {
    status: 0,
    attrs,
    access: 3,
  }],
  ["access fail", P.encodeAccessRes, P.decodeAccessRes, { status: 13, attrs }],
  ["readlink ok", P.encodeReadlinkRes, P.decodeReadlinkRes, {
    status: 0,
    attrs,
    target: "t",
  }],
  ["readlink fail", P.encodeReadlinkRes, P.decodeReadlinkRes, {
    status: 22,
    attrs: undefined,
  }],
  ["read ok", P.encodeReadRes, P.decodeReadRes, {
    status: 0,
    attrs,
    eof: true,
    data: new Uint8Array([1, 2, 3, 4, 5]),
  }],
  ["read fail", P.encodeReadRes, P.decodeReadRes, { status: 21, attrs }],
  ["write ok", P.encodeWriteRes, P.decodeWriteRes, {
    status: 0,
    wcc,
    count: 9,
    committed: 2,
    verf,
  }],
  ["write fail", P.encodeWriteRes, P.decodeWriteRes, { status: 30, wcc }],
  ["create ok", P.encodeCreateRes, P.decodeCreateRes, {
    status: 0,
    object: fh,
    attrs,
    dirWcc: wcc,
  }],
  ["create fail", P.encodeCreateRes, P.decodeCreateRes, {
    status: 17,
    dirWcc: wcc,
  }],
  ["rename", P.encodeRenameRes, P.decodeRenameRes, {
    status: 0,
    fromWcc: wcc,
    toWcc: wcc,
  }],
  ["link", P.encodeLinkRes, P.decodeLinkRes, {
    status: 18,
    attrs,
    dirWcc: wcc,
  }],
  ["readdir ok", P.encodeReaddirRes, P.decodeReaddirRes, {
    status: 0,
    dirAttrs: attrs,
    cookieverf: verf,
    entries: [{ fileid: 5, name: "x", cookie: 3n }, {
      fileid: 6,
      name: "yy",
      cookie: 4n,
    }],
    eof: true,
  }],
  ["readdir fail", P.encodeReaddirRes, P.decodeReaddirRes, {
    status: 10005,
    dirAttrs: attrs,
  }],
  ["readdirplus ok", P.encodeReaddirplusRes, P.decodeReaddirplusRes, {
    status: 0,
    dirAttrs: undefined,
    cookieverf: verf,
    entries: [{ fileid: 5, name: "x", cookie: 3n, attrs, handle: fh }, {
      fileid: 6,
      name: "..",
      cookie: 2n,
    }],
    eof: false,
  }],
  ["fsstat", P.encodeFsstatRes, P.decodeFsstatRes, {
    status: 0,
    attrs,
    tbytes: 1,
    fbytes: 2,
    abytes: 3,
    tfiles: 4,
    ffiles: 5,
    afiles: 6,
    invarsec: 7,
  }],
  ["fsinfo", P.encodeFsinfoRes, P.decodeFsinfoRes, {
    status: 0,
    attrs,
    rtmax: 1,
    rtpref: 2,
    rtmult: 3,
    wtmax: 4,
    wtpref: 5,
    wtmult: 6,
    dtpref: 7,
    maxfilesize: 2 ** 53 - 1,
    timeDelta: { sec: 0, nsec: 1 },
    properties: 0x1b,
  }],
  ["pathconf", P.encodePathconfRes, P.decodePathconfRes, {
    status: 0,
    attrs,
    linkmax: 1,
    nameMax: 255,
    noTrunc: true,
    chownRestricted: false,
    caseInsensitive: true,
    casePreserving: false,
  }],
  ["commit ok", P.encodeCommitRes, P.decodeCommitRes, { status: 0, wcc, verf }],
  ["commit fail", P.encodeCommitRes, P.decodeCommitRes, { status: 5, wcc }],
];

Deno.test("proto/nfs3: every argument and result round-trips", () => {
  for (const [name, enc, dec, value] of cases) {
    const w = new XdrWriter();
    enc(w, value);
    const r = new XdrReader(w.bytes());
    assert.deepEqual(dec(r), value, name);
    assert.equal(r.remaining, 0, `${name}: all bytes consumed`);
  }
});

Deno.test("proto/nfs3: every truncation of every encoding is an XdrError", () => {
  for (const [name, enc, dec, value] of cases) {
    const w = new XdrWriter();
    enc(w, value);
    const full = w.bytes().slice();
    for (let n = 0; n < full.length; n += 4) {
      assert.throws(
        () => dec(new XdrReader(full.subarray(0, n))),
        XdrError,
        `${name} cut at ${n}`,
      );
    }
  }
});

Deno.test("proto/nfs3: random bytes never escape as anything but XdrError", () => {
  const decoders = [...new Set(cases.map((c) => c[2]))];
  let seed = 12345;
  const rand = () => (seed = (seed * 1103515245 + 12345) >>> 0);
  const deadline = Date.now() + fuzzMs(2000);
  for (
    let i = 0, n = fuzzRecords(20_000);
    i < n && Date.now() < deadline;
    i++
  ) {
    const len = rand() % 200;
    const buf = new Uint8Array(len);
    for (let j = 0; j < len; j++) {
      // Mostly small numbers, so booleans and lengths are often plausible.
      buf[j] = rand() % 4 === 0
        ? rand() & 0xff
        : (j % 4 === 3 ? rand() % 3 : 0);
    }
    for (const dec of decoders) {
      try {
        dec(new XdrReader(buf));
      } catch (e) {
        assert.ok(e instanceof XdrError, `${dec.name}: ${e}`);
      }
    }
  }
});

Deno.test("proto/nfs3: sizes used for READDIR paging match the encodings", () => {
  for (const name of ["", "a", "abcd", "abcde", "ő"]) {
    const n = P.utf8Length(name);
    assert.equal(n, new TextEncoder().encode(name).length);
    const w = new XdrWriter();
    P.encodeReaddirRes(w, {
      status: 0,
      dirAttrs: attrs,
      cookieverf: verf,
      entries: [{ fileid: 1, name, cookie: 9n }],
      eof: true,
    });
    assert.equal(w.length, 4 + 4 + P.FATTR3_SIZE + 8 + P.entry3Size(n) + 8);
    const p = new XdrWriter();
    P.encodeReaddirplusRes(p, {
      status: 0,
      dirAttrs: attrs,
      cookieverf: verf,
      entries: [{ fileid: 1, name, cookie: 9n, attrs, handle: fh }],
      eof: true,
    });
    assert.equal(
      p.length,
      4 + 4 + P.FATTR3_SIZE + 8 + P.entryplus3Size(n, true, 20) + 8,
    );
  }
  const w = new XdrWriter();
  P.encodeFattr3(w, attrs);
  assert.equal(w.length, P.FATTR3_SIZE);
  assert.equal(P.nfs3StatusName(10005), "NFS3ERR_TOOSMALL");
  assert.equal(P.nfs3StatusName(0), "NFS3_OK");
});

Deno.test("proto/nfs3: bounds on handles, names and enums", () => {
  const long = new XdrWriter().opaque(new Uint8Array(65)).bytes();
  assert.throws(() => P.decodeFhArgs(new XdrReader(long)), XdrError);
  const badStable = new XdrWriter();
  P.encodeWriteArgs(badStable, {
    file: fh,
    offset: 0,
    count: 0,
    stable: 3,
    data: new Uint8Array(),
  });
  assert.throws(
    () => P.decodeWriteArgs(new XdrReader(badStable.bytes())),
    XdrError,
  );
  const badHow = new XdrWriter().opaque(fh).u32(0).u32(0).u32(0).u32(0).u32(1)
    .u32(7).u32(0).bytes();
  assert.throws(() => P.decodeSetattrArgs(new XdrReader(badHow)), /time_how/);
  assert.throws(
    () =>
      P.encodeReaddirArgs(new XdrWriter(), {
        dir: fh,
        cookie: 0n,
        cookieverf: new Uint8Array(4),
        count: 1,
      }),
    XdrError,
  );
});
