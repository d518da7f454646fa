// NFSv3 over MemFs: READDIR and READDIRPLUS paging.
import assert from "node:assert/strict";
import * as P from "../../proto/nfs3.ts";
import { Nfs3Proc as Proc, Nfs3Status as S } from "../../proto/nfs3.ts";
import { start } from "./_harness.ts";
import type { Harness } from "./_harness.ts";
import { create, mkdir, NOVERF } from "./_nfs3.ts";

async function listAll(
  h: Harness,
  dir: Uint8Array,
  plus: boolean,
  count: number,
): Promise<{ names: string[]; pages: number }> {
  const names: string[] = [];
  let cookie = 0n;
  let verf: Uint8Array = NOVERF;
  let pages = 0;
  for (;;) {
    const r = await h.client.call(
      P.NFS_PROGRAM,
      3,
      plus ? Proc.READDIRPLUS : Proc.READDIR,
      (w) =>
        plus
          ? P.encodeReaddirplusArgs(w, {
            dir,
            cookie,
            cookieverf: verf,
            dircount: count >> 2,
            maxcount: count,
          })
          : P.encodeReaddirArgs(w, { dir, cookie, cookieverf: verf, count }),
    );
    // The resok (everything after the status word) stays within count.
    assert.ok(r.remaining - 4 <= count, `reply ${r.remaining - 4} > ${count}`);
    const res = plus ? P.decodeReaddirplusRes(r) : P.decodeReaddirRes(r);
    assert.equal(res.status, 0);
    pages++;
    for (const e of res.entries!) {
      names.push(e.name);
      if (plus && e.name !== "..") {
        assert.ok(e.handle && e.attrs, `handle and attributes for ${e.name}`);
        assert.equal(e.attrs.fileid, e.fileid);
      }
    }
    if (res.eof) break;
    assert.ok(res.entries!.length > 0);
    cookie = res.entries!.at(-1)!.cookie;
    verf = res.cookieverf!;
  }
  return { names, pages };
}

Deno.test("nfs3: READDIR and READDIRPLUS page exactly by count", async () => {
  const h = await start();
  try {
    const d = await mkdir(h, h.root, "big");
    const want = new Set<string>([".", ".."]);
    for (let i = 0; i < 600; i++) {
      const name = `entry-${i}-${"x".repeat(i % 40)}`;
      want.add(name);
      assert.equal((await create(h, d, name)).status, 0);
    }
    for (const plus of [false, true]) {
      for (const count of [600, 4096, 65536, 0xffffffff]) {
        const { names, pages } = await listAll(h, d, plus, count);
        assert.equal(names.length, want.size, `plus ${plus} count ${count}`);
        assert.deepEqual(new Set(names), want);
        if (count === 600) assert.ok(pages > 20);
      }
    }
    // Too small for even one entry.
    for (const count of [0, 50, 110]) {
      const r = await h.nfs(
        Proc.READDIR,
        (w) =>
          P.encodeReaddirArgs(w, {
            dir: d,
            cookie: 0n,
            cookieverf: NOVERF,
            count,
          }),
        P.decodeReaddirRes,
      );
      assert.equal(r.status, S.TOOSMALL, `count ${count}`);
      const p = await h.nfs(
        Proc.READDIRPLUS,
        (w) =>
          P.encodeReaddirplusArgs(w, {
            dir: d,
            cookie: 0n,
            cookieverf: NOVERF,
            dircount: 0,
            maxcount: count,
          }),
        P.decodeReaddirplusRes,
      );
      assert.equal(p.status, S.TOOSMALL, `maxcount ${count}`);
    }
    // dircount 0 is a hint: one entry still comes back.
    const one = await h.nfs(
      Proc.READDIRPLUS,
      (w) =>
        P.encodeReaddirplusArgs(w, {
          dir: d,
          cookie: 0n,
          cookieverf: NOVERF,
          dircount: 0,
          maxcount: 8192,
        }),
      P.decodeReaddirplusRes,
    );
    assert.equal(one.status, 0);
    assert.equal(one.entries!.length, 1);
    // A cookie stays good after other entries go, whatever the verifier.
    const first = await h.nfs(
      Proc.READDIR,
      (w) =>
        P.encodeReaddirArgs(w, {
          dir: d,
          cookie: 0n,
          cookieverf: NOVERF,
          count: 1024,
        }),
      P.decodeReaddirRes,
    );
    const last = first.entries!.at(-1)!;
    for (const e of first.entries!.slice(2, -1)) {
      const rm = await h.nfs(
        Proc.REMOVE,
        (w) => P.encodeDirOpArgs(w, { dir: d, name: e.name }),
        P.decodeWccRes,
      );
      assert.equal(rm.status, 0);
    }
    const next = await h.nfs(
      Proc.READDIR,
      (w) =>
        P.encodeReaddirArgs(w, {
          dir: d,
          cookie: last.cookie,
          cookieverf: new Uint8Array(8).fill(0xee),
          count: 1024,
        }),
      P.decodeReaddirRes,
    );
    assert.equal(next.status, 0);
    assert.ok(!next.entries!.some((e) => e.name === last.name));
    assert.ok(next.entries!.length > 0);
    // Resuming after "." and "..".
    const afterDot = await h.nfs(
      Proc.READDIR,
      (w) =>
        P.encodeReaddirArgs(w, {
          dir: d,
          cookie: 1n,
          cookieverf: NOVERF,
          count: 200,
        }),
      P.decodeReaddirRes,
    );
    assert.equal(afterDot.entries![0].name, "..");
    const notDir = await create(h, h.root, "file");
    const nd = await h.nfs(
      Proc.READDIR,
      (w) =>
        P.encodeReaddirArgs(w, {
          dir: notDir.object!,
          cookie: 0n,
          cookieverf: NOVERF,
          count: 4096,
        }),
      P.decodeReaddirRes,
    );
    assert.equal(nd.status, S.NOTDIR);
    assert.ok(nd.dirAttrs);
  } finally {
    await h.close();
  }
});
