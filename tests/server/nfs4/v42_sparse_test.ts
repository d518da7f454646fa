// NFSv4.2 SEEK, ALLOCATE, DEALLOCATE and IO_ADVISE over the wire, on
// MemFs and on LocalFs's native engine.
import assert from "node:assert/strict";
import {
  data_content4,
  type nfs_argop4,
  type stateid4,
} from "../../../proto/nfs4/mod.ts";
import { FileType, ROOT } from "../../../vfs/types.ts";
import { openArgs, session41 } from "./_clients.ts";
import { resultOf } from "./_harness.ts";
import { attrsIn, getattr } from "./_fsops.ts";
import {
  ANON,
  at,
  BOGUS,
  expectNotRegular,
  expectStatus,
  filled,
  makeFile,
  makeKinds,
  MIB,
  nfsstat4,
  OP,
  plain,
  sparseParts,
  test42,
  type V42,
} from "./_v42.ts";

const DATA = data_content4.NFS4_CONTENT_DATA;
const HOLE = data_content4.NFS4_CONTENT_HOLE;

function seekOp(offset: number, what: data_content4, stateid = ANON) {
  return {
    argop: OP.OP_SEEK,
    opseek: { sa_stateid: stateid, sa_offset: offset, sa_what: what },
  } as const;
}

function allocateOp(offset: number, length: number, stateid = ANON) {
  return {
    argop: OP.OP_ALLOCATE,
    opallocate: { aa_stateid: stateid, aa_offset: offset, aa_length: length },
  } as const;
}

function deallocateOp(offset: number, length: number, stateid = ANON) {
  return {
    argop: OP.OP_DEALLOCATE,
    opdeallocate: {
      da_stateid: stateid,
      da_offset: offset,
      da_length: length,
    },
  } as const;
}

/** SEEK's answer on `path`, asserting success. */
async function seek(
  v: V42,
  path: string,
  offset: number,
  what: data_content4,
): Promise<{ sr_eof: boolean; sr_offset: number }> {
  const res = await v.call([...at(path), seekOp(offset, what)]);
  const r = resultOf(res, OP.OP_SEEK).opseek;
  assert.ok(r.sa_status === nfsstat4.NFS4_OK, `SEEK: status ${r.sa_status}`);
  return r.resok4;
}

/** The size and space_used of `path`. */
async function sizes(v: V42, path: string) {
  const a = attrsIn(await v.call([...at(path), getattr("size", "space_used")]));
  return { size: a.size!, used: a.space_used! };
}

test42(
  "SEEK: data and holes of a sparse file, the end of file a hole with eof",
  async (v) => {
    await makeFile(v.fs, "f", sparseParts());
    assert.deepEqual(await seek(v, "f", 0, DATA), {
      sr_eof: false,
      sr_offset: 0,
    });
    assert.deepEqual(await seek(v, "f", 0, HOLE), {
      sr_eof: false,
      sr_offset: MIB,
    });
    assert.deepEqual(await seek(v, "f", MIB + 5, DATA), {
      sr_eof: false,
      sr_offset: 3 * MIB,
    });
    assert.deepEqual(await seek(v, "f", MIB + 5, HOLE), {
      sr_eof: false,
      sr_offset: MIB + 5,
    }, "inside a hole, the hole is where SEEK starts");
    assert.deepEqual(await seek(v, "f", 3 * MIB, HOLE), {
      sr_eof: true,
      sr_offset: 4 * MIB,
    }, "the hole at the end of file");
  },
);

test42(
  "SEEK: no data after the offset is eof at the file's size",
  async (v) => {
    await makeFile(v.fs, "f", [[0, filled(MIB, 1)]], 3 * MIB);
    assert.deepEqual(await seek(v, "f", 2 * MIB, DATA), {
      sr_eof: true,
      sr_offset: 3 * MIB,
    });
  },
);

