import assert from "node:assert/strict";
import type { nfs_argop4, stateid4 } from "../../../proto/nfs4/mod.ts";
import {
  b,
  client40,
  createHow,
  nfsstat4,
  ok,
  OP,
  open40,
  open41,
  openArgs,
  openStateid,
  resultOf,
  session41,
  startState,
} from "./_clients.ts";

const root: nfs_argop4 = { argop: OP.OP_PUTROOTFH };

function close40(fh: Uint8Array, stateid: stateid4, seqid: number) {
  return [
    { argop: OP.OP_PUTFH, opputfh: { object: fh } },
    { argop: OP.OP_CLOSE, opclose: { seqid, open_stateid: stateid } },
  ] as nfs_argop4[];
}

Deno.test("OPEN_DOWNGRADE: from both to read; a value never opened is INVAL", async () => {
  const h = await startState();
  try {
    const s = await session41(h, "a");
    const { stateid, fh } = await open41(s, "d", { access: 3 });
    const down = (access: number, st = stateid) =>
      s.call([{ argop: OP.OP_PUTFH, opputfh: { object: fh } }, {
        argop: OP.OP_OPEN_DOWNGRADE,
        opopen_downgrade: {
          open_stateid: st,
          seqid: 0,
          share_access: access,
          share_deny: 0,
        },
      }]);
    assert.equal((await down(1)).status, nfsstat4.NFS4ERR_INVAL);
    // Opened for read too, it may go down to read.
    ok(await s.call([root, openArgs("d", { access: 1 })]));
    const res = ok(await down(1, { ...stateid, seqid: 0 }));
    const r = resultOf(res, OP.OP_OPEN_DOWNGRADE).opopen_downgrade;
    assert.ok(r.status === nfsstat4.NFS4_OK);
    assert.equal(r.resok4.open_stateid.seqid, stateid.seqid + 2);
  } finally {
    await h.close();
  }
});

Deno.test("CLOSE 4.1: the current stateid names the open just made", async () => {
  const h = await startState();
  try {
    const s = await session41(h, "a");
    const current = { seqid: 1, other: new Uint8Array(12) };
    const res = ok(
      await s.call([root, openArgs("c", { access: 3, how: createHow() }), {
        argop: OP.OP_CLOSE,
        opclose: { seqid: 0, open_stateid: current },
      }]),
    );
    const opened = openStateid(res);
    const r = resultOf(res, OP.OP_CLOSE).opclose;
    assert.ok(r.status === nfsstat4.NFS4_OK);
    assert.deepEqual(r.open_stateid, {
      seqid: 0xffffffff,
      other: new Uint8Array(12),
    });
    const again = await s.call([root, {
      argop: OP.OP_LOOKUP,
      oplookup: { objname: b("c") },
    }, {
      argop: OP.OP_CLOSE,
      opclose: { seqid: 0, open_stateid: opened },
    }]);
    assert.equal(again.status, nfsstat4.NFS4ERR_BAD_STATEID);
    const none = await s.call([root, {
      argop: OP.OP_CLOSE,
      opclose: { seqid: 0, open_stateid: current },
    }]);
    assert.equal(
      none.status,
      nfsstat4.NFS4ERR_BAD_STATEID,
      "no current stateid",
    );
  } finally {
    await h.close();
  }
});

Deno.test("CLOSE 4.0: a retransmission is replayed, a later seqid is BAD_STATEID", async () => {
  const h = await startState();
  try {
    const c = await client40(h, "a");
    const { stateid, fh, seqid } = await open40(h, c, "z");
    const first = ok(await h.compound(close40(fh, stateid, seqid)));
    const again = ok(await h.compound(close40(fh, stateid, seqid)));
    assert.deepEqual(
      resultOf(again, OP.OP_CLOSE),
      resultOf(first, OP.OP_CLOSE),
    );
    const later = await h.compound(close40(fh, stateid, seqid + 1));
    assert.equal(later.status, nfsstat4.NFS4ERR_BAD_STATEID);
  } finally {
    await h.close();
  }
});
