// The arguments of an NFSv4 COMPOUND are views of its RPC record, and the
// RPC server reuses a large record's storage for a later call once the
// COMPOUND has settled (rpc/record.ts RecordPool, Procedure.borrowsArgs).
// These tests pipeline 1 MiB WRITEs, with OPEN and LOCK in the same
// COMPOUNDs, through a file system that holds on to `data` across a timer
// before copying it: a record handed back before its write settled would
// put a later call's bytes in the file, and an owner, verifier or client
// name kept as a view of the record would change under the state. Small
// calls come from pooled storage too: the NFSv4.0 test below reuses it
// call after call, with a client verifier and owners the state compares.
import assert from "node:assert/strict";
import {
  type COMPOUND4res,
  decode_COMPOUND4res,
  encode_COMPOUND4args,
  type nfs_argop4,
  nfs_lock_type4,
  stable_how4,
  type stateid4,
} from "../../../proto/nfs4/mod.ts";
import { ExportTable } from "../../../server/exports.ts";
import { nfs4Program } from "../../../server/nfs4/program.ts";
import { hexKey } from "../../../server/nfs4/state/types.ts";
import { MemFs } from "../../../vfs/memfs.ts";
import { ROOT } from "../../../vfs/types.ts";
import { pattern, SlowWrites } from "../_slow_writes.ts";
import {
  b,
  chanAttrs,
  client40,
  createHow,
  exchangeIdOp,
  nfsstat4,
  OP,
  open40,
  openArgs,
  resultOf,
  sequenceOp,
  type Session41,
  session41,
  startState,
  sys,
} from "./_clients.ts";
import { type Nfs4Harness, start4 } from "./_harness.ts";

const MiB = 1 << 20;
/** The 4.1 current stateid: seqid 1, `other` all zeros. */
const CURRENT: stateid4 = { seqid: 1, other: new Uint8Array(12) };

function write(
  offset: number,
  data: Uint8Array,
  stateid = CURRENT,
): nfs_argop4 {
  return {
    argop: OP.OP_WRITE,
    opwrite: { stateid, offset, stable: stable_how4.UNSTABLE4, data },
  };
}

/** LOCK of the first MiB by a lock-owner new to the open (4.0: its seqid). */
function lockNew(
  owner: string,
  clientid: bigint,
  open = CURRENT,
  openSeqid = 0,
): nfs_argop4 {
  return {
    argop: OP.OP_LOCK,
    oplock: {
      locktype: nfs_lock_type4.WRITE_LT,
      reclaim: false,
      offset: 0n,
      length: BigInt(MiB),
      locker: {
        new_lock_owner: true,
        open_owner: {
          open_seqid: openSeqid,
          open_stateid: open,
          lock_seqid: 0,
          lock_owner: { clientid, owner: b(owner) },
        },
      },
    },
  };
}

/** LOCKT of the first byte by an owner of `clientid` that holds nothing. */
function locktOther(clientid: bigint): nfs_argop4 {
  return {
    argop: OP.OP_LOCKT,
    oplockt: {
      locktype: nfs_lock_type4.WRITE_LT,
      offset: 0n,
      length: 1n,
      owner: { clientid, owner: b("someone-else") },
    },
  };
}

function ok(res: COMPOUND4res, what: string): COMPOUND4res {
  assert.equal(res.status, nfsstat4.NFS4_OK, `${what}: status ${res.status}`);
  return res;
}

async function setUp(): Promise<
  { h: Nfs4Harness<SlowWrites>; fs: SlowWrites; s: Session41 }
> {
  const fs = new SlowWrites(new MemFs());
  const h = await start4({ fs, nfs4: { graceTime: 0 } });
  const s = await session41(h, "writer", {
    fore: { ...chanAttrs(8), ca_maxrequestsize: 2 * MiB },
  });
  return { h, fs, s };
}