test42("SEEK: an offset at or past the end of file is NXIO", async (v) => {
  await makeFile(v.fs, "f", [[0, filled(100, 1)]]);
  for (const offset of [100, 101, 2 ** 40]) {
    for (const what of [DATA, HOLE]) {
      const res = await v.call([...at("f"), seekOp(offset, what)]);
      expectStatus(res, nfsstat4.NFS4ERR_NXIO, `SEEK at ${offset}`);
    }
  }
  const empty = await makeFile(v.fs, "empty");
  assert.ok(empty > 0);
  const res = await v.call([...at("empty"), seekOp(0, DATA)]);
  expectStatus(res, nfsstat4.NFS4ERR_NXIO, "SEEK in an empty file");
});

test42(
  "SEEK: a directory is ISDIR, a symlink SYMLINK, no filehandle NOFILEHANDLE",
  async (v) => {
    await makeKinds(v.fs);
    await expectNotRegular(v, seekOp(0, DATA));
    expectStatus(
      await v.call([seekOp(0, DATA)]),
      nfsstat4.NFS4ERR_NOFILEHANDLE,
      "no filehandle",
    );
    expectStatus(
      await v.call([{ argop: OP.OP_PUTROOTFH }, seekOp(0, DATA)]),
      nfsstat4.NFS4ERR_ISDIR,
      "the export's root",
    );
  },
);

test42("SEEK: without the file system's seek every byte is data", async (v) => {
  await makeFile(v.fs, "f", sparseParts());
  assert.deepEqual(await seek(v, "f", MIB + 5, DATA), {
    sr_eof: false,
    sr_offset: MIB + 5,
  });
  assert.deepEqual(await seek(v, "f", 0, HOLE), {
    sr_eof: true,
    sr_offset: 4 * MIB,
  });
}, { wrap: plain });

test42(
  "ALLOCATE: grows the file to cover the range and counts the space",
  async (v) => {
    await makeFile(v.fs, "f", [[0, filled(10, 1)]]);
    const before = await sizes(v, "f");
    expectStatus(
      await v.call([...at("f"), allocateOp(MIB, MIB)]),
      nfsstat4.NFS4_OK,
      "ALLOCATE",
    );
    const after = await sizes(v, "f");
    assert.equal(after.size, 2 * MIB, "the size covers the range");
    assert.ok(
      after.used >= before.used + MIB,
      `space_used grew by the range: ${before.used} to ${after.used}`,
    );
    // Allocated space reads as zeros, and the old data stays.
    const read = await v.call([...at("f"), {
      argop: OP.OP_READ,
      opread: { stateid: ANON, offset: 0, count: 16 },
    }]);
    const r = resultOf(read, OP.OP_READ).opread;
    assert.ok(r.status === nfsstat4.NFS4_OK);
    assert.deepEqual(
      r.resok4.data,
      new Uint8Array([...filled(10, 1), 0, 0, 0, 0, 0, 0]),
    );
  },
);

test42(
  "ALLOCATE: a length of 0 is INVAL, a range past the largest file FBIG",
  async (v) => {
    await makeFile(v.fs, "f");
    expectStatus(
      await v.call([...at("f"), allocateOp(0, 0)]),
      nfsstat4.NFS4ERR_INVAL,
      "length 0",
    );
    const max = v.fs.limits.maxFileSize;
    expectStatus(
      await v.call([...at("f"), allocateOp(max, 4096)]),
      nfsstat4.NFS4ERR_FBIG,
      "past the largest file",
    );
  },
);

test42(
  "DEALLOCATE: punches a hole that reads as zeros; size stays, space_used drops, SEEK sees it",
  async (v) => {
    await makeFile(v.fs, "f", [[0, filled(4 * MIB, 7)]]);
    const before = await sizes(v, "f");
    expectStatus(
      await v.call([...at("f"), deallocateOp(MIB, 2 * MIB)]),
      nfsstat4.NFS4_OK,
      "DEALLOCATE",
    );
    const after = await sizes(v, "f");
    assert.equal(after.size, 4 * MIB);
    assert.ok(
      after.used <= before.used - 2 * MIB,
      `space_used reflects the hole: ${before.used} to ${after.used}`,
    );
    const data = (await v.fs.read(ROOT, await idOf(v, "f"), 0, 4 * MIB)).data;
    assert.deepEqual(data.subarray(0, MIB), filled(MIB, 7));
    assert.deepEqual(data.subarray(MIB, 3 * MIB), filled(2 * MIB, 0));
    assert.deepEqual(data.subarray(3 * MIB), filled(MIB, 7));
    assert.deepEqual(await seek(v, "f", 0, HOLE), {
      sr_eof: false,
      sr_offset: MIB,
    });
  },
);

