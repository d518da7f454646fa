// Several exports as one pseudo file system: fsids change at junctions,
// hidden exports stay hidden, read-only exports refuse changes.
import assert from "node:assert/strict";
import {
  decodeFattr4,
  type nfs_argop4,
  nfs_opnum4 as OP,
} from "../../../proto/nfs4/mod.ts";
import { MemFs } from "../../../vfs/memfs.ts";
import { ROOT } from "../../../vfs/types.ts";
import { nfsstat4, resultOf, start4 } from "./_harness.ts";
import { attrsIn, bits, dec, enc, getattr, walk } from "./_fsops.ts";

function listing(path: string): nfs_argop4[] {
  return [...walk(path), {
    argop: OP.OP_READDIR,
    opreaddir: {
      cookie: 0n,
      cookieverf: new Uint8Array(8),
      dircount: 0,
      maxcount: 8192,
      attr_request: bits("type", "fsid", "fileid", "mounted_on_fileid", "mode"),
    },
  }];
}

async function entriesOf(
  h: Awaited<ReturnType<typeof start4>>,
  path: string,
) {
  const res = await h.compound(listing(path));
  const r = resultOf(res, OP.OP_READDIR).opreaddir;
  assert.equal(r.status, nfsstat4.NFS4_OK, `READDIR ${path}`);
  if (r.status !== nfsstat4.NFS4_OK) return new Map();
  return new Map(
    r.resok4.reply.entries.map((e) => [
      dec.decode(e.name),
      decodeFattr4(e.attrs),
    ]),
  );
}

function three() {
  const a = new MemFs({ fsid: 7 });
  const b = new MemFs({ fsid: 8 });
  const data = new MemFs({ fsid: 9 });
  return {
    fs: { a, b, data },
    exports: [
      { path: "/srv/a", fs: a },
      { path: "/srv/b", fs: b },
      { path: "/data", fs: data },
    ],
  };
}

Deno.test("junction: pseudo directories list export roots with their own fsid", async () => {
  const { exports, fs } = three();
  const h = await start4({ exports });
  try {
    const root = await entriesOf(h, "/");
    assert.deepEqual([...root.keys()].sort(), ["data", "srv"]);
    assert.deepEqual(root.get("srv")!.fsid, { major: 0n, minor: 0n });
    assert.equal(root.get("srv")!.mode, 0o555);
    const data = root.get("data")!;
    assert.deepEqual(data.fsid, { major: 3n, minor: 9n }, "export 2, fsid 9");
    assert.equal(data.fileid, fs.data.root);
    assert.notEqual(
      data.mounted_on_fileid,
      data.fileid,
      "mounted_on_fileid is the pseudo entry's",
    );
    const srv = await entriesOf(h, "/srv");
    assert.deepEqual(srv.get("a")!.fsid, { major: 1n, minor: 7n });
    assert.deepEqual(srv.get("b")!.fsid, { major: 2n, minor: 8n });
  } finally {
    await h.close();
  }
});

Deno.test("junction: GETATTR agrees with READDIR at an export root", async () => {
  const { exports } = three();
  const h = await start4({ exports });
  try {
    const entry = (await entriesOf(h, "/srv")).get("a")!;
    const a = attrsIn(
      await h.compound([
        ...walk("/srv/a"),
        getattr("fsid", "fileid", "mounted_on_fileid"),
      ]),
    );
    assert.deepEqual(
      { fsid: a.fsid, fileid: a.fileid, on: a.mounted_on_fileid },
      {
        fsid: entry.fsid,
        fileid: entry.fileid,
        on: entry.mounted_on_fileid,
      },
    );
    const pseudo = attrsIn(
      await h.compound([...walk("/srv"), getattr("fsid", "fileid", "type")]),
    );
    assert.deepEqual(pseudo.fsid, { major: 0n, minor: 0n });
    assert.equal(pseudo.fileid, (await entriesOf(h, "/")).get("srv")!.fileid);
  } finally {
    await h.close();
  }
});

