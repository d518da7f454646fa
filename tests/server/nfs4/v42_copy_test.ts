// NFSv4.2 COPY, CLONE, OFFLOAD_STATUS and OFFLOAD_CANCEL over the wire, on
// MemFs and on LocalFs's native engine.
import assert from "node:assert/strict";
import {
  type COMPOUND4res,
  type COPY4resok,
  type nfs_argop4,
  stable_how4,
  type stateid4,
} from "../../../proto/nfs4/mod.ts";
import { MAX_COPY } from "../../../server/nfs4/ops/copy.ts";
import type { Credentials, FileId, FileSystem } from "../../../vfs/types.ts";
import { ROOT } from "../../../vfs/types.ts";
import { resultOf } from "./_harness.ts";
import {
  ANON,
  at,
  BOGUS,
  expectStatus,
  filled,
  makeFile,
  makeKinds,
  MIB,
  nfsstat4,
  OP,
  pattern,
  plain,
  test42,
  type V42,
} from "./_v42.ts";

type Range = { src: number; dst: number; count: number };

function copyOp(r: Range, sync = true): nfs_argop4 {
  return {
    argop: OP.OP_COPY,
    opcopy: {
      ca_src_stateid: ANON,
      ca_dst_stateid: ANON,
      ca_src_offset: r.src,
      ca_dst_offset: r.dst,
      ca_count: r.count,
      ca_consecutive: false,
      ca_synchronous: sync,
      ca_source_server: [],
    },
  };
}

function cloneOp(r: Range): nfs_argop4 {
  return {
    argop: OP.OP_CLONE,
    opclone: {
      cl_src_stateid: ANON,
      cl_dst_stateid: ANON,
      cl_src_offset: r.src,
      cl_dst_offset: r.dst,
      cl_count: r.count,
    },
  };
}

/** Source `from` saved, destination `to` current, then `op`. */
function between(from: string, to: string, op: nfs_argop4): nfs_argop4[] {
  return [...at(from), { argop: OP.OP_SAVEFH }, ...at(to), op];
}

function copied(res: COMPOUND4res): COPY4resok {
  const r = resultOf(res, OP.OP_COPY).opcopy;
  assert.ok(r.cr_status === nfsstat4.NFS4_OK, `COPY: ${r.cr_status}`);
  return r.cr_resok4;
}

async function contents(v: V42, name: string): Promise<Uint8Array> {
  const id = (await v.fs.lookup(ROOT, v.fs.root, name)).fileid;
  const size = (await v.fs.getattr(ROOT, id)).size;
  return (await v.fs.read(ROOT, id, 0, size)).data;
}

/** The write verifier a WRITE in this server instance answers. */
async function writeVerifier(v: V42): Promise<Uint8Array> {
  await makeFile(v.fs, "w");
  const res = await v.call([...at("w"), {
    argop: OP.OP_WRITE,
    opwrite: { stateid: ANON, offset: 0, stable: 0, data: filled(1, 1) },
  }]);
  const r = resultOf(res, OP.OP_WRITE).opwrite;
  assert.ok(r.status === nfsstat4.NFS4_OK);
  return r.resok4.writeverf;
}

test42(
  "COPY: a whole file (count 0) copies synchronously, UNSTABLE with the write verifier",
  async (v) => {
    const data = pattern(3 * MIB + 5);
    await makeFile(v.fs, "src", [[0, data]]);
    await makeFile(v.fs, "dst");
    const verf = await writeVerifier(v);
    const r = copied(
      await v.call(between("src", "dst", copyOp({ src: 0, dst: 0, count: 0 }))),
    );
    assert.deepEqual(r.cr_response.wr_callback_id, [], "no asynchronous copy");
    assert.equal(r.cr_response.wr_count, data.byteLength);
    assert.equal(r.cr_response.wr_committed, stable_how4.UNSTABLE4);
    assert.deepEqual(r.cr_response.wr_writeverf, verf);
    assert.deepEqual(r.cr_requirements, {
      cr_consecutive: true,
      cr_synchronous: true,
    });
    assert.deepEqual(await contents(v, "dst"), data);
  },
);

test42(
  "COPY: an asynchronous request is answered synchronously; COMMIT after it works",
  async (v) => {
    await makeFile(v.fs, "src", [[0, filled(5000, 4)]]);
    await makeFile(v.fs, "dst", [[0, filled(100, 9)]]);
    const res = await v.call([
      ...between(
        "src",
        "dst",
        copyOp({ src: 1000, dst: 50, count: 200 }, false),
      ),
      { argop: OP.OP_COMMIT, opcommit: { offset: 0, count: 0 } },
    ]);
    expectStatus(res, nfsstat4.NFS4_OK, "COPY, COMMIT");
    const r = copied(res);
    assert.equal(r.cr_response.wr_count, 200);
    assert.equal(r.cr_requirements.cr_synchronous, true);
    const commit = resultOf(res, OP.OP_COMMIT).opcommit;
    assert.ok(commit.status === nfsstat4.NFS4_OK);
    assert.deepEqual(commit.resok4.writeverf, r.cr_response.wr_writeverf);
    const out = await contents(v, "dst");
    assert.deepEqual(
      out,
      new Uint8Array([...filled(50, 9), ...filled(200, 4)]),
    );
  },
);