test42(
  "DEALLOCATE: a range past the end of file succeeds and leaves the size",
  async (v) => {
    await makeFile(v.fs, "f", [[0, filled(2 * MIB, 7)]]);
    for (const [offset, length] of [[MIB, 8 * MIB], [16 * MIB, MIB]]) {
      expectStatus(
        await v.call([...at("f"), deallocateOp(offset, length)]),
        nfsstat4.NFS4_OK,
        `DEALLOCATE ${offset}+${length}`,
      );
      assert.equal((await sizes(v, "f")).size, 2 * MIB);
    }
    const data = (await v.fs.read(ROOT, await idOf(v, "f"), 0, 2 * MIB)).data;
    assert.deepEqual(data.subarray(0, MIB), filled(MIB, 7));
    assert.deepEqual(data.subarray(MIB), filled(MIB, 0));
  },
);

test42(
  "ALLOCATE and DEALLOCATE: not a regular file, read-only export, wrong stateids",
  async (v) => {
    await makeKinds(v.fs);
    for (const op of [allocateOp(0, 10), deallocateOp(0, 10)]) {
      await expectNotRegular(v, op, `${op.argop} on a `);
      expectStatus(
        await v.call([{ argop: OP.OP_PUTROOTFH }, op]),
        nfsstat4.NFS4ERR_ISDIR,
        `${op.argop} on the root`,
      );
    }
    // A read-only open's stateid cannot write; a made-up one is BAD_STATEID.
    const opened = await v.call([
      { argop: OP.OP_PUTROOTFH },
      openArgs("f", { clientid: v.s.clientid, access: 1 }),
    ]);
    expectStatus(opened, nfsstat4.NFS4_OK, "OPEN");
    const o = resultOf(opened, OP.OP_OPEN).opopen;
    assert.ok(o.status === nfsstat4.NFS4_OK);
    const readOnly: stateid4 = o.resok4.stateid;
    for (const make of [allocateOp, deallocateOp]) {
      expectStatus(
        await v.call([...at("f"), make(0, 10, readOnly)]),
        nfsstat4.NFS4ERR_OPENMODE,
        "a read-only open",
      );
      expectStatus(
        await v.call([...at("f"), make(0, 10, BOGUS)]),
        nfsstat4.NFS4ERR_BAD_STATEID,
        "a made-up stateid",
      );
    }
    // SEEK reads: the read-only open's stateid is fine.
    const s = await v.call([...at("f"), seekOp(0, DATA, readOnly)]);
    expectStatus(s, nfsstat4.NFS4_OK, "SEEK with a read open");
  },
);

test42("ALLOCATE and DEALLOCATE: a read-only export is ROFS", async (v) => {
  await makeFile(v.fs, "f", [[0, filled(10, 1)]]);
  for (const op of [allocateOp(0, 10), deallocateOp(0, 10)]) {
    expectStatus(
      await v.call([...at("f"), op]),
      nfsstat4.NFS4ERR_ROFS,
      `${op.argop}`,
    );
  }
}, { exports: [{ readOnly: true }] });

test42(
  "ALLOCATE and DEALLOCATE: a file system without them is NOTSUPP",
  async (v) => {
    await makeFile(v.fs, "f", [[0, filled(10, 1)]]);
    for (const op of [allocateOp(0, 10), deallocateOp(0, 10)]) {
      expectStatus(
        await v.call([...at("f"), op]),
        nfsstat4.NFS4ERR_NOTSUPP,
        `${op.argop}`,
      );
    }
  },
  { wrap: plain },
);

