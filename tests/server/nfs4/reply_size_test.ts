// A 4.1 COMPOUND's reply stays within the session's ca_maxresponsesize
// when several READs share it: each READ answers what is left after the
// results before it (server/nfs4/compound.ts keeps their encoded size as
// a running sum), less LATER_OPS_RESERVE when operations follow.
import assert from "node:assert/strict";
import {
  decode_COMPOUND4res,
  encode_COMPOUND4args,
  type nfs_argop4,
  type stateid4,
} from "../../../proto/nfs4/mod.ts";
import { LATER_OPS_RESERVE } from "../../../server/nfs4/context.ts";
import { ROOT } from "../../../vfs/types.ts";
import {
  chanAttrs,
  nfsstat4,
  ok,
  OP,
  resultOf,
  sequenceOp,
  session41,
  startState,
} from "./_clients.ts";
import { fhIn, walk } from "./_fsops.ts";

const ANON: stateid4 = { seqid: 0, other: new Uint8Array(12) };

/** Bytes of `n` of data in READ4res: status, eof, length, padded data. */
const readSize = (n: number) => 16 + ((n + 3) & ~3);

Deno.test("READ: four READs in one COMPOUND share the session's largest reply", async () => {
  const h = await startState();
  try {
    const f = await h.fs.create(ROOT, h.fs.root, "f");
    const content = new Uint8Array(200_000).map((_, i) => (i * 7 + 3) & 0xff);
    await h.fs.write(ROOT, f.fileid, 0, content);
    const maxResponse = 40_000;
    const s = await session41(h, "a", {
      fore: { ...chanAttrs(), ca_maxresponsesize: maxResponse },
    });
    const fh = fhIn(ok(await s.call([...walk("f"), { argop: OP.OP_GETFH }])));
    const read = (offset: number, count: number): nfs_argop4 => ({
      argop: OP.OP_READ,
      opread: { stateid: ANON, offset, count },
    });
    const asked = [[0, 16384], [16384, 16384], [32768, 65536], [
      100_000,
      65536,
    ]];
    const reply = await h.client.call(
      100003,
      4,
      1,
      (w) =>
        encode_COMPOUND4args(w, {
          tag: new Uint8Array(0),
          minorversion: 1,
          argarray: [
            sequenceOp(s.sessionid, s.seqids[0]++),
            { argop: OP.OP_PUTFH, opputfh: { object: fh } },
            ...asked.map(([o, n]) => read(o, n)),
          ],
        }),
    );
    const size = reply.remaining;
    const res = ok(decode_COMPOUND4res(reply));
    const got = asked.map((_, i) => {
      const r = resultOf(res, OP.OP_READ, 2 + i).opread;
      assert.ok(r.status === nfsstat4.NFS4_OK);
      return r.resok4.data;
    });
    // 12 (COMPOUND header) + 44 (SEQUENCE) + 8 (PUTFH), then the READs.
    const before = 12 + 44 + 8 + 2 * readSize(16384);
    const third = maxResponse - before - 16 - LATER_OPS_RESERVE;
    const fourth = maxResponse - before - readSize(third) - 16;
    assert.deepEqual(
      got.map((d) => d.byteLength),
      [16384, 16384, third - (third % 4), fourth - (fourth % 4)],
      "each READ gets what the results before it leave",
    );
    assert.ok(
      size <= maxResponse,
      `the reply (${size} bytes) fits ca_maxresponsesize (${maxResponse})`,
    );
    assert.equal(size, maxResponse, "the last READ fills the reply");
    for (const [i, [offset]] of asked.entries()) {
      assert.deepEqual(
        got[i],
        content.subarray(offset, offset + got[i].byteLength),
        `READ ${i} answers its own range`,
      );
    }
  } finally {
    await h.close();
  }
});
