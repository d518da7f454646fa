// NFSv3 CREATE's reply in process: the directory's wcc data is its
// attributes just before and just after the create, and a directory whose
// attributes cannot be read after the create leaves `after` out without
// failing the create.
import assert from "node:assert/strict";
import { CreateMode, Nfs3Proc } from "../../proto/nfs3.ts";
import { runProcedure } from "../../rpc/program.ts";
import { rootCall } from "./_call.ts";
import { ExportTable } from "../../server/exports.ts";
import { decodeHandle } from "../../server/handles.ts";
import { Nfs3Context } from "../../server/nfs3/context.ts";
import { createProcedures } from "../../server/nfs3/create.ts";
import { bindProcedure } from "../../server/nfs3/procedure.ts";
import { VfsError } from "../../vfs/errors.ts";
import { MemFs } from "../../vfs/memfs.ts";
import { PassthroughFs } from "../../vfs/passthrough.ts";
import {
  type Attributes,
  type Credentials,
  type FileId,
  ROOT,
} from "../../vfs/mod.ts";

const call = rootCall(100003, 3, Nfs3Proc.CREATE);

/** Counts getattr calls; from call `failFrom` on, fails them (or throws). */
class FailingGetattr extends PassthroughFs {
  calls = 0;
  failFrom = Infinity;
  sync = false;
  override getattr(cred: Credentials, id: FileId): Promise<Attributes> {
    if (++this.calls >= this.failFrom) {
      const e = new VfsError("EIO", "Injected getattr failure");
      if (this.sync) throw e;
      return Promise.reject(e);
    }
    return super.getattr(cred, id);
  }
}

function setup() {
  const mem = new MemFs({ clock: ticking() });
  const fs = new FailingGetattr(mem);
  const nfs = new Nfs3Context({
    exports: new ExportTable([{ path: "/", fs, squash: "none" }]),
  });
  const create = bindProcedure(nfs, createProcedures[Nfs3Proc.CREATE]);
  const dir = nfs.handle(nfs.table.exports[0], mem.root);
  const run = (name: string) =>
    Promise.resolve(runProcedure(create, {
      dir,
      name,
      mode: CreateMode.UNCHECKED,
      attrs: { mode: 0o644 },
    }, call));
  return { mem, fs, run };
}

/** A clock one second further at each reading: every change has its own time. */
function ticking() {
  let sec = 1_000_000;
  return () => ({ sec: sec++, nsec: 0 });
}

Deno.test("nfs3 CREATE: wcc data is the directory's attributes before and after", async () => {
  const { mem, run } = setup();
  await mem.create(ROOT, mem.root, "old");
  const before = await mem.getattr(ROOT, mem.root);
  const r = await run("new");
  const after = await mem.getattr(ROOT, mem.root);
  assert.equal(r.status, 0);
  assert.deepEqual(r.dirWcc.before, {
    size: before.size,
    mtime: before.mtime,
    ctime: before.ctime,
  });
  assert.equal(r.dirWcc.after.size, after.size);
  assert.deepEqual(r.dirWcc.after.mtime, after.mtime);
  assert.deepEqual(r.dirWcc.after.ctime, after.ctime);
  assert.equal(r.dirWcc.after.fileid, mem.root);
  assert.notDeepEqual(
    after.mtime,
    before.mtime,
    "the create changed the directory",
  );
  const made = await mem.lookup(ROOT, mem.root, "new");
  assert.equal(r.attrs.fileid, made.fileid);
  assert.equal(decodeHandle(r.object)?.fileid, made.fileid);
});

Deno.test("nfs3 CREATE: a directory unreadable after the create leaves wcc `after` out", async () => {
  for (const sync of [false, true]) {
    const { mem, fs, run } = setup();
    fs.sync = sync;
    fs.failFrom = 2; // the directory's getattr before succeeds, after fails
    const r = await run("new");
    assert.equal(r.status, 0, `created (${sync ? "thrown" : "rejected"})`);
    assert.ok(r.dirWcc.before);
    assert.equal(r.dirWcc.after, undefined);
    assert.equal(
      r.attrs.fileid,
      (await mem.lookup(ROOT, mem.root, "new")).fileid,
    );
  }
});
