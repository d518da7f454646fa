import assert from "node:assert/strict";
import {
  CallbackFs,
  type Credentials,
  type FileId,
  type FileSystem,
  MemFs,
  PassthroughFs,
  ROOT,
  ShareAccess,
  ShareDeny,
} from "../../vfs/mod.ts";
import { bare, OPTIONAL } from "./_bare.ts";
import { store, traced } from "./_store.ts";
import { conformance } from "./conformance.ts";

conformance("passthrough", () => {
  const fs = new PassthroughFs(new MemFs());
  return Promise.resolve({ fs, close: () => fs.close() });
});

conformance("passthrough over callback", () => {
  const fs = new PassthroughFs(new CallbackFs(store()));
  return Promise.resolve({ fs, close: () => fs.close() });
}, { mknod: false, hardLinks: false, sparse: false, openHooks: true });

Deno.test("passthrough: offers each optional capability exactly when the wrapped file system does", () => {
  const none = bare();
  const all = new MemFs();
  for (const name of OPTIONAL) {
    assert.equal(name in none, false, `the bare file system has no ${name}`);
    assert.equal(name in all, true, `MemFs has ${name}`);
    assert.equal(name in new PassthroughFs(none), false, `no ${name} to pass`);
    assert.equal(
      name in new PassthroughFs(all),
      true,
      `${name} passes through`,
    );
  }
});

Deno.test("passthrough: root, limits and concurrency are the wrapped file system's", () => {
  const inner = new MemFs();
  const fs = new PassthroughFs(inner);
  assert.equal(fs.root, inner.root);
  assert.equal(fs.limits, inner.limits);
  assert.equal(fs.concurrency, "parallel");
  const undeclared = new PassthroughFs(
    new Proxy(bare(), {
      get: (t, p) => p === "concurrency" ? undefined : Reflect.get(t, p),
    }),
  );
  assert.equal("concurrency" in undeclared, false, "nothing to declare");
});

Deno.test("passthrough: every call goes through forward, optional ones included", async () => {
  const seen: string[] = [];
  class Logged extends PassthroughFs {
    protected override forward<T>(
      cred: Credentials,
      op: (fs: FileSystem) => Promise<T>,
    ): Promise<T> {
      seen.push(`uid ${cred.uid}`);
      return super.forward(cred, op);
    }
  }
  const inner = new MemFs();
  const fs = new Logged(inner);
  const f = await fs.create(ROOT, fs.root, "f");
  await fs.allocate!(ROOT, f.fileid, 0, 4096);
  await fs.xattrs!.setxattr(ROOT, f.fileid, "user.k", new Uint8Array([1]));
  assert.deepEqual(seen, ["uid 0", "uid 0", "uid 0"]);
  assert.deepEqual(
    await inner.xattrs.getxattr(ROOT, f.fileid, "user.k"),
    new Uint8Array([1]),
  );
});

Deno.test("passthrough: replaceCapability changes a capability only where the wrapped one has it", async () => {
  class NoCopies extends PassthroughFs {
    constructor(fs: FileSystem) {
      super(fs);
      this.replaceCapability("copy", () => Promise.resolve(-1));
    }
  }
  assert.equal("copy" in new NoCopies(bare()), false);
  const fs = new NoCopies(new MemFs());
  assert.equal(
    await fs.copy!(ROOT, 0 as FileId, 0 as FileId, {
      srcOffset: 0,
      dstOffset: 0,
      length: 1,
    }),
    -1,
  );
});

Deno.test("passthrough: declaring an optional capability as a method is refused", () => {
  class Dishonest extends PassthroughFs {
    override allocate(): Promise<void> {
      return Promise.resolve();
    }
  }
  assert.throws(
    () => new Dishonest(bare()),
    {
      name: "TypeError",
      message:
        "Optional capability declared as a method, use replaceCapability: allocate",
    },
  );
});

Deno.test("passthrough: offers open and release exactly when the wrapped file system does", () => {
  for (const inner of [bare(), new MemFs()]) {
    const fs = new PassthroughFs(inner);
    assert.equal("open" in fs, false, "nothing to pass");
    assert.equal("release" in fs, false, "nothing to pass");
  }
  const fs = new PassthroughFs(new CallbackFs(store()));
  assert.ok("open" in fs && "release" in fs, "the hooks pass through");
});

Deno.test("passthrough: open, release and the context of read and write reach the wrapped file system, through forward", async () => {
  const events: string[] = [];
  const seen: number[] = [];
  class Logged extends PassthroughFs {
    protected override forward<T>(
      cred: Credentials,
      op: (fs: FileSystem) => Promise<T>,
    ): Promise<T> {
      seen.push(cred.uid);
      return super.forward(cred, op);
    }
  }
  const fs = new Logged(new CallbackFs(traced(events)));
  const a = await fs.create(ROOT, fs.root, "a");
  const ctx = await fs.open!(ROOT, a.fileid, {
    access: ShareAccess.Both,
    deny: ShareDeny.Read,
  });
  await fs.write(ROOT, a.fileid, 0, new Uint8Array([1]), "unstable", ctx);
  await fs.read(ROOT, a.fileid, 0, 1, ctx);
  await fs.release!(ROOT, a.fileid, ctx);
  assert.deepEqual(events, [
    "open /a #1 client access 3 deny 1",
    "write /a #1",
    "read /a #1",
    "close /a #1",
  ]);
  assert.equal(seen.length, 5, "create, open, write, read, release");
});
