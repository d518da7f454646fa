// The attributes NFSv4.2 adds, over the wire, on MemFs and on LocalFs's
// native engine: which are supported in which minor version, and their
// values.
import assert from "node:assert/strict";
import {
  bitmapBits,
  change_attr_type4,
  FATTR4,
} from "../../../proto/nfs4/mod.ts";
import { ROOT } from "../../../vfs/types.ts";
import { session41 } from "./_clients.ts";
import { attrsIn, getattr } from "./_fsops.ts";
import { at, filled, makeFile, MIB, OP, test42 } from "./_v42.ts";

const NEW = [
  FATTR4.clone_blksize.bit,
  FATTR4.space_freed.bit,
  FATTR4.change_attr_type.bit,
  FATTR4.xattr_support.bit,
];

test42(
  "supported_attrs: 4.2 adds clone_blksize, space_freed, change_attr_type, xattr_support; not sec_label",
  async (v) => {
    await makeFile(v.fs, "f");
    const a = attrsIn(await v.call([...at("f"), getattr("supported_attrs")]));
    const bits = bitmapBits(a.supported_attrs!);
    for (const bit of NEW) assert.ok(bits.includes(bit), `bit ${bit}`);
    assert.ok(!bits.includes(FATTR4.sec_label.bit));
    const s41 = await session41(v.h, "old");
    const old = attrsIn(
      await s41.call([...at("f"), getattr("supported_attrs", "size")]),
    );
    const oldBits = bitmapBits(old.supported_attrs!);
    for (const bit of NEW) {
      assert.ok(!oldBits.includes(bit), `not in 4.1: ${bit}`);
    }
  },
);

test42("4.2 attributes: values for a file", async (v) => {
  await makeFile(v.fs, "f", [[0, filled(MIB, 1)]]);
  const a = attrsIn(
    await v.call([
      ...at("f"),
      getattr(
        "space_used",
        "clone_blksize",
        "space_freed",
        "change_attr_type",
        "xattr_support",
      ),
    ]),
  );
  assert.ok(a.space_used! >= MIB);
  assert.equal(a.space_freed, a.space_used, "one link: removing frees it all");
  assert.equal(a.clone_blksize, 0);
  assert.equal(
    a.change_attr_type,
    change_attr_type4.NFS4_CHANGE_TYPE_IS_MONOTONIC_INCR,
  );
  assert.equal(a.xattr_support, true);
});

test42("space_freed: 0 while another link keeps the file", async (v) => {
  const id = await makeFile(v.fs, "f", [[0, filled(MIB, 1)]]);
  await v.fs.link(ROOT, id, v.fs.root, "g");
  const a = attrsIn(
    await v.call([...at("f"), getattr("space_used", "space_freed")]),
  );
  assert.ok(a.space_used! >= MIB);
  assert.equal(a.space_freed, 0);
});

test42("4.2 attributes: a pseudo directory's", async (v) => {
  const a = attrsIn(
    await v.call([
      { argop: OP.OP_PUTROOTFH },
      getattr("change_attr_type", "space_freed"),
    ]),
  );
  assert.equal(
    a.change_attr_type,
    change_attr_type4.NFS4_CHANGE_TYPE_IS_TIME_METADATA,
  );
  assert.equal(a.space_freed, 0);
}, { exports: [{ path: "/x" }] });
