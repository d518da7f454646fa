// FileSystem.now: MemFs's synchronous getattr, find, create, remove, read and
// write answer as
// its async calls do, wrappers do not offer it, and `nowOf` (what the NFS
// servers ask) refuses it where a subclass overrides a call it mirrors.
import assert from "node:assert/strict";
import {
  type Attributes,
  type CreateOptions,
  type Credentials,
  type FileId,
  MemFs,
  PassthroughFs,
  ROOT,
} from "../../vfs/mod.ts";
import { nowOf } from "../../vfs/_find.ts";

const USER: Credentials = { uid: 1000, gid: 1000, groups: [] };

/** What a call gives: its result, or its error's code. */
async function outcome<T>(f: () => T | Promise<T>): Promise<T | string> {
  try {
    return await f();
  } catch (e) {
    return `error ${(e as { code?: string }).code}`;
  }
}

Deno.test("MemFs now: the same results and errors as the async calls", async () => {
  // Two file systems with clocks that tick alike take the same steps, one
  // through `now` and one through the async calls; every answer must agree.
  const ticking = () => {
    let tick = 0;
    return () => ({ sec: 1_000_000 + tick++, nsec: 0 });
  };
  const a = new MemFs({ clock: ticking() });
  const b = new MemFs({ clock: ticking() });
  const now = a.now;
  const steps: [string, () => unknown, () => Promise<unknown>][] = [];
  const create = (c: Credentials, name: string, o?: CreateOptions) =>
    steps.push([
      `create ${name}`,
      () => now.create(c, a.root, name, o),
      () => b.create(c, b.root, name, o),
    ]);
  const find = (c: Credentials, dir: FileId, name: string) =>
    steps.push([
      `find ${name}`,
      () => now.find(c, dir, name),
      () => b.find(c, dir, name),
    ]);
  create(ROOT, "f", { attrs: { mode: 0o600, size: 5 } });
  create(ROOT, "f"); // opens the existing file
  create(ROOT, "f", { exclusive: true }); // EEXIST
  create(ROOT, "f", { attrs: { size: 2 } }); // truncates it
  create(USER, "g"); // EACCES: root's directory
  create(ROOT, "bad/name"); // EINVAL
  create(ROOT, "x".repeat(256)); // ENAMETOOLONG
  find(ROOT, a.root, "f");
  find(ROOT, a.root, "absent");
  find(ROOT, a.root, ".");
  find(ROOT, 999, "f"); // ESTALE
  const remove = (c: Credentials, name: string) =>
    steps.push([
      `remove ${name}`,
      () => now.remove(c, a.root, name),
      () => b.remove(c, b.root, name),
    ]);
  steps.push([
    "mkdir d",
    () => a.mkdir(ROOT, a.root, "d"),
    () => b.mkdir(ROOT, b.root, "d"),
  ]);
  // Data, both ways, on the file "f" (each side's own, found when the step
  // runs) or the root directory.
  const idOf = (fs: MemFs, what: string) =>
    what === "f" ? fs.now.find(ROOT, fs.root, "f")!.fileid : fs.root;
  const bytes = new TextEncoder().encode("hello, world");
  const write = (c: Credentials, offset: number) =>
    steps.push([
      `write at ${offset}`,
      () => now.write(c, idOf(a, "f"), offset, bytes),
      () => b.write(c, idOf(b, "f"), offset, bytes),
    ]);
  const read = (what: string, offset: number, length: number) =>
    steps.push([
      `read ${what} ${offset}+${length}`,
      () => now.read(ROOT, idOf(a, what), offset, length),
      () => b.read(ROOT, idOf(b, what), offset, length),
    ]);
  write(ROOT, 0);
  write(ROOT, 1 << 20); // past a chunk: a hole between
  write(ROOT, 0.5); // EINVAL
  write(ROOT, Number.MAX_SAFE_INTEGER - 4); // EFBIG
  write(USER, 0); // EACCES: mode 0600, root's
  read("f", 0, 5);
  read("f", (1 << 20) - 2, 6); // across a chunk's end, the hole's zeros
  read("f", 2 << 20, 4); // past the end: eof
  read("f", -1, 4); // EINVAL
  read("root", 0, 4); // EISDIR
  remove(USER, "f"); // EACCES
  remove(ROOT, "d"); // EISDIR
  remove(ROOT, "f");
  remove(ROOT, "f"); // ENOENT
  find(ROOT, a.root, "f");
  steps.push([
    "getattr",
    () => now.getattr(ROOT, a.root),
    () => b.getattr(ROOT, b.root),
  ]);
  steps.push([
    "getattr gone",
    () => now.getattr(ROOT, 999),
    () => b.getattr(ROOT, 999),
  ]);
  const seen = new Set<string>();
  for (const [what, sync, async] of steps) {
    const got = await outcome(sync);
    assert.deepEqual(got, await outcome(async), what);
    seen.add(typeof got === "string" ? got : "ok");
  }
  assert.deepEqual(
    [...seen].sort(),
    [
      "error EACCES",
      "error EEXIST",
      "error EFBIG",
      "error EINVAL",
      "error EISDIR",
      "error ENAMETOOLONG",
      "error ENOENT",
      "error ESTALE",
      "ok",
    ],
    "the steps reach every outcome they mean to",
  );
  // `now` throws rather than returning a rejected promise.
  assert.throws(() => now.getattr(ROOT, 999), { code: "ESTALE" });
});

