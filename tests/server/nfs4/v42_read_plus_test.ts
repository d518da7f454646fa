// NFSv4.2 READ_PLUS over the wire, on MemFs and on LocalFs's native
// engine: data and hole segments that, zero-filled, are READ's bytes.
import assert from "node:assert/strict";
import {
  type COMPOUND4res,
  data_content4,
  type nfs_argop4,
  type read_plus_res4,
} from "../../../proto/nfs4/mod.ts";
import { resultOf } from "./_harness.ts";
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

function readPlusOp(offset: number, count: number, stateid = ANON): nfs_argop4 {
  return {
    argop: OP.OP_READ_PLUS,
    opread_plus: {
      rpa_stateid: stateid,
      rpa_offset: offset,
      rpa_count: count,
    },
  };
}

function resok(res: COMPOUND4res): read_plus_res4 {
  const r = resultOf(res, OP.OP_READ_PLUS).opread_plus;
  assert.ok(r.rp_status === nfsstat4.NFS4_OK, `READ_PLUS: ${r.rp_status}`);
  return r.rp_resok4;
}

/** A READ_PLUS answer as kinds and ranges, e.g. "data 0+4". */
function shape(r: read_plus_res4): string[] {
  return r.rpr_contents.map((c) =>
    c.rpc_content === data_content4.NFS4_CONTENT_DATA
      ? `data ${c.rpc_data.d_offset}+${c.rpc_data.d_data.byteLength}`
      : `hole ${c.rpc_hole.di_offset}+${c.rpc_hole.di_length}`
  );
}

/**
 * The bytes a client makes of the answer to a READ_PLUS at `offset`:
 * segments in order and without gaps, holes as zeros.
 */
