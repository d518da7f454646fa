// The NFSv3 adapter around a row's run: handle resolution before it, the
// error mapping after it, and what `fail` is given.
import assert from "node:assert/strict";
import { Nfs3Status as S } from "../../proto/nfs3.ts";
import { type CallContext, runProcedure } from "../../rpc/program.ts";
import { ExportTable } from "../../server/exports.ts";
import { encodeHandle } from "../../server/handles.ts";
import { Nfs3Context, type Target } from "../../server/nfs3/context.ts";
import {
  bindProcedure,
  type Nfs3Procedure,
} from "../../server/nfs3/procedure.ts";
import { VfsError } from "../../vfs/errors.ts";
import { MemFs } from "../../vfs/memfs.ts";

interface Args {
  fh: Uint8Array;
  fh2: Uint8Array;
}
interface Res {
  status: number;
  note?: string;
}

const call = {
  xid: 1,
  program: 100003,
  version: 3,
  procedure: 1,
  auth: { flavor: 0 },
  remote: { transport: "tcp", hostname: "127.0.0.1", port: 700 },
  local: { transport: "tcp", hostname: "127.0.0.1", port: 2049 },
  connectionId: 1,
} satisfies CallContext;

function setup() {
  const fs = new MemFs();
  const logs: string[] = [];
  const nfs = new Nfs3Context({
    exports: new ExportTable([{ path: "/", fs }]),
    log: (m) => void logs.push(m),
  });
  const root = nfs.handle(nfs.table.exports[0], fs.root);
  return { nfs, logs, root };
}

function row(
  run: Nfs3Procedure<Args, Res>["run"],
  extra: Partial<Nfs3Procedure<Args, Res>> = {},
): Nfs3Procedure<Args, Res> {
  return {
    name: "TEST",
    decode: () => ({ fh: new Uint8Array(0), fh2: new Uint8Array(0) }),
    encode: () => {},
    fh: (a) => a.fh,
    run,
    ...extra,
  };
}

Deno.test("nfs3 procedure: an unresolvable handle is answered without running", async () => {
  const { nfs, root } = setup();
  let ran = false;
  const proc = bindProcedure(
    nfs,
    row(() => {
      ran = true;
      return Promise.resolve({ status: 0 });
    }),
  );
  const garbage = new Uint8Array([1, 2, 3]);
  assert.deepEqual(await runProcedure(proc, { fh: garbage, fh2: root }, call), {
    status: S.BADHANDLE,
  });
  // Another server instance's handle: a good checksum, another verifier.
  const exp = nfs.table.exports[0];
  const stale = encodeHandle({
    exportId: exp.id,
    verifier: exp.verifier.map((b) => b ^ 0xff),
    fileid: exp.root,
  });
  assert.deepEqual(await runProcedure(proc, { fh: stale, fh2: root }, call), {
    status: S.STALE,
  });
  assert.equal(ran, false, "run never ran");
});

Deno.test("nfs3 procedure: run gets the target; its throw is mapped once and handed to fail", async () => {
  const { nfs, logs, root } = setup();
  const seen: [number, Target][] = [];
  const proc = bindProcedure(
    nfs,
    row(async (_a, t) => {
      t.pre = await nfs.attrs(t);
      throw new VfsError("ENOTEMPTY", "Not empty: d");
    }, {
      fail: (status, t) => {
        seen.push([status, t]);
        return { status, note: "from fail" };
      },
    }),
  );
  const res = await runProcedure(proc, { fh: root, fh2: root }, call);
  assert.deepEqual(res, { status: S.NOTEMPTY, note: "from fail" });
  const [[status, t]] = seen;
  assert.equal(status, S.NOTEMPTY);
  assert.equal(t.id, nfs.table.exports[0].root, "the resolved file id");
  assert.equal((await t.pre)?.type, 2, "what run put in pre reaches fail");
  assert.deepEqual(logs, [], "a VfsError is not logged");
});

Deno.test("nfs3 procedure: a plain exception is SERVERFAULT, logged with the name", async () => {
  const { nfs, logs, root } = setup();
  const proc = bindProcedure(
    nfs,
    row(() => {
      throw new TypeError("oops");
    }),
  );
  assert.deepEqual(await runProcedure(proc, { fh: root, fh2: root }, call), {
    status: S.SERVERFAULT,
  });
  assert.equal(logs.length, 1);
  assert.match(
    logs[0],
    /^NFS3 TEST failed, answering SERVERFAULT: TypeError: oops/,
  );
});

Deno.test("nfs3 procedure: a second handle that does not resolve goes to fail without a second target", async () => {
  const { nfs, root } = setup();
  const seen: (Target | undefined)[] = [];
  const proc = bindProcedure(
    nfs,
    row((_a, _t, _nfs, second) => {
      seen.push(second);
      return Promise.resolve({ status: 0 });
    }, {
      fh2: (a) => a.fh2,
      fail: (status, _t, _nfs, second) => {
        seen.push(second);
        return { status, note: "second" };
      },
    }),
  );
  assert.deepEqual(
    await runProcedure(proc, { fh: root, fh2: new Uint8Array(2) }, call),
    { status: S.BADHANDLE, note: "second" },
  );
  assert.equal(seen.length, 1);
  assert.equal(seen[0], undefined, "fail gets no second target");
  assert.deepEqual(await runProcedure(proc, { fh: root, fh2: root }, call), {
    status: 0,
  });
  assert.equal(seen[1]?.id, nfs.table.exports[0].root, "run gets it resolved");
});

Deno.test("nfs3 procedure: a fail that rejects fails the call once, whether run threw or rejected", async () => {
  const { nfs, root } = setup();
  for (const sync of [true, false]) {
    let fails = 0;
    const proc = bindProcedure(
      nfs,
      row(() => {
        const e = new VfsError("EIO", "Injected");
        if (sync) throw e;
        return Promise.reject(e);
      }, {
        fail: () => {
          fails++;
          return Promise.reject(new TypeError("fail failed"));
        },
      }),
    );
    await assert.rejects(
      Promise.resolve(runProcedure(proc, { fh: root, fh2: root }, call)),
      TypeError,
      "fail's error is the call's (SYSTEM_ERR from the server)",
    );
    assert.equal(
      fails,
      1,
      `fail ran once (run ${sync ? "threw" : "rejected"})`,
    );
  }
});
