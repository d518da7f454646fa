// NFSv2's 32-bit attribute forms and READDIR cookie table, without sockets.
import assert from "node:assert/strict";
import { ftype, typeBits, typeOfBits } from "../../proto/nfs2/mod.ts";
import { Ftype3 } from "../../proto/nfs3.ts";
import {
  decodeDev,
  encodeDev,
  fattrOf,
  fold32,
  saturate32,
  setAttributesOf,
} from "../../server/nfs2/convert.ts";
import { CookieTable } from "../../server/nfs2/cookies.ts";
import { type Attributes, FileType } from "../../vfs/types.ts";
import { VfsError } from "../../vfs/errors.ts";

const T = { sec: 1_000, nsec: 0 };
function attrs(a: Partial<Attributes> = {}): Attributes {
  return {
    type: FileType.Regular,
    mode: 0o644,
    nlink: 1,
    uid: 0,
    gid: 0,
    size: 0,
    used: 0,
    rdev: { major: 0, minor: 0 },
    fsid: 1,
    fileid: 2,
    atime: T,
    mtime: T,
    ctime: T,
    change: 1,
    ...a,
  };
}
const UNSET = 0xffffffff;
const NO_TIME = { seconds: UNSET, useconds: UNSET };
const NOTHING = {
  mode: UNSET,
  uid: UNSET,
  gid: UNSET,
  size: UNSET,
  atime: NO_TIME,
  mtime: NO_TIME,
};

Deno.test("nfs2 convert: device numbers pack as Linux's new_encode_dev", () => {
  assert.equal(encodeDev({ major: 8, minor: 1 }), 0x801);
  assert.equal(encodeDev({ major: 0xfff, minor: 0xfffff }), 0xffffffff);
  assert.equal(encodeDev({ major: 1, minor: 0x100 }), 0x100100);
  for (
    const d of [{ major: 0, minor: 0 }, { major: 259, minor: 65536 }, {
      major: 4095,
      minor: 1048575,
    }]
  ) {
    assert.deepEqual(decodeDev(encodeDev(d)), d);
  }
});

Deno.test("nfs2 fields: type bits of each file type and back", () => {
  const bits: [number, number][] = [
    [Ftype3.REG, 0o100000],
    [Ftype3.DIR, 0o040000],
    [Ftype3.BLK, 0o060000],
    [Ftype3.CHR, 0o020000],
    [Ftype3.LNK, 0o120000],
    [Ftype3.SOCK, 0o140000],
    [Ftype3.FIFO, 0o010000],
  ];
  for (const [type, b] of bits) {
    assert.equal(typeBits(type), b);
    assert.equal(typeOfBits(b | 0o4755), type);
  }
  for (const type of [0, 8, -1, 1.5]) assert.equal(typeBits(type), 0);
  for (const mode of [0, 0o755, 0o030000, 0o170000]) {
    assert.equal(typeOfBits(mode), 0);
  }
});

Deno.test("nfs2 convert: 32-bit saturation and folding at the edges", () => {
  assert.deepEqual(
    [0, -1, 2 ** 32 - 1, 2 ** 32, 2 ** 53, 1.5].map(saturate32),
    [0, 0, 2 ** 32 - 1, 2 ** 32 - 1, 2 ** 32 - 1, 1],
  );
  assert.equal(fold32(7), 7);
  assert.equal(fold32(2 ** 32 - 1), 2 ** 32 - 1);
  assert.equal(fold32(2 ** 32), 1, "high word 1 XOR low word 0");
  assert.equal(fold32(2 ** 52 + 3), (2 ** 20) ^ 3);
});

