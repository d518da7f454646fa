// Every supported attribute at once: the mask answered is exactly the one
// asked, and the values decode and agree with the VFS (GETATTR's and
// READDIR's encoder writes them without a table of values in between).
import assert from "node:assert/strict";
import {
  bitmapBits,
  bitmapIntersect,
  FATTR4_READABLE,
  type nfs_argop4,
  nfs_opnum4 as OP,
} from "../../../proto/nfs4/mod.ts";
import { MemFs } from "../../../vfs/memfs.ts";
import { FileType, ROOT } from "../../../vfs/types.ts";
import { start4 } from "./_harness.ts";
import { attrsIn, dec, getattr, start41, walk } from "./_fsops.ts";

const everything = (supported: number[]): nfs_argop4 => ({
  argop: OP.OP_GETATTR,
  opgetattr: { attr_request: bitmapIntersect(supported, FATTR4_READABLE) },
});

for (const minor of [0, 1] as const) {
  Deno.test(`GETATTR ${minor === 0 ? "4.0" : "4.1"}: every supported attribute of a file, a directory and the root`, async () => {
    const h = minor === 0 ? await start4() : await start41();
    try {
      const d = await h.fs.mkdir(ROOT, h.fs.root, "d", { mode: 0o750 });
      const f = await h.fs.create(ROOT, d.fileid, "f", {
        attrs: { mode: 0o640, uid: 7, gid: 8 },
      });
      await h.fs.write(ROOT, f.fileid, 0, new Uint8Array(3000));
      await h.fs.link(ROOT, f.fileid, d.fileid, "g");
      const sup = attrsIn(
        await h.compound([
          { argop: OP.OP_PUTROOTFH },
          getattr("supported_attrs"),
        ]),
      ).supported_attrs!;
      const asked = bitmapIntersect(sup, FATTR4_READABLE);
      for (
        const [path, id] of [["d/f", f.fileid], ["d", d.fileid], [
          "",
          h.fs.root,
        ]] as const
      ) {
        const res = await h.compound([...walk(path), everything(sup)]);
        const a = attrsIn(res);
        assert.deepEqual(
          a.mask,
          asked,
          `every readable supported bit: ${path}`,
        );
        const v = await h.fs.getattr(ROOT, id);
        assert.equal(a.type, v.type);
        assert.equal(a.size, v.size);
        assert.equal(a.mode, v.mode & 0o7777);
        assert.equal(a.numlinks, v.nlink);
        assert.equal(a.fileid, id);
        assert.equal(a.space_used, v.used);
        assert.equal(a.change, BigInt(v.change));
        assert.deepEqual(a.fsid, { major: 1n, minor: BigInt(v.fsid) });
        assert.equal(dec.decode(a.owner), String(v.uid));
        assert.equal(dec.decode(a.owner_group), String(v.gid));
        assert.deepEqual(a.time_modify, {
          seconds: v.mtime.sec,
          nseconds: v.mtime.nsec,
        });
        assert.deepEqual(bitmapBits(a.supported_attrs!), bitmapBits(sup));
        assert.equal(a.suppattr_exclcreat !== undefined, minor === 1);
        assert.equal(a.lease_time, h.nfs.leaseTime);
        assert.equal(a.maxread, 1 << 20);
        if (v.type === FileType.Regular) assert.equal(a.numlinks, 2);
      }
    } finally {
      await h.close();
    }
  });
}

Deno.test("GETATTR after LOOKUP (and GETFH) answers from LOOKUP's attributes; after anything else it asks again", async () => {
  const mem = new MemFs();
  let getattrs = 0;
  const fs = new Proxy(mem, {
    get(t, k) {
      const v = Reflect.get(t, k, t);
      if (k === "getattr") {
        return (...a: Parameters<MemFs["getattr"]>) => {
          getattrs++;
          return t.getattr(...a);
        };
      }
      return typeof v === "function" ? v.bind(t) : v;
    },
  });
  const h = await start4({ fs });
  try {
    await mem.create(ROOT, mem.root, "f");
    const size = getattr("size", "type");
    getattrs = 0;
    const a = attrsIn(
      await h.compound([...walk("f"), { argop: OP.OP_GETFH }, size]),
    );
    assert.equal(a.size, 0);
    assert.equal(getattrs, 0, "LOOKUP's attributes were used");
    const anon = { seqid: 0, other: new Uint8Array(12) };
    const res = await h.compound([...walk("f"), {
      argop: OP.OP_WRITE,
      opwrite: { stateid: anon, offset: 0, stable: 2, data: new Uint8Array(5) },
    }, size]);
    assert.equal(attrsIn(res).size, 5, "WRITE in between: fresh attributes");
    assert.ok(getattrs > 0);
  } finally {
    await h.close();
  }
});
