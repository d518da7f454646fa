import assert from "node:assert/strict";
import type { nfs_argop4 } from "../../../proto/nfs4/mod.ts";
import { MemoryStableStorage } from "../../../server/nfs4/state/leases.ts";
import { MemFs } from "../../../vfs/memfs.ts";
import {
  client40,
  nfsstat4,
  ok,
  OP,
  open40,
  openArgs,
  openStateid,
  resultOf,
  startState,
} from "./_clients.ts";

Deno.test("reclaim 4.0: after a restart the client's old stateid is stale and CLAIM_PREVIOUS gets its open back", async () => {
  const fs = new MemFs();
  const stableStorage = new MemoryStableStorage();
  const before = await startState({
    fs,
    exports: [{ stableHandles: true }],
    nfs4: { graceTime: 30, stableStorage },
  });
  let fh: Uint8Array;
  let old;
  try {
    const c = await client40(before, "linux-client");
    ({ fh, stateid: old } = await open40(before, c, "f", { owner: "o1" }));
  } finally {
    await before.close();
  }
  const after = await startState({
    fs,
    exports: [{ stableHandles: true }],
    nfs4: { graceTime: 30, stableStorage },
  });
  try {
    const put: nfs_argop4 = { argop: OP.OP_PUTFH, opputfh: { object: fh } };
    const stale = await after.compound([put, {
      argop: OP.OP_READ,
      opread: { stateid: old, offset: 0, count: 1 },
    }]);
    assert.equal(stale.status, nfsstat4.NFS4ERR_STALE_STATEID);
    const c = await client40(after, "linux-client");
    const res = ok(
      await after.compound([
        put,
        openArgs("", {
          clientid: c,
          owner: "o1",
          seqid: 0,
          access: 3,
          claim: { claim: 1, delegate_type: 0 },
        }),
      ]),
      "reclaim OPEN",
    );
    const r = resultOf(res, OP.OP_OPEN).opopen;
    assert.ok(r.status === nfsstat4.NFS4_OK);
    // A reclaim confirms its owner (the Linux client sends no OPEN_CONFIRM).
    assert.equal(r.resok4.rflags & 2, 0, "no OPEN4_RESULT_CONFIRM");
    const stateid = openStateid(res);
    ok(
      await after.compound([put, {
        argop: OP.OP_READ,
        opread: { stateid, offset: 0, count: 1 },
      }]),
      "READ with the reclaimed stateid",
    );
  } finally {
    await after.close();
  }
});