/** The file system's bytes of `name` at `offset`. */
async function bytesOf(
  fs: SlowWrites,
  name: string,
  offset: number,
  size: number,
) {
  const id = (await fs.lookup(ROOT, fs.root, name)).fileid;
  return (await fs.read(ROOT, id, offset, size)).data;
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

Deno.test("nfs4 WRITE: pipelined 1 MiB WRITEs with OPEN and LOCK keep their data, owners and client name", async () => {
  await pipelined(MiB);
});

// Small COMPOUNDs are copied out of the receive buffer into pooled storage
// that goes back when they are answered: the same holds for them.
Deno.test("nfs4 WRITE: pipelined 4 KiB WRITEs with OPEN and LOCK keep their data, owners and client name", async () => {
  await pipelined(4096);
});

/**
 * Two rounds of eight COMPOUNDs writing `size` bytes each (the first also
 * opening and locking), after an EXCHANGE_ID whose record is as large.
 */
async function pipelined(size: number): Promise<void> {
  const { h, fs, s } = await setUp();
  try {
    // A client name in a record of `size` (its tag pads it): the record
    // goes back to the pool, and the WRITEs below are read into it.
    const big = await h.compound([exchangeIdOp("client-in-a-big-record")], {
      minor: 1,
      tag: "t".repeat(size),
    });
    ok(big, "EXCHANGE_ID");
    // Eight COMPOUNDs in flight, each creating its file, writing `size` and
    // locking it under owners of its own; then eight more WRITEs, whose
    // records reuse the first round's storage.
    const first = await Promise.all(
      Array.from({ length: 8 }, (_, k) =>
        s.call([
          { argop: OP.OP_PUTROOTFH },
          openArgs(`f${k}`, {
            owner: `open-owner-${k}`,
            access: 3,
            how: createHow(),
          }),
          write(0, pattern(size, k)),
          lockNew(`lock-owner-${k}`, s.clientid),
          { argop: OP.OP_GETFH },
        ], { slot: k })),
    );
    const opened = first.map((res, k) => {
      ok(res, `round 1, COMPOUND ${k}`);
      const o = resultOf(res, OP.OP_OPEN).opopen;
      const fh = resultOf(res, OP.OP_GETFH).opgetfh;
      assert.ok(o.status === nfsstat4.NFS4_OK);
      assert.ok(fh.status === nfsstat4.NFS4_OK);
      return { stateid: o.resok4.stateid, fh: fh.resok4.object };
    });
    const second = await Promise.all(
      opened.map(({ stateid, fh }, k) =>
        s.call([
          { argop: OP.OP_PUTFH, opputfh: { object: fh } },
          write(size, pattern(size, 8 + k), stateid),
        ], { slot: k })
      ),
    );
    second.forEach((res, k) => ok(res, `round 2, COMPOUND ${k}`));

    for (let k = 0; k < 8; k++) {
      assert.ok(
        same(await bytesOf(fs, `f${k}`, 0, size), pattern(size, k)) &&
          same(await bytesOf(fs, `f${k}`, size, size), pattern(size, 8 + k)),
        `f${k} must hold its own WRITEs' bytes, not a later call's`,
      );
      const id = (await fs.lookup(ROOT, fs.root, `f${k}`)).fileid;
      const opens = h.nfs.state.opens.opensOf(
        `${h.exports.exports[0].id}:${id}`,
      );
      assert.equal(opens.length, 1);
      assert.deepEqual(
        opens[0].owner.owner.owner,
        b(`open-owner-${k}`),
        "the open-owner the state keeps is its own copy",
      );
      // Another owner's LOCKT names the holder as the state keeps it.
      const t = await s.call([
        { argop: OP.OP_PUTFH, opputfh: { object: opened[k].fh } },
        locktOther(s.clientid),
      ]);
      const denied = resultOf(t, OP.OP_LOCKT).oplockt;
      assert.ok(denied.status === nfsstat4.NFS4ERR_DENIED);
      assert.deepEqual(denied.denied.owner.owner, b(`lock-owner-${k}`));
    }
    const name = b("client-in-a-big-record");
    const rec = h.nfs.state.clients.unconfirmedRecords()
      .find((r) => r.ownerKey === hexKey(name));
    assert.ok(rec !== undefined, "EXCHANGE_ID made its record");
    assert.deepEqual(rec.ownerId, name, "the client name is the state's copy");
    assert.deepEqual(rec.verifier, new Uint8Array(8));
  } finally {
    await h.close();
  }
}

/** Opens (creating) `name` in the root: its open stateid and handle. */
async function openFile(
  s: Session41,
  name: string,
): Promise<{ stateid: stateid4; fh: Uint8Array }> {
  const res = ok(
    await s.call([
      { argop: OP.OP_PUTROOTFH },
      openArgs(name, { owner: "o", access: 3, how: createHow() }),
      { argop: OP.OP_GETFH },
    ]),
    "OPEN",
  );
  const opened = resultOf(res, OP.OP_OPEN).opopen;
  assert.ok(opened.status === nfsstat4.NFS4_OK);
  const fh = resultOf(res, OP.OP_GETFH).opgetfh;
  assert.ok(fh.status === nfsstat4.NFS4_OK);
  return { stateid: opened.resok4.stateid, fh: fh.resok4.object };
}

// A whole aligned 1 MiB WRITE's record becomes MemFs's chunk
// (store/_offers.ts): its record must not go back to the pool, and what the
// file gives back when written over serves the WRITEs after it.
Deno.test("nfs4 WRITE: whole 1 MiB chunks kept without a copy hold their bytes while later WRITEs reuse the pool", async () => {
  const { h, fs, s } = await setUp();
  try {
    const { stateid, fh } = await openFile(s, "kept");
    // Chunks 0-7, 8-15, then both written over, eight in flight.
    const blocks = Array.from({ length: 32 }, (_, i) => pattern(MiB, 40 + i));
    for (let round = 0; round < 4; round++) {
      const replies = await Promise.all(
        blocks.slice(round * 8, round * 8 + 8).map((data, k) =>
          s.call([
            { argop: OP.OP_PUTFH, opputfh: { object: fh } },
            write(((round % 2) * 8 + k) * MiB, data, stateid),
          ], { slot: k })
        ),
      );
      replies.forEach((r, k) => ok(r, `round ${round}, COMPOUND ${k}`));
    }
    const id = (await fs.lookup(ROOT, fs.root, "kept")).fileid;
    assert.equal(
      (await fs.getattr(ROOT, id)).used,
      16 * (MiB + 4096),
      "each chunk is a kept record (1 MiB and the pool's 4 KiB step)",
    );
    for (let i = 0; i < 16; i++) {
      assert.ok(
        same(await bytesOf(fs, "kept", i * MiB, MiB), blocks[16 + i]),
        `block ${i} must hold its last WRITE's bytes, not a later call's`,
      );
    }
  } finally {
    await h.close();
  }
});

Deno.test("nfs4 WRITE: a write whose type check failed still holds its record until it settles", async () => {
  const { h, fs, s } = await setUp();
  try {
    const { stateid, fh } = await openFile(s, "f");
    // The getattr beside each WRITE fails at once; the write goes on
    // behind its timer. An answer sent before the write settled would hand
    // its record to the next WRITE while the write still reads it.
    fs.failing.add((await fs.lookup(ROOT, fs.root, "f")).fileid);
    const blocks = Array.from({ length: 16 }, (_, i) => pattern(MiB, i));
    for (let round = 0; round < 2; round++) {
      const replies = await Promise.all(
        blocks.slice(round * 8, round * 8 + 8).map((data, k) =>
          h.client.call(100003, 4, 1, (w) =>
            encode_COMPOUND4args(w, {
              tag: new Uint8Array(0),
              minorversion: 1,
              argarray: [
                sequenceOp(s.sessionid, s.seqids[k]++, k),
                { argop: OP.OP_PUTFH, opputfh: { object: fh } },
                write((round * 8 + k) * MiB, data, stateid),
              ],
            })).then(decode_COMPOUND4res)
        ),
      );
      for (const r of replies) assert.equal(r.status, nfsstat4.NFS4ERR_IO);
    }
    for (const [i, expected] of blocks.entries()) {
      assert.ok(
        same(await bytesOf(fs, "f", i * MiB, MiB), expected),
        `block ${i} must hold its own WRITE's bytes, not a later call's`,
      );
    }
  } finally {
    await h.close();
  }
});

// NFSv4.0 keeps a client's verifier and its owners' names across calls and
// compares them later. Each call below is small, so each is copied into the
// same pooled 512-byte storage, over the call before it: a verifier or
// owner kept as a view of it would read another call's bytes.
Deno.test("nfs4.0 SETCLIENTID, OPEN and LOCK: the verifier and the owners the state compares are its own copies", async () => {
  const h = await startState();
  /** Client `x` with verifier `verifier` opens and locks file `file`. */
  const lockedBy = async (x: string, verifier: Uint8Array, file: string) => {
    const clientid = await client40(h, `client-${x}`, sys(0), { verifier });
    const o = await open40(h, clientid, file, { owner: `open-owner-${x}` });
    ok(
      await h.compound([
        { argop: OP.OP_PUTFH, opputfh: { object: o.fh } },
        lockNew(`lock-owner-${x}`, clientid, o.stateid, o.seqid),
      ]),
      `LOCK by client ${x}`,
    );
    return { clientid, fh: o.fh };
  };
  try {
    const va = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);
    const { clientid: a, fh } = await lockedBy("a", va, "f");
    // Another client sends the same calls with other bytes in their places.
    const vb = new Uint8Array([9, 10, 11, 12, 13, 14, 15, 16]);
    const { clientid: c } = await lockedBy("b", vb, "g");

    const t = await h.compound([
      { argop: OP.OP_PUTFH, opputfh: { object: fh } },
      locktOther(c),
    ]);
    const denied = resultOf(t, OP.OP_LOCKT).oplockt;
    assert.ok(denied.status === nfsstat4.NFS4ERR_DENIED);
    assert.deepEqual(
      denied.denied.owner,
      { clientid: a, owner: b("lock-owner-a") },
      "the holder is named as its LOCK named it",
    );
    const id = (await h.fs.lookup(ROOT, h.fs.root, "f")).fileid;
    const opens = h.nfs.state.opens.opensOf(`${h.exports.exports[0].id}:${id}`);
    assert.equal(opens.length, 1);
    assert.deepEqual(opens[0].owner.owner.owner, b("open-owner-a"));
    const rec = h.nfs.state.clients.confirmedRecords()
      .find((r) => r.clientid === a);
    assert.deepEqual(rec?.ownerId, b("client-a"));
    // Client a again with its verifier, in a record whose tag moves every
    // field: the callback update of a client that did not restart keeps
    // its client ID, which takes the kept verifier to compare equal.
    assert.equal(
      await client40(h, "client-a", sys(0), { verifier: va, tag: "shifted" }),
      a,
      "the same verifier is a callback update, not a restart",
    );
  } finally {
    await h.close();
  }
});

