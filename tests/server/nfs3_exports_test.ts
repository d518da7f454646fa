// NFSv3 over MemFs: what an export's options do to every call (read-only,
// squashing, client lists, secure ports, per-credentials file systems).
import assert from "node:assert/strict";
import * as P from "../../proto/nfs3.ts";
import { Nfs3Proc as Proc, Nfs3Status as S } from "../../proto/nfs3.ts";
import { encodeHandle } from "../../server/handles.ts";
import { start, sys } from "./_harness.ts";
import { MemFs } from "../../vfs/memfs.ts";
import { create, getattr, lookup } from "./_nfs3.ts";

Deno.test("nfs3: read-only export, root squash, all squash", async () => {
  const h = await start({
    exports: [
      { path: "/ro", readOnly: true, squash: "none" },
      { path: "/sq", squash: "root" },
      { path: "/all", squash: "all", anonUid: 4242, anonGid: 4243 },
    ],
  });
  try {
    const ro = h.root;
    const c = await create(h, ro, "x");
    assert.equal(c.status, S.ROFS);
    assert.ok(c.dirWcc?.before, "wcc data on ROFS");
    const acc = await h.nfs(
      Proc.ACCESS,
      (w) => P.encodeAccessArgs(w, { object: ro, access: 0x3f }),
      P.decodeAccessRes,
    );
    assert.equal(
      acc.access! & (P.Access3.MODIFY | P.Access3.EXTEND | P.Access3.DELETE),
      0,
    );
    assert.ok(acc.access! & P.Access3.LOOKUP);
    const mnt = async (path: string) => {
      const { decodeMntRes, encodeDirpath } = await import(
        "../../proto/mount.ts"
      );
      return decodeMntRes(
        await h.client.call(100005, 3, 1, (w) => encodeDirpath(w, path)),
      ).handle!;
    };
    // Root squashed to 65534 cannot create in a root-owned 0755 directory.
    const sq = await mnt("/sq");
    assert.equal((await create(h, sq, "x")).status, S.ACCES);
    // Everyone squashed to the configured anonymous ids.
    await h.fs.setattr({ uid: 0, gid: 0, groups: [] }, h.fs.root, {
      mode: 0o777,
    });
    const all = await mnt("/all");
    const made = await create(h, all, "y", {});
    assert.equal(made.status, 0);
    assert.equal(made.attrs!.uid, 4242);
    assert.equal(made.attrs!.gid, 4243);
    const byRoot = await create(h, sq, "z");
    assert.equal(byRoot.attrs!.uid, 65534);
  } finally {
    await h.close();
  }
});

Deno.test("nfs3: per-export client list (ACCES) and secure ports (PERM) on every call", async () => {
  const { handleVerifier } = await import("../../server/handles.ts");
  const h = await start({
    exports: [
      {},
      { path: "/far", clients: ["192.0.2.0/24"], stableHandles: "far" },
      { path: "/sec", secure: true, stableHandles: "sec" },
    ],
  });
  try {
    const far = encodeHandle({
      exportId: 1,
      verifier: handleVerifier("netfs:far"),
      fileid: h.fs.root,
    });
    const sec = encodeHandle({
      exportId: 2,
      verifier: handleVerifier("netfs:sec"),
      fileid: h.fs.root,
    });
    assert.equal((await getattr(h, far)).status, S.ACCES);
    assert.equal((await lookup(h, far, "x")).status, S.ACCES);
    assert.equal((await getattr(h, sec)).status, S.PERM);
    assert.equal((await create(h, sec, "x")).status, S.PERM);
    assert.equal((await getattr(h, h.root)).status, 0);
  } finally {
    await h.close();
  }
});

Deno.test("nfs3: a per-credentials factory sees each caller's squashed identity", async () => {
  const fs = new MemFs();
  const seen: number[] = [];
  const h = await start({
    fs,
    exports: [{
      squash: "root",
      fs: (cred) => {
        seen.push(cred.uid);
        return fs;
      },
    }],
  });
  try {
    await getattr(h, h.root);
    await h.nfs(
      Proc.GETATTR,
      (w) => P.encodeFhArgs(w, { object: h.root }),
      P.decodeGetattrRes,
      sys(1234),
    );
    // 65534: the anonymous view made at start and root squashed.
    assert.ok(seen.includes(65534));
    assert.ok(seen.includes(1234));
    assert.ok(!seen.includes(0));
  } finally {
    await h.close();
  }
});
