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
import { ioProcedures } from "../../server/nfs3/io.ts";
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
    read: bind(ioProcedures, Nfs3Proc.READ),
    write: bind(ioProcedures, Nfs3Proc.WRITE),
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

Deno.test("nfs3 now: MemFs's READ and WRITE answer at once; their failures keep their attributes", async () => {
  const p = setup(new MemFs());
  const call = () => rootCall(100003, 3, 0);
  const made = await runProcedure(p.create, {
    dir: p.dir,
    name: "f",
    mode: CreateMode.UNCHECKED,
    attrs: { mode: 0o644 },
  }, call());
  const file = made.object!;
  const data = new TextEncoder().encode("hello");
  const wrote = p.write.run(
    { file, offset: 3, count: 5, stable: 2, data },
    call(),
  );
  assert.ok(!(wrote instanceof Promise), "WRITE answered at once");
  assert.equal(wrote.status, Nfs3Status.OK);
  assert.equal(wrote.count, 5);
  assert.equal(wrote.wcc.before?.size, 0);
  assert.equal(wrote.wcc.after?.size, 8);
  const read = p.read.run({ file, offset: 0, count: 100 }, call());
  assert.ok(!(read instanceof Promise), "READ answered at once");
  assert.equal(read.status, Nfs3Status.OK);
  assert.deepEqual([...read.data], [0, 0, 0, ...data]);
  assert.equal(read.eof, true);
  assert.equal(read.attrs.size, 8);
  // Both on a directory: the failure carries the directory's attributes.
  const readDir = await runProcedure(
    p.read,
    { file: p.dir, offset: 0, count: 4 },
    call(),
  );
  assert.equal(readDir.status, Nfs3Status.ISDIR);
  assert.equal(readDir.attrs?.type, 2);
  const writeDir = await runProcedure(
    p.write,
    { file: p.dir, offset: 0, count: 5, stable: 2, data },
    call(),
  );
  assert.equal(writeDir.status, Nfs3Status.ISDIR);
  assert.ok(writeDir.wcc?.before && writeDir.wcc.after, "wcc both sides");
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