Deno.test("nfs4 CREATE_SESSION: the callback's GSS handles are the session's copies", async () => {
  const { h } = await setUp();
  try {
    const ex = ok(
      await h.compound([exchangeIdOp("gss-client")], { minor: 1 }),
      "EXCHANGE_ID",
    );
    const e = resultOf(ex, OP.OP_EXCHANGE_ID).opexchange_id;
    assert.ok(e.eir_status === nfsstat4.NFS4_OK);
    const fromServer = b("handle-from-server");
    const fromClient = b("handle-from-client");
    // A 1 MiB tag puts the handles in a pooled record; the next call, a
    // little longer, is read into that storage over them.
    const cr = ok(
      await h.compound([{
        argop: OP.OP_CREATE_SESSION,
        opcreate_session: {
          csa_clientid: e.eir_resok4.eir_clientid,
          csa_sequence: e.eir_resok4.eir_sequenceid,
          csa_flags: 0,
          csa_fore_chan_attrs: chanAttrs(),
          csa_back_chan_attrs: chanAttrs(1, 2),
          csa_cb_program: 0x40000000,
          csa_sec_parms: [{
            cb_secflavor: 6,
            cbsp_gss_handles: {
              gcbp_service: 1,
              gcbp_handle_from_server: fromServer,
              gcbp_handle_from_client: fromClient,
            },
          }],
        },
      }], { minor: 1, tag: "t".repeat(MiB) }),
      "CREATE_SESSION",
    );
    const c = resultOf(cr, OP.OP_CREATE_SESSION).opcreate_session;
    assert.ok(c.csr_status === nfsstat4.NFS4_OK);
    ok(
      await h.compound([exchangeIdOp("another-client")], {
        minor: 1,
        tag: "u".repeat(MiB + 1024),
      }),
      "EXCHANGE_ID",
    );
    const sec = h.nfs.state.sessions.get(c.csr_resok4.csr_sessionid)?.cbSec;
    assert.ok(sec?.[0].flavor === 6);
    assert.deepEqual(sec[0].handleFromServer, fromServer);
    assert.deepEqual(sec[0].handleFromClient, fromClient);
  } finally {
    await h.close();
  }
});

Deno.test("nfs4 COMPOUND: the row lends its arguments, so WRITE records go back to the pool", () => {
  const { procedures } = nfs4Program({
    exports: new ExportTable([{ path: "/", fs: new MemFs() }]),
  });
  const compound = procedures[1];
  assert.ok(compound.handler === undefined);
  assert.equal(compound.borrowsArgs, true);
});
