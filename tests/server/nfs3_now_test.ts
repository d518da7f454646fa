// NFSv3 rows answer at once from a file system's `now` (MemFs), in the turn
// the call was decoded in, and through the async calls where a subclass
// overrides one of the calls `now` mirrors.
import assert from "node:assert/strict";
import { CreateMode, Nfs3Proc, Nfs3Status } from "../../proto/nfs3.ts";
import { type Procedure, runProcedure } from "../../rpc/program.ts";
import { ExportTable } from "../../server/exports.ts";
import { attrProcedures } from "../../server/nfs3/attrs.ts";
import { Nfs3Context } from "../../server/nfs3/context.ts";
import { createProcedures } from "../../server/nfs3/create.ts";
import { lookupProcedures } from "../../server/nfs3/lookup.ts";
import { removeProcedures } from "../../server/nfs3/remove.ts";
import { bindProcedure } from "../../server/nfs3/procedure.ts";
import {
  type Attributes,
  type Credentials,
  type FileId,
  MemFs,
} from "../../vfs/mod.ts";
import { rootCall } from "./_call.ts";

function setup(fs: MemFs) {
  const nfs = new Nfs3Context({
    exports: new ExportTable([{ path: "/", fs, squash: "none" }]),
  });
  // Untyped: these rows' tables are `any` by procedure number.
  const bind = (rows: Record<number, any>, n: number): Procedure<any, any> =>
    bindProcedure(nfs, rows[n]);
  return {
    dir: nfs.handle(nfs.table.exports[0], fs.root),
    getattr: bind(attrProcedures, Nfs3Proc.GETATTR),
    lookup: bind(lookupProcedures, Nfs3Proc.LOOKUP),
    create: bind(createProcedures, Nfs3Proc.CREATE),
    remove: bind(removeProcedures, Nfs3Proc.REMOVE),
  };
}

Deno.test("nfs3 now: MemFs's GETATTR, LOOKUP, CREATE and REMOVE answer at once, failures included", async () => {
  const p = setup(new MemFs());
  const call = () => rootCall(100003, 3, 0);
  const created = p.create.run({
    dir: p.dir,
    name: "f",
    mode: CreateMode.GUARDED,
    attrs: { mode: 0o644 },
  }, call());
  assert.ok(!(created instanceof Promise), "CREATE answered at once");
  assert.equal(created.status, Nfs3Status.OK);
  assert.ok(created.dirWcc.before && created.dirWcc.after, "wcc both sides");
  const found = p.lookup.run({ dir: p.dir, name: "f" }, call());
  assert.ok(!(found instanceof Promise), "LOOKUP answered at once");
  assert.deepEqual(found.object, created.object);
  const absent = p.lookup.run({ dir: p.dir, name: "g" }, call());
  assert.equal(absent.status, Nfs3Status.NOENT);
  const attrs = p.getattr.run({ object: created.object }, call());
  assert.ok(!(attrs instanceof Promise), "GETATTR answered at once");
  assert.deepEqual(attrs.attrs, created.attrs);
  // A GUARDED create of a name that exists fails with the directory's wcc
  // data, from what `now` read before it failed.
  const again = await runProcedure(p.create, {
    dir: p.dir,
    name: "f",
    mode: CreateMode.GUARDED,
    attrs: {},
  }, call());
  assert.equal(again.status, Nfs3Status.EXIST);
  assert.ok(again.dirWcc?.before, "the wcc before of the failed create");
  // LOOKUP in a file: NOTDIR, with the attributes of the "directory".
  const notDir = await runProcedure(
    p.lookup,
    { dir: created.object, name: "x" },
    call(),
  );
  assert.equal(notDir.status, Nfs3Status.NOTDIR);
  assert.equal(notDir.dirAttrs?.fileid, attrs.attrs.fileid);
  const removed = p.remove.run({ dir: p.dir, name: "f" }, call());
  assert.ok(!(removed instanceof Promise), "REMOVE answered at once");
  assert.equal(removed.status, Nfs3Status.OK);
  assert.ok(removed.wcc.before && removed.wcc.after, "wcc both sides");
  const gone = await runProcedure(p.remove, { dir: p.dir, name: "f" }, call());
  assert.equal(gone.status, Nfs3Status.NOENT);
  assert.ok(gone.wcc?.before, "the wcc before of the failed remove");
});

Deno.test("nfs3 now: a MemFs subclass that overrides getattr is called through it", async () => {
  let calls = 0;
  class Counted extends MemFs {
    override getattr(cred: Credentials, id: FileId): Promise<Attributes> {
      calls++;
      return super.getattr(cred, id);
    }
  }
  const p = setup(new Counted());
  const res = p.getattr.run({ object: p.dir }, rootCall(100003, 3, 1));
  assert.ok(res instanceof Promise, "the async path");
  assert.equal((await res).status, Nfs3Status.OK);
  const made = await runProcedure(p.create, {
    dir: p.dir,
    name: "f",
    mode: CreateMode.UNCHECKED,
    attrs: {},
  }, rootCall(100003, 3, 8));
  assert.equal(made.status, Nfs3Status.OK);
  assert.equal(calls, 3, "GETATTR, and CREATE's directory before and after");
});