test42(
  "COPY: ranges of one file that do not overlap copy; overlapping ones are INVAL",
  async (v) => {
    await makeFile(v.fs, "f", [[0, filled(1000, 1)], [1000, filled(1000, 2)]]);
    const ok = copied(
      await v.call(
        between("f", "f", copyOp({ src: 0, dst: 1000, count: 1000 })),
      ),
    );
    assert.equal(ok.cr_response.wr_count, 1000);
    assert.deepEqual(await contents(v, "f"), filled(2000, 1));
    for (
      const r of [
        { src: 0, dst: 500, count: 1000 },
        { src: 500, dst: 0, count: 1000 },
        { src: 0, dst: 0, count: 10 },
        { src: 100, dst: 0, count: 0 }, // to the end: [100, 2000) and [0, 1900)
      ]
    ) {
      expectStatus(
        await v.call(between("f", "f", copyOp(r))),
        nfsstat4.NFS4ERR_INVAL,
        `overlapping ${JSON.stringify(r)}`,
      );
    }
  },
);

test42(
  "COPY: a source range past the end of file is INVAL; one ending at it copies",
  async (v) => {
    await makeFile(v.fs, "src", [[0, filled(1000, 1)]]);
    await makeFile(v.fs, "dst");
    for (
      const r of [
        { src: 1001, dst: 0, count: 0 },
        { src: 1001, dst: 0, count: 1 },
        { src: 900, dst: 0, count: 101 },
        { src: 0, dst: 0, count: 2 ** 40 },
      ]
    ) {
      expectStatus(
        await v.call(between("src", "dst", copyOp(r))),
        nfsstat4.NFS4ERR_INVAL,
        `past the end ${JSON.stringify(r)}`,
      );
    }
    const end = copied(
      await v.call(
        between("src", "dst", copyOp({ src: 900, dst: 0, count: 100 })),
      ),
    );
    assert.equal(end.cr_response.wr_count, 100);
    const none = copied(
      await v.call(
        between("src", "dst", copyOp({ src: 1000, dst: 0, count: 0 })),
      ),
    );
    assert.equal(none.cr_response.wr_count, 0, "nothing left to copy");
  },
);

test42(
  "COPY: one call copies at most MAX_COPY bytes; the rest in another",
  async (v) => {
    // Sparse: one byte past MAX_COPY, the rest a hole.
    await makeFile(v.fs, "src", [[MAX_COPY, filled(1, 7)]]);
    await makeFile(v.fs, "dst");
    const first = copied(
      await v.call(between("src", "dst", copyOp({ src: 0, dst: 0, count: 0 }))),
    );
    assert.equal(first.cr_response.wr_count, MAX_COPY);
    const rest = copied(
      await v.call(
        between(
          "src",
          "dst",
          copyOp({ src: MAX_COPY, dst: MAX_COPY, count: 0 }),
        ),
      ),
    );
    assert.equal(rest.cr_response.wr_count, 1);
    const id = (await v.fs.lookup(ROOT, v.fs.root, "dst")).fileid;
    assert.equal((await v.fs.getattr(ROOT, id)).size, MAX_COPY + 1);
    assert.deepEqual(
      (await v.fs.read(ROOT, id, MAX_COPY - 1, 2)).data,
      new Uint8Array([0, 7]),
    );
  },
);

test42(
  "COPY: no saved filehandle, a directory, a symlink, a made-up stateid",
  async (v) => {
    await makeKinds(v.fs);
    const r = { src: 0, dst: 0, count: 1 };
    expectStatus(
      await v.call([...at("f"), copyOp(r)]),
      nfsstat4.NFS4ERR_NOFILEHANDLE,
      "no saved filehandle",
    );
    expectStatus(
      await v.call(between("d", "f", copyOp(r))),
      nfsstat4.NFS4ERR_ISDIR,
      "directory source",
    );
    expectStatus(
      await v.call(between("f", "l", copyOp(r))),
      nfsstat4.NFS4ERR_SYMLINK,
      "symlink destination",
    );
    const op = copyOp(r) as Extract<nfs_argop4, { argop: 60 }>;
    op.opcopy.ca_dst_stateid = BOGUS;
    expectStatus(
      await v.call(between("f", "f", op)),
      nfsstat4.NFS4ERR_BAD_STATEID,
      "made-up destination stateid",
    );
  },
);

test42("COPY: an inter-server copy is NOTSUPP", async (v) => {
  await makeFile(v.fs, "f", [[0, filled(10, 1)]]);
  await makeFile(v.fs, "g");
  const op = copyOp({ src: 0, dst: 0, count: 0 }) as Extract<
    nfs_argop4,
    { argop: 60 }
  >;
  op.opcopy.ca_source_server = [{
    nl_type: 1,
    nl_name: new TextEncoder().encode("elsewhere"),
  }];
  expectStatus(
    await v.call(between("f", "g", op)),
    nfsstat4.NFS4ERR_NOTSUPP,
    "source server",
  );
});

