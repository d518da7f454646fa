// `find` on file systems that lack it (the servers' fallback) and through
// wrappers: undefined exactly where `lookup` answers ENOENT.
import assert from "node:assert/strict";
import {
  type Attributes,
  type Credentials,
  type FileId,
  MemFs,
  PassthroughFs,
  ROOT,
  VfsError,
} from "../../vfs/mod.ts";
import { findName } from "../../vfs/_find.ts";
import { withoutFind } from "./_bare.ts";

const USER: Credentials = { uid: 1000, gid: 1000, groups: [] };

Deno.test("findName: without find, lookup answers; ENOENT is undefined, other errors stay", async () => {
  const inner = new MemFs();
  const fs = withoutFind(inner);
  assert.equal(fs.find, undefined);
  const f = await fs.create(ROOT, fs.root, "f");
  const priv = await fs.mkdir(ROOT, fs.root, "priv", { mode: 0o700 });
  assert.equal((await findName(fs, ROOT, fs.root, "f"))?.fileid, f.fileid);
  assert.equal(await findName(fs, ROOT, fs.root, "absent"), undefined);
  await assert.rejects(findName(fs, ROOT, f.fileid, "x"), { code: "ENOTDIR" });
  await assert.rejects(findName(fs, USER, priv.fileid, "x"), {
    code: "EACCES",
  });
});

Deno.test("passthrough: find is offered exactly when the wrapped file system has it", () => {
  assert.equal("find" in new PassthroughFs(new MemFs()), true);
  assert.equal("find" in new PassthroughFs(withoutFind(new MemFs())), false);
});

Deno.test("passthrough: a subclass that changes lookup decides what find finds", async () => {
  class Hiding extends PassthroughFs {
    override lookup(
      cred: Credentials,
      dir: FileId,
      name: string,
    ): Promise<Attributes> {
      if (name.startsWith(".")) {
        return Promise.reject(new VfsError("ENOENT", `Hidden: ${name}`));
      }
      if (name === "locked") {
        return Promise.reject(new VfsError("EACCES", `Locked: ${name}`));
      }
      return super.lookup(cred, dir, name);
    }
  }
  const inner = new MemFs();
  await inner.create(ROOT, inner.root, ".secret");
  await inner.create(ROOT, inner.root, "locked");
  const shown = await inner.create(ROOT, inner.root, "shown");
  const fs = new Hiding(inner);
  assert.ok(await inner.find(ROOT, inner.root, ".secret"), "inner has it");
  assert.equal(await fs.find!(ROOT, fs.root, ".secret"), undefined);
  await assert.rejects(fs.find!(ROOT, fs.root, "locked"), { code: "EACCES" });
  assert.equal((await fs.find!(ROOT, fs.root, "shown"))?.fileid, shown.fileid);
  assert.equal(await fs.find!(ROOT, fs.root, "absent"), undefined);
});

Deno.test("findName: a back end's subclass that changes lookup is asked through lookup, not the inherited find", async () => {
  const asked: string[] = [];
  class Hiding extends MemFs {
    override lookup(
      cred: Credentials,
      dir: FileId,
      name: string,
    ): Promise<Attributes> {
      asked.push(name);
      if (name.startsWith(".")) {
        return Promise.reject(new VfsError("ENOENT", `Hidden: ${name}`));
      }
      return super.lookup(cred, dir, name);
    }
  }
  const fs = new Hiding();
  await fs.create(ROOT, fs.root, ".secret");
  const shown = await fs.create(ROOT, fs.root, "shown");
  assert.ok(await fs.find(ROOT, fs.root, ".secret"), "MemFs's own find");
  assert.equal(await findName(fs, ROOT, fs.root, ".secret"), undefined);
  assert.equal(
    (await findName(fs, ROOT, fs.root, "shown"))?.fileid,
    shown.fileid,
  );
  assert.deepEqual(asked, [".secret", "shown"], "both went through lookup");
  // A subclass that leaves lookup alone keeps the fast path.
  class Plain extends MemFs {}
  const plain = new Plain();
  await plain.create(ROOT, plain.root, "x");
  const before = asked.length;
  assert.ok(await findName(plain, ROOT, plain.root, "x"));
  assert.equal(asked.length, before);
});
