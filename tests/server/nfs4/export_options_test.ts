import assert from "node:assert/strict";
import type { nfs_argop4 } from "../../../proto/nfs4/mod.ts";
import { MemFs } from "../../../vfs/memfs.ts";
import { PerUserFs } from "../../../vfs/per_user.ts";
import { ROOT } from "../../../vfs/types.ts";
import { b, nfsstat4, OP, resultOf, startState, sys } from "./_clients.ts";

const lookupGetattr = (name: string): nfs_argop4[] => [
  { argop: OP.OP_PUTROOTFH },
  { argop: OP.OP_LOOKUP, oplookup: { objname: b(name) } },
  { argop: OP.OP_GETATTR, opgetattr: { attr_request: [1 << 4] } }, // size
];

Deno.test("export options over NFSv4: PerUserFs gets each caller's AUTH_SYS credentials", async () => {
  const shared = new MemFs();
  await shared.create(ROOT, shared.root, "f");
  const callers: number[] = [];
  const fs = await PerUserFs.open((cred) => {
    callers.push(cred.uid);
    return shared;
  });
  const h = await startState({ exports: [{ fs, squash: "none" }] });
  try {
    const res = await h.compound(lookupGetattr("f"), { auth: sys(1234) });
    assert.equal(res.status, nfsstat4.NFS4_OK);
    assert.ok(callers.includes(1234), "an instance made for uid 1234");
  } finally {
    await h.close();
    await fs.close();
  }
});

async function rootAccess(squash: "root" | "none"): Promise<number> {
  const fs = new MemFs();
  await fs.mkdir(ROOT, fs.root, "d", { mode: 0o755 });
  const h = await startState({ fs, exports: [{ squash }] });
  try {
    const acc = await h.compound([
      { argop: OP.OP_PUTROOTFH },
      { argop: OP.OP_LOOKUP, oplookup: { objname: b("d") } },
      { argop: OP.OP_ACCESS, opaccess: { access: 0x1 | 0x2 | 0x4 } },
    ], { auth: sys(0) });
    const a = resultOf(acc, OP.OP_ACCESS).opaccess;
    assert.ok(a.status === nfsstat4.NFS4_OK);
    return a.resok4.access;
  } finally {
    await h.close();
  }
}

Deno.test("export options over NFSv4: root is squashed to nobody unless the export says none", async () => {
  // A 0755 directory owned by root: root may change it, nobody may not.
  assert.equal(await rootAccess("none"), 0x7);
  assert.equal(await rootAccess("root"), 0x3, "READ and LOOKUP only");
});

Deno.test("export options over NFSv4: a read-only export refuses changes", async () => {
  const h = await startState({ exports: [{ readOnly: true }] });
  try {
    const created = await h.compound([
      { argop: OP.OP_PUTROOTFH },
      {
        argop: OP.OP_CREATE,
        opcreate: {
          objtype: { type: 2 }, // NF4DIR
          objname: b("x"),
          createattrs: { attrmask: [], attr_vals: new Uint8Array() },
        },
      } as nfs_argop4,
    ]);
    assert.equal(created.status, nfsstat4.NFS4ERR_ROFS);
  } finally {
    await h.close();
  }
});