function bytesOf(r: read_plus_res4, offset: number): Uint8Array {
  const parts: Uint8Array[] = [];
  let pos = offset;
  for (const c of r.rpr_contents) {
    if (c.rpc_content === data_content4.NFS4_CONTENT_DATA) {
      assert.equal(c.rpc_data.d_offset, pos, "segments leave no gap");
      parts.push(c.rpc_data.d_data);
      pos += c.rpc_data.d_data.byteLength;
    } else {
      assert.ok(c.rpc_content === data_content4.NFS4_CONTENT_HOLE);
      assert.equal(c.rpc_hole.di_offset, pos, "segments leave no gap");
      parts.push(new Uint8Array(c.rpc_hole.di_length));
      pos += c.rpc_hole.di_length;
    }
  }
  const out = new Uint8Array(pos - offset);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/** READ's data at `offset`. */
async function readData(v: V42, path: string, offset: number, count: number) {
  const res = await v.call([...at(path), {
    argop: OP.OP_READ,
    opread: { stateid: ANON, offset, count },
  }]);
  const r = resultOf(res, OP.OP_READ).opread;
  assert.ok(r.status === nfsstat4.NFS4_OK);
  return r.resok4;
}

test42(
  "READ_PLUS: a sparse file comes as data, holes and data, READ's bytes once zero-filled",
  async (v) => {
    await makeFile(v.fs, "f", sparseParts());
    // 1 MiB at a time, the most one call answers (maxIo).
    const shapes: string[][] = [];
    const eofs: boolean[] = [];
    let offset = 0;
    for (let i = 0; i < 8; i++) {
      const r = resok(await v.call([...at("f"), readPlusOp(offset, MIB)]));
      shapes.push(shape(r));
      eofs.push(r.rpr_eof);
      assert.deepEqual(
        bytesOf(r, offset),
        (await readData(v, "f", offset, MIB)).data,
        `READ's bytes at ${offset}`,
      );
      offset += MIB;
      if (r.rpr_eof) break;
    }
    assert.deepEqual(shapes, [
      [`data 0+${MIB}`],
      [`hole ${MIB}+${MIB}`],
      [`hole ${2 * MIB}+${MIB}`],
      [`data ${3 * MIB}+${MIB}`],
    ]);
    assert.deepEqual(eofs, [false, false, false, true]);
  },
);

test42(
  "READ_PLUS: segments are clipped to the range asked for; eof only at the end",
  async (v) => {
    await makeFile(v.fs, "f", sparseParts());
    const inHole = resok(
      await v.call([...at("f"), readPlusOp(MIB + 100, 4096)]),
    );
    assert.deepEqual(shape(inHole), [`hole ${MIB + 100}+4096`]);
    assert.equal(inHole.rpr_eof, false);
    const across = resok(await v.call([...at("f"), readPlusOp(MIB - 10, MIB)]));
    assert.deepEqual(shape(across), [
      `data ${MIB - 10}+10`,
      `hole ${MIB}+${MIB - 10}`,
    ]);
    assert.equal(across.rpr_eof, false);
    assert.deepEqual(
      bytesOf(across, MIB - 10),
      (await readData(v, "f", MIB - 10, MIB)).data,
    );
    const into = resok(
      await v.call([...at("f"), readPlusOp(3 * MIB - 10, MIB)]),
    );
    // The segments' encoding fits the count: after the hole's 20 bytes
    // and the data segment's own 16, the data is the count less 36.
    assert.deepEqual(shape(into), [
      `hole ${3 * MIB - 10}+10`,
      `data ${3 * MIB}+${MIB - 36}`,
    ]);
    assert.equal(into.rpr_eof, false);
    const tail = resok(
      await v.call([...at("f"), readPlusOp(3 * MIB, 2 * MIB)]),
    );
    assert.deepEqual(shape(tail), [`data ${3 * MIB}+${MIB}`]);
    assert.equal(tail.rpr_eof, true, "the answer reaches the end of file");
  },
);

test42(
  "READ_PLUS: a file ending in a hole ends in a hole segment with eof",
  async (v) => {
    await makeFile(v.fs, "f", [[0, filled(MIB, 5)]], 3 * MIB);
    const mid = resok(await v.call([...at("f"), readPlusOp(MIB / 2, MIB)]));
    assert.deepEqual(shape(mid), [
      `data ${MIB / 2}+${MIB / 2}`,
      `hole ${MIB}+${MIB / 2}`,
    ]);
    assert.equal(mid.rpr_eof, false);
    const end = resok(await v.call([...at("f"), readPlusOp(2 * MIB, MIB)]));
    assert.deepEqual(shape(end), [`hole ${2 * MIB}+${MIB}`]);
    assert.equal(end.rpr_eof, true);
  },
);

test42(
  "READ_PLUS: at or past the end of file is eof with no contents",
  async (v) => {
    await makeFile(v.fs, "f", [[0, filled(100, 5)]]);
    for (const offset of [100, 5000]) {
      const r = resok(await v.call([...at("f"), readPlusOp(offset, 4096)]));
      assert.deepEqual(r, { rpr_eof: true, rpr_contents: [] });
    }
    const zero = resok(await v.call([...at("f"), readPlusOp(0, 0)]));
    assert.deepEqual(zero, { rpr_eof: false, rpr_contents: [] });
  },
);

test42("READ_PLUS: at most maxIo bytes of data", async (v) => {
  await makeFile(v.fs, "f", [[0, filled(3 * MIB, 9)]]);
  const r = resok(await v.call([...at("f"), readPlusOp(0, 3 * MIB)]));
  assert.deepEqual(shape(r), [`data 0+${MIB}`], "maxIo is 1 MiB");
  assert.equal(r.rpr_eof, false);
});

test42(
  "READ_PLUS: a directory is ISDIR, a symlink SYMLINK, a made-up stateid BAD_STATEID",
  async (v) => {
    await makeKinds(v.fs);
    await expectNotRegular(v, readPlusOp(0, 10));
    expectStatus(
      await v.call([...at("f"), readPlusOp(0, 10, BOGUS)]),
      nfsstat4.NFS4ERR_BAD_STATEID,
      "made-up stateid",
    );
  },
);

test42(
  "READ_PLUS: data read before a WRITE in the same COMPOUND is what was read",
  async (v) => {
    await makeFile(v.fs, "f", [[0, filled(8192, 1)]]);
    const res = await v.call([
      ...at("f"),
      readPlusOp(0, 8192),
      {
        argop: OP.OP_WRITE,
        opwrite: { stateid: ANON, offset: 0, stable: 2, data: filled(8192, 2) },
      },
    ]);
    expectStatus(res, nfsstat4.NFS4_OK, "READ_PLUS, WRITE");
    assert.deepEqual(bytesOf(resok(res), 0), filled(8192, 1));
  },
);

test42(
  "READ_PLUS: without the file system's seek the answer is one data segment",
  async (v) => {
    await makeFile(v.fs, "f", sparseParts());
    const r = resok(await v.call([...at("f"), readPlusOp(0, MIB + 10)]));
    assert.deepEqual(shape(r), [`data 0+${MIB}`]);
    assert.deepEqual(bytesOf(r, 0), filled(MIB, 1));
    const hole = resok(await v.call([...at("f"), readPlusOp(MIB, 100)]));
    assert.deepEqual(shape(hole), [`data ${MIB}+100`]);
    assert.deepEqual(bytesOf(hole, MIB), new Uint8Array(100));
  },
  { wrap: plain },
);