test42(
  "IO_ADVISE: hints are accepted and none acted on; a directory is ISDIR",
  async (v) => {
    await makeKinds(v.fs);
    const advise = (): nfs_argop4 => ({
      argop: OP.OP_IO_ADVISE,
      opio_advise: {
        iaa_stateid: ANON,
        iaa_offset: 0,
        iaa_count: 0,
        iaa_hints: [0b10010], // SEQUENCE and WILLNEED
      },
    });
    const res = await v.call([...at("f"), advise()]);
    const r = resultOf(res, OP.OP_IO_ADVISE).opio_advise;
    assert.ok(r.ior_status === nfsstat4.NFS4_OK);
    assert.deepEqual(r.resok4.ior_hints, []);
    expectStatus(
      await v.call([...at("d"), advise()]),
      nfsstat4.NFS4ERR_ISDIR,
      "directory",
    );
  },
);

test42(
  "WRITE_SAME, COPY_NOTIFY, LAYOUTERROR and LAYOUTSTATS are NOTSUPP",
  async (v) => {
    await makeFile(v.fs, "f", [[0, filled(10, 1)]]);
    const netloc = { nl_type: 1, nl_name: new Uint8Array(1) } as const;
    const io = { ii_count: 0n, ii_bytes: 0n };
    const ops: nfs_argop4[] = [
      {
        argop: OP.OP_WRITE_SAME,
        opwrite_same: {
          wsa_stateid: ANON,
          wsa_stable: 2,
          wsa_adb: {
            adb_offset: 0n,
            adb_block_size: 512n,
            adb_block_count: 1n,
            adb_reloff_blocknum: 0n,
            adb_block_num: 0,
            adb_reloff_pattern: 0n,
            adb_pattern: new Uint8Array(4),
          },
        },
      },
      {
        argop: OP.OP_COPY_NOTIFY,
        opcopy_notify: {
          cna_src_stateid: ANON,
          cna_destination_server: netloc,
        },
      },
      {
        argop: OP.OP_LAYOUTERROR,
        oplayouterror: {
          lea_offset: 0n,
          lea_length: 0n,
          lea_stateid: ANON,
          lea_errors: [],
        },
      },
      {
        argop: OP.OP_LAYOUTSTATS,
        oplayoutstats: {
          lsa_offset: 0n,
          lsa_length: 0n,
          lsa_stateid: ANON,
          lsa_read: io,
          lsa_write: io,
          lsa_deviceid: new Uint8Array(16),
          lsa_layoutupdate: { lou_type: 1, lou_body: new Uint8Array() },
        },
      },
    ];
    for (const op of ops) {
      const res = await v.call([...at("f"), op]);
      expectStatus(res, nfsstat4.NFS4ERR_NOTSUPP, `op ${op.argop}`);
      assert.equal(res.resarray.at(-1)!.resop, op.argop);
    }
  },
);

test42("4.2 operations are OP_ILLEGAL in 4.1 and 4.0", async (v) => {
  await makeFile(v.fs, "f", [[0, filled(10, 1)]]);
  for (const minor of [0, 1]) {
    const res = await v.h.compound([...at("f"), seekOp(0, DATA)], { minor });
    // 4.1 refuses PUTROOTFH first (no SEQUENCE); only 4.0 reaches SEEK.
    if (minor === 1) {
      expectStatus(res, nfsstat4.NFS4ERR_OP_NOT_IN_SESSION, "4.1");
      continue;
    }
    expectStatus(res, nfsstat4.NFS4ERR_OP_ILLEGAL, "4.0");
    assert.equal(res.resarray.at(-1)!.resop, OP.OP_ILLEGAL);
  }
  const s41 = await session41(v.h, "old", { minor: 1 });
  const res = await s41.call([...at("f"), seekOp(0, DATA)]);
  expectStatus(res, nfsstat4.NFS4ERR_OP_ILLEGAL, "4.1 session");
  assert.equal(res.resarray.at(-1)!.resop, OP.OP_ILLEGAL);
});

/** The FileId of `name` in the root. */
async function idOf(v: V42, name: string): Promise<number> {
  const a = await v.fs.lookup(ROOT, v.fs.root, name);
  assert.equal(a.type, FileType.Regular);
  return a.fileid;
}
