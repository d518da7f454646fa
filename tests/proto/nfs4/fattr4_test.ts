import assert from "node:assert/strict";
import { XdrError, XdrReader, XdrWriter } from "../../../rpc/xdr.ts";
import {
  bitmapBits,
  bitmapHas,
  bitmapOf,
  decode_fattr4,
  decodeFattr4,
  encode_fattr4,
  encodeFattr4,
  FATTR4,
  FATTR4_KNOWN_V40,
  FATTR4_KNOWN_V41,
  FATTR4_KNOWN_V42,
  FATTR4_MODE,
  FATTR4_REQUIRED,
  FATTR4_SIZE,
  FATTR4_TYPE,
  FATTR4_WRITABLE,
  fattr4Entry,
  fattr4Mask,
  fattr4Of,
  type Fattr4Values,
  nfs_ftype4,
  UnknownAttrError,
} from "../../../proto/nfs4/mod.ts";
import { model, Samples } from "./_samples.ts";

function hex(s: string): Uint8Array {
  return Uint8Array.from(
    s.replace(/\s+/g, "").match(/../g)!,
    (b) => parseInt(b, 16),
  );
}

Deno.test("fattr4: the table covers 0..55 for 4.0, 0..76 for 4.1, 0..80 and 82 for 4.2", () => {
  assert.deepEqual(
    bitmapBits(FATTR4_KNOWN_V40),
    Array.from({ length: 56 }, (_, i) => i),
  );
  assert.deepEqual(
    bitmapBits(FATTR4_KNOWN_V41),
    Array.from({ length: 77 }, (_, i) => i),
  );
  assert.deepEqual(
    bitmapBits(FATTR4_KNOWN_V42),
    [...Array.from({ length: 81 }, (_, i) => i), 82],
  );
  assert.deepEqual(bitmapBits(FATTR4_REQUIRED), [
    0,
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    8,
    9,
    10,
    11,
    19,
    75,
  ]);
  for (const [name, d] of Object.entries(FATTR4)) {
    assert.equal(fattr4Entry(d.bit)?.name, name);
    const xdrConst = model.constants.get(`FATTR4_${name.toUpperCase()}`);
    assert.equal(
      xdrConst,
      BigInt(d.bit),
      `${name} has the number nfs4.x gives it`,
    );
    assert.ok(
      model.types.has(`fattr4_${name}`),
      `${name} has a generated type`,
    );
  }
  assert.ok(
    bitmapHas(FATTR4_WRITABLE, FATTR4_MODE) &&
      !bitmapHas(FATTR4_WRITABLE, FATTR4_TYPE),
  );
  assert.equal(FATTR4.time_modify_set.access, "W");
  assert.equal(fattr4Entry(81), undefined, "81 is not assigned");
  assert.equal(fattr4Entry(83), undefined);
});

Deno.test("fattr4: encodes only requested, supported, present attributes, in bit order", () => {
  const values: Fattr4Values = {
    mode: 0o755,
    size: 4096,
    type: nfs_ftype4.NF4DIR,
    owner: new TextEncoder().encode("0"),
  };
  const w = new XdrWriter();
  const mask = encodeFattr4(w, values, {
    request: bitmapOf([FATTR4_TYPE, FATTR4_SIZE, FATTR4_MODE, 36, 37, 200]),
    supported: bitmapOf([FATTR4_TYPE, FATTR4_SIZE, FATTR4_MODE, 37]),
  });
  assert.deepEqual(
    mask,
    [0x12, 0x2],
    "owner is unsupported, owner_group absent, 200 unknown",
  );
  assert.deepEqual(
    w.bytes(),
    hex(
      "00000002 00000012 00000002" + // bitmap: type, size, mode
        "00000010" + // 16 bytes of values
        "00000002 0000000000001000 000001ed", // NF4DIR, 4096, 0755
    ),
  );
  const f = decode_fattr4(new XdrReader(w.bytes()));
  assert.deepEqual(decodeFattr4(f), { type: 2, size: 4096, mode: 0o755 });
  assert.deepEqual(fattr4Of(values, { request: mask }), f);
});

Deno.test("fattr4: nothing requested gives an empty fattr4", () => {
  const w = new XdrWriter();
  assert.deepEqual(encodeFattr4(w, { size: 1 }, { request: [] }), []);
  assert.deepEqual(w.bytes(), hex("00000000 00000000"));
  assert.deepEqual(fattr4Mask({ size: 1 }, { request: [0, 0] }), []);
});

Deno.test("fattr4: every attribute round-trips, alone and all together", () => {
  const s = new Samples(7);
  for (let round = 0; round < 5; round++) {
    const all: Record<string, unknown> = {};
    for (const [name, d] of Object.entries(FATTR4)) {
      const v = s.value(`fattr4_${name}`);
      all[name] = v;
      const one = fattr4Of({ [name]: v } as Fattr4Values);
      assert.deepEqual(one.attrmask, bitmapOf([d.bit]), name);
      assert.deepEqual(decodeFattr4(one), { [name]: v }, name);
    }
    const f = fattr4Of(all as Fattr4Values);
    assert.deepEqual(f.attrmask, [...FATTR4_KNOWN_V42]);
    assert.deepEqual(decodeFattr4(f), all);
    const w = new XdrWriter();
    encode_fattr4(w, f);
    assert.deepEqual(decode_fattr4(new XdrReader(w.bytes())), f);
  }
});

Deno.test("fattr4: an unknown bit is refused and named", () => {
  const f = {
    attrmask: bitmapOf([FATTR4_TYPE, 90]),
    attr_vals: hex("00000001"),
  };
  assert.throws(
    () => decodeFattr4(f),
    (e: unknown) =>
      e instanceof UnknownAttrError && e instanceof XdrError && e.bit === 90,
  );
  // A 4.1 attribute under minor version 0.
  const suppattr = fattr4Of({ suppattr_exclcreat: [1] });
  assert.deepEqual(decodeFattr4(suppattr), { suppattr_exclcreat: [1] });
  assert.throws(
    () => decodeFattr4(suppattr, { minorversion: 0 }),
    (e: unknown) => e instanceof UnknownAttrError && e.bit === 75,
  );
  // A 4.2 attribute under minor version 1.
  const xattr = fattr4Of({ xattr_support: true });
  assert.deepEqual(decodeFattr4(xattr), { xattr_support: true });
  assert.throws(
    () => decodeFattr4(xattr, { minorversion: 1 }),
    (e: unknown) => e instanceof UnknownAttrError && e.bit === 82,
  );
});

Deno.test("fattr4: values missing, malformed or followed by extra bytes are refused", () => {
  const mask = bitmapOf([FATTR4_SIZE]);
  assert.throws(
    () => decodeFattr4({ attrmask: mask, attr_vals: hex("00000001") }),
    /ends early/,
  );
  assert.throws(
    () =>
      decodeFattr4({
        attrmask: mask,
        attr_vals: hex("0000000000000001 00000000"),
      }),
    /Trailing data: 4 bytes.*fattr4\.attr_vals/,
  );
  const type = bitmapOf([FATTR4_TYPE]);
  assert.throws(
    () => decodeFattr4({ attrmask: type, attr_vals: hex("0000000a") }),
    /Invalid enum value: 10/,
  );
});