Deno.test("junction: a nested export shows its root in the parent's listing", async () => {
  const top = new MemFs({ fsid: 1 });
  const inner = new MemFs({ fsid: 2 });
  await top.mkdir(ROOT, top.root, "data");
  await top.mkdir(ROOT, top.root, "plain");
  const h = await start4({
    exports: [{ path: "/", fs: top }, { path: "/data", fs: inner }],
  });
  try {
    const root = await entriesOf(h, "/");
    assert.deepEqual(root.get("plain")!.fsid, { major: 1n, minor: 1n });
    const data = root.get("data")!;
    assert.deepEqual(data.fsid, { major: 2n, minor: 2n });
    assert.equal(data.fileid, inner.root);
    // Creating over the junction is refused; the covered directory stays.
    const res = await h.compound([
      { argop: OP.OP_PUTROOTFH },
      {
        argop: OP.OP_CREATE,
        opcreate: {
          objtype: { type: 2 },
          objname: enc.encode("data"),
          createattrs: { attrmask: [], attr_vals: new Uint8Array() },
        },
      },
    ]);
    assert.equal(res.status, nfsstat4.NFS4ERR_EXIST);
    const rm = await h.compound([
      { argop: OP.OP_PUTROOTFH },
      { argop: OP.OP_REMOVE, opremove: { target: enc.encode("data") } },
    ]);
    assert.equal(rm.status, nfsstat4.NFS4ERR_XDEV);
  } finally {
    await h.close();
  }
});

Deno.test("junction: exports the client may not use are hidden", async () => {
  const { exports } = three();
  exports[2] = {
    ...exports[2],
    clients: ["192.0.2.0/24"],
  } as typeof exports[2];
  const h = await start4({ exports });
  try {
    const root = await entriesOf(h, "/");
    assert.deepEqual([...root.keys()], ["srv"]);
    const res = await h.compound(walk("/data"));
    assert.equal(res.status, nfsstat4.NFS4ERR_NOENT);
  } finally {
    await h.close();
  }
});

Deno.test("junction: pseudo directories are read-only", async () => {
  const { exports } = three();
  const h = await start4({ exports });
  try {
    const mkdir = await h.compound([
      ...walk("/srv"),
      {
        argop: OP.OP_CREATE,
        opcreate: {
          objtype: { type: 2 },
          objname: enc.encode("new"),
          createattrs: { attrmask: [], attr_vals: new Uint8Array() },
        },
      },
    ]);
    assert.equal(mkdir.status, nfsstat4.NFS4ERR_ROFS);
    const rm = await h.compound([
      ...walk("/srv"),
      { argop: OP.OP_REMOVE, opremove: { target: enc.encode("a") } },
    ]);
    assert.equal(rm.status, nfsstat4.NFS4ERR_ROFS);
  } finally {
    await h.close();
  }
});

Deno.test("junction: a read-only export is listed and read but not changed", async () => {
  const { exports, fs } = three();
  exports[0] = { ...exports[0], readOnly: true } as typeof exports[0];
  await fs.a.create(ROOT, fs.a.root, "f");
  const h = await start4({ exports });
  try {
    const a = await entriesOf(h, "/srv/a");
    assert.deepEqual([...a.keys()], ["f"]);
    const rm = await h.compound([
      ...walk("/srv/a"),
      { argop: OP.OP_REMOVE, opremove: { target: enc.encode("f") } },
    ]);
    assert.equal(rm.status, nfsstat4.NFS4ERR_ROFS);
    const ok = await h.compound([
      ...walk("/srv/b"),
      {
        argop: OP.OP_CREATE,
        opcreate: {
          objtype: { type: 2 },
          objname: enc.encode("d"),
          createattrs: { attrmask: [], attr_vals: new Uint8Array() },
        },
      },
    ]);
    assert.equal(ok.status, nfsstat4.NFS4_OK, "its neighbour is writable");
  } finally {
    await h.close();
  }
});