Deno.test("nfs2 convert: fattr types, type bits, blocks and times", () => {
  const dir = fattrOf(
    attrs({ type: FileType.Directory, mode: 0o755, nlink: 0 }),
  );
  assert.deepEqual([dir.type, dir.mode, dir.nlink], [ftype.NFDIR, 0o40755, 1]);
  const fifo = fattrOf(attrs({ type: FileType.Fifo }));
  assert.deepEqual([fifo.type, fifo.rdev, fifo.mode], [
    ftype.NFCHR,
    0xffffffff,
    0o10644,
  ]);
  const blk = fattrOf(attrs({
    type: FileType.Block,
    rdev: { major: 8, minor: 16 },
  }));
  assert.deepEqual([blk.type, blk.rdev], [ftype.NFBLK, 0x810]);
  const reg = fattrOf(attrs({ used: 1025, rdev: { major: 1, minor: 1 } }));
  assert.deepEqual([reg.blocks, reg.blocksize, reg.rdev], [3, 512, 0]);
  const old = fattrOf(attrs({ mtime: { sec: -5, nsec: 10 } }));
  assert.deepEqual(old.mtime, { seconds: 0, useconds: 0 });
  const far = fattrOf(attrs({ mtime: { sec: 2 ** 33, nsec: 0 } }));
  assert.deepEqual(far.mtime, { seconds: 0xffffffff, useconds: 999_999 });
  assert.deepEqual(
    fattrOf(attrs({ atime: { sec: 1, nsec: 999_999_999 } })).atime,
    {
      seconds: 1,
      useconds: 999_999,
    },
  );
});

Deno.test("nfs2 convert: sattr sets what is not all ones", () => {
  assert.deepEqual(setAttributesOf(NOTHING), {});
  assert.deepEqual(
    setAttributesOf({
      mode: 0o104755,
      uid: 0,
      gid: 5,
      size: 0,
      atime: { seconds: 3, useconds: 4 },
      mtime: { seconds: 9, useconds: 1_000_000 },
    }),
    {
      mode: 0o4755,
      uid: 0,
      gid: 5,
      size: 0,
      atime: { sec: 3, nsec: 4000 },
      mtime: "server",
    },
  );
  assert.deepEqual(setAttributesOf({ ...NOTHING, size: 10 }, false), {});
  assert.deepEqual(
    setAttributesOf({ ...NOTHING, atime: { seconds: UNSET, useconds: 0 } }),
    {},
  );
  assert.throws(
    () =>
      setAttributesOf({
        ...NOTHING,
        mtime: { seconds: 1, useconds: 1_000_001 },
      }),
    (e) => e instanceof VfsError && e.code === "EINVAL",
  );
});

Deno.test("nfs2 cookies: small cookies pass through, 2^31 and up take a slot", () => {
  const t = new CookieTable(4);
  assert.equal(t.wire(0, 1, 3n), 3);
  assert.equal(t.wire(0, 1, 2n ** 31n - 1n), 2 ** 31 - 1);
  assert.equal(t.cookie(0, 1, 2 ** 31 - 1), 2n ** 31n - 1n);
  const w = t.wire(0, 1, 2n ** 31n);
  assert.ok(w >= 2 ** 31);
  assert.equal(t.cookie(0, 1, w), 2n ** 31n);
  assert.equal(t.cookie(1, 1, w), undefined, "another export");
  assert.equal(t.cookie(0, 2, w), undefined, "another directory");
});

Deno.test("nfs2 cookies: a reused slot's old cookie is unknown, never another's", () => {
  const t = new CookieTable(2);
  const first = [0, 1, 2, 3].map((i) => t.wire(0, 1, 2n ** 40n + BigInt(i)));
  assert.equal(new Set(first).size, 4);
  first.forEach((w, i) =>
    assert.equal(t.cookie(0, 1, w), 2n ** 40n + BigInt(i))
  );
  const second = t.wire(0, 1, 2n ** 41n); // slot 0 again, next generation
  assert.notEqual(second, first[0]);
  assert.equal(second & 3, first[0] & 3, "same slot");
  assert.equal(t.cookie(0, 1, first[0]), undefined);
  assert.equal(t.cookie(0, 1, second), 2n ** 41n);
  assert.equal(
    t.cookie(0, 1, first[1]),
    2n ** 40n + 1n,
    "slot 1 not reused yet",
  );
  assert.throws(() => new CookieTable(0), RangeError);
  assert.throws(() => new CookieTable(25), RangeError);
});
