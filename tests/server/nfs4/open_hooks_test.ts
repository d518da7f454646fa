import assert from "node:assert/strict";
import type { nfs_argop4 } from "../../../proto/nfs4/mod.ts";
import { CallbackFs } from "../../../vfs/callback.ts";
import { traced } from "../../vfs/_store.ts";
import {
  b,
  nfsstat4,
  ok,
  OP,
  open41,
  session41,
  startState,
} from "./_clients.ts";

const ANON = { seqid: 0, other: new Uint8Array(12) };

Deno.test("open hooks: OPEN, READ and WRITE under it, CLOSE reach a CallbackFs in order", async () => {
  const events: string[] = [];
  const fs = new CallbackFs(traced(events));
  const h = await startState({ exports: [{ fs }] });
  try {
    const s = await session41(h, "hooks");
    const { stateid, fh } = await open41(s, "f", { access: 3, deny: 2 });
    const put: nfs_argop4 = { argop: OP.OP_PUTFH, opputfh: { object: fh } };
    ok(
      await s.call([put, {
        argop: OP.OP_WRITE,
        opwrite: { stateid, offset: 0, stable: 2, data: b("hello") },
      }]),
    );
    ok(
      await s.call([put, {
        argop: OP.OP_READ,
        opread: { stateid, offset: 0, count: 5 },
      }]),
    );
    ok(
      await s.call([put, {
        argop: OP.OP_CLOSE,
        opclose: { seqid: 0, open_stateid: stateid },
      }]),
    );
    // The release runs once the CLOSE is answered; give it its turn.
    await new Promise((r) => setTimeout(r, 10));
    const mine = events.filter((e) =>
      / client | #1$/.test(e) || e.endsWith("#1")
    );
    assert.deepEqual(mine, [
      "open /f #1 client access 3 deny 2",
      "write /f #1",
      "commit /f #1", // FILE_SYNC
      "read /f #1",
      "close /f #1",
    ]);
  } finally {
    await h.close();
  }
});

Deno.test("open hooks: anonymous I/O does not use an open's context; shutdown releases opens", async () => {
  const events: string[] = [];
  const fs = new CallbackFs(traced(events));
  const h = await startState({ exports: [{ fs }] });
  const s = await session41(h, "hooks2");
  const { fh } = await open41(s, "g", { access: 1 });
  const res = await s.call([{ argop: OP.OP_PUTFH, opputfh: { object: fh } }, {
    argop: OP.OP_READ,
    opread: { stateid: ANON, offset: 0, count: 5 },
  }]);
  assert.equal(res.status, nfsstat4.NFS4_OK);
  assert.ok(
    !events.includes("read /g #1"),
    "anonymous reads are not the open's",
  );
  await h.close();
  assert.ok(
    events.includes("close /g #1"),
    "the server's shutdown releases the open",
  );
});