Deno.test("nowOf: MemFs and its plain subclasses; not wrappers, not a subclass that overrides a mirrored call", async () => {
  const mem = new MemFs();
  assert.equal(nowOf(mem), mem.now);
  class Plain extends MemFs {}
  const plain = new Plain();
  assert.equal(nowOf(plain), plain.now, "a subclass that changes nothing");
  assert.equal(nowOf(new PassthroughFs(mem)), undefined, "a wrapper");
  assert.equal("now" in new PassthroughFs(mem), false);
  class Counted extends MemFs {
    calls = 0;
    override getattr(cred: Credentials, id: FileId): Promise<Attributes> {
      this.calls++;
      return super.getattr(cred, id);
    }
  }
  const counted = new Counted();
  assert.ok(counted.now, "it still has the getter");
  assert.equal(nowOf(counted), undefined, "but its getattr must be called");
  class Hiding extends MemFs {
    override lookup(
      cred: Credentials,
      dir: FileId,
      name: string,
    ): Promise<Attributes> {
      return super.lookup(cred, dir, name);
    }
  }
  assert.equal(nowOf(new Hiding()), undefined, "lookup overridden");
  class Creating extends MemFs {
    override create(
      cred: Credentials,
      dir: FileId,
      name: string,
      options?: CreateOptions,
    ): Promise<Attributes> {
      return super.create(cred, dir, name, options);
    }
  }
  assert.equal(nowOf(new Creating()), undefined, "create overridden");
  class Removing extends MemFs {
    override remove(cred: Credentials, dir: FileId, name: string) {
      return super.remove(cred, dir, name);
    }
  }
  assert.equal(nowOf(new Removing()), undefined, "remove overridden");
  class Reading extends MemFs {
    override read(cred: Credentials, id: FileId, offset: number, n: number) {
      return super.read(cred, id, offset, n);
    }
  }
  assert.equal(nowOf(new Reading()), undefined, "read overridden");
  class Writing extends MemFs {
    override write(
      cred: Credentials,
      id: FileId,
      offset: number,
      data: Uint8Array,
    ) {
      return super.write(cred, id, offset, data);
    }
  }
  assert.equal(nowOf(new Writing()), undefined, "write overridden");
  // An instance's own property counts as an override too.
  const patched = new MemFs();
  Object.defineProperty(patched, "find", {
    value: () => Promise.resolve(undefined),
  });
  assert.equal(nowOf(patched), undefined, "find set on the instance");
  // Also when it is set after the server first asked.
  const later = new MemFs();
  assert.equal(nowOf(later), later.now);
  Object.defineProperty(later, "getattr", {
    value: () => Promise.reject(new Error("patched")),
  });
  assert.equal(nowOf(later), undefined, "getattr set after the first ask");
  assert.equal(
    await counted.getattr(ROOT, counted.root).then(() => counted.calls),
    1,
  );
});