test42(
  "COPY and CLONE: files of two exports are XDEV; a read-only destination ROFS",
  async (v) => {
    // Both exports serve the same file system.
    await makeFile(v.fs, "f", [[0, filled(10, 1)]]);
    const r = { src: 0, dst: 0, count: 1 };
    for (const op of [copyOp(r), cloneOp(r)]) {
      expectStatus(
        await v.call(between("rw/f", "ro/f", op)),
        nfsstat4.NFS4ERR_XDEV,
        `op ${op.argop} across exports`,
      );
      expectStatus(
        await v.call(between("ro/f", "ro/f", op)),
        nfsstat4.NFS4ERR_ROFS,
        `op ${op.argop} into a read-only export`,
      );
    }
  },
  { exports: [{ path: "/rw" }, { path: "/ro", readOnly: true }] },
);

test42("COPY: a file system without copy is NOTSUPP", async (v) => {
  await makeFile(v.fs, "f", [[0, filled(10, 1)]]);
  await makeFile(v.fs, "g");
  expectStatus(
    await v.call(between("f", "g", copyOp({ src: 0, dst: 0, count: 0 }))),
    nfsstat4.NFS4ERR_NOTSUPP,
    "no copy",
  );
}, { wrap: plain });

test42(
  "OFFLOAD_STATUS and OFFLOAD_CANCEL: no asynchronous copy exists, so BAD_STATEID",
  async (v) => {
    await makeFile(v.fs, "f", [[0, filled(10, 1)]]);
    const some: stateid4 = { seqid: 1, other: new Uint8Array(12).fill(3) };
    const ops: nfs_argop4[] = [
      { argop: OP.OP_OFFLOAD_STATUS, opoffload_status: { osa_stateid: some } },
      { argop: OP.OP_OFFLOAD_CANCEL, opoffload_cancel: { oca_stateid: some } },
    ];
    for (const op of ops) {
      expectStatus(
        await v.call([...at("f"), op]),
        nfsstat4.NFS4ERR_BAD_STATEID,
        `op ${op.argop}`,
      );
      expectStatus(
        await v.call([op]),
        nfsstat4.NFS4ERR_NOFILEHANDLE,
        `op ${op.argop} without a filehandle`,
      );
    }
  },
);

test42(
  "CLONE: MemFs has no reflinks, LocalFs on a file system without them neither: NOTSUPP",
  async (v) => {
    await makeFile(v.fs, "f", [[0, filled(8192, 1)]]);
    await makeFile(v.fs, "g");
    const res = await v.call(
      between("f", "g", cloneOp({ src: 0, dst: 0, count: 0 })),
    );
    if (v.backend === "memfs" || res.status !== nfsstat4.NFS4_OK) {
      // The test machine's disk (ext4, tmpfs) has no reflinks.
      expectStatus(res, nfsstat4.NFS4ERR_NOTSUPP, "CLONE");
      assert.deepEqual(await contents(v, "g"), new Uint8Array(0));
    } else {
      assert.deepEqual(await contents(v, "g"), filled(8192, 1));
    }
  },
);

/** A MemFs whose `clone` copies: a file system with reflinks, for CLONE. */
function cloning(fs: FileSystem): FileSystem {
  const clone = (
    cred: Credentials,
    src: FileId,
    dst: FileId,
    o: { srcOffset: number; dstOffset: number; length: number },
  ) => fs.copy!(cred, src, dst, o).then(() => {});
  return new Proxy(fs, {
    has: (t, p) => p === "clone" || Reflect.has(t, p),
    get: (t, p) => {
      if (p === "clone") return clone;
      const v = Reflect.get(t, p);
      return typeof v === "function" ? v.bind(t) : v;
    },
  });
}

test42(
  "CLONE: through the file system's clone; count 0 to the end; overlapping ranges INVAL",
  async (v) => {
    const data = pattern(10000);
    await makeFile(v.fs, "f", [[0, data]]);
    await makeFile(v.fs, "g");
    expectStatus(
      await v.call(between("f", "g", cloneOp({ src: 0, dst: 0, count: 0 }))),
      nfsstat4.NFS4_OK,
      "CLONE",
    );
    assert.deepEqual(await contents(v, "g"), data);
    expectStatus(
      await v.call(
        between("f", "f", cloneOp({ src: 0, dst: 4096, count: 8192 })),
      ),
      nfsstat4.NFS4ERR_INVAL,
      "overlapping",
    );
    expectStatus(
      await v.call(
        between("f", "g", cloneOp({ src: 0, dst: 0, count: 20000 })),
      ),
      nfsstat4.NFS4ERR_INVAL,
      "past the source's end",
    );
  },
  { wrap: cloning },
);
