import assert from "node:assert/strict";
import {
  CallbackFs,
  type Credentials,
  type FileSystem,
  MemFs,
  PerUserFs,
  ReadOnlyFs,
  ROOT,
  ShareAccess,
  ShareDeny,
} from "../../vfs/mod.ts";
import { bare, OPTIONAL, withRoot } from "./_bare.ts";
import { store, traced } from "./_store.ts";
import { conformance } from "./conformance.ts";

/**
 * A per-user view of one shared tree that checks it is only ever called
 * with the credentials it was made for, and counts closes.
 */
function view(shared: FileSystem, owner: Credentials, log: string[]) {
  return new Proxy(shared, {
    get(target, prop) {
      if (prop === "close") {
        return () => {
          log.push(`close ${owner.uid}`);
          return Promise.resolve();
        };
      }
      const v = Reflect.get(target, prop);
      if (typeof v !== "function") return v;
      return (cred: Credentials, ...rest: unknown[]) => {
        assert.equal(cred.uid, owner.uid, `call routed to the wrong user`);
        return v.call(target, cred, ...rest);
      };
    },
  });
}

conformance("per-user", async () => {
  const shared = new MemFs();
  const log: string[] = [];
  const fs = await PerUserFs.open((cred) => {
    log.push(`open ${cred.uid}`);
    return view(shared, cred, log);
  });
  return { fs, close: () => fs.close() };
}, {
  capacity: {
    bytes: 1 << 22,
    factory: async () => {
      const shared = new MemFs({ capacityBytes: 1 << 22 });
      const fs = await PerUserFs.open((cred) => view(shared, cred, []));
      return { fs, close: () => fs.close() };
    },
  },
});

conformance("per-user over callback", async () => {
  const shared = new CallbackFs(store());
  const fs = await PerUserFs.open((cred) => view(shared, cred, []));
  return { fs, close: () => fs.close() };
}, { mknod: false, hardLinks: false, sparse: false, openHooks: true });

conformance("per-user read-only", async () => {
  const shared = new MemFs();
  const fs = await PerUserFs.open(() =>
    new ReadOnlyFs(shared, { closeInner: false })
  );
  return { fs, setup: shared, close: () => fs.close() };
}, { readOnly: true });

Deno.test("per-user: one instance per uid/gid, created on first use, closed when idle", async () => {
  const shared = new MemFs({ rootMode: 0o777 });
  const log: string[] = [];
  const fs = await PerUserFs.open((cred) => {
    log.push(`open ${cred.uid}`);
    return view(shared, cred, log);
  }, { idleTimeoutMs: 30 });
  try {
    const alice = { uid: 1000, gid: 1000, groups: [] };
    const bob = { uid: 1001, gid: 1001, groups: [] };
    await Promise.all([
      fs.create(alice, fs.root, "a"),
      fs.getattr(alice, fs.root),
      fs.create(bob, fs.root, "b"),
    ]);
    assert.deepEqual(log.filter((l) => l.startsWith("open")).sort(), [
      "open 0",
      "open 1000",
      "open 1001",
    ]);
    assert.equal(fs.instances, 3);
    // Both users see one tree.
    assert.equal((await fs.lookup(bob, fs.root, "a")).uid, 1000);
    const deadline = Date.now() + 5000;
    while (fs.instances > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(fs.instances, 0, "idle instances closed");
    assert.ok(log.includes("close 1000") && log.includes("close 1001"));
    // Coming back makes a new instance.
    await fs.getattr(alice, fs.root);
    assert.equal(log.filter((l) => l === "open 1000").length, 2);
  } finally {
    await fs.close();
  }
});

Deno.test("per-user: instances that disagree on the root are refused", async () => {
  const fs = await PerUserFs.open((cred) =>
    cred.uid === 0 ? new MemFs() : new Proxy(new MemFs(), {
      get: (t, p) => p === "root" ? 99 : Reflect.get(t, p),
    })
  );
  try {
    await assert.rejects(
      fs.getattr({ uid: 5, gid: 5, groups: [] }, fs.root),
      { code: "EIO" },
    );
    await fs.getattr(ROOT, fs.root);
  } finally {
    await fs.close();
  }
});

Deno.test("per-user: a capability another caller's instance lacks answers ENOTSUP", async () => {
  const full = new MemFs();
  const fs = await PerUserFs.open((cred) =>
    cred.uid === 0 ? full : withRoot(bare(), full.root)
  );
  try {
    const user = { uid: 1000, gid: 1000, groups: [] };
    assert.ok("seek" in fs, "root's instance can seek");
    await assert.rejects(fs.seek!(user, fs.root, 0, "data"), {
      code: "ENOTSUP",
      message: "Operation not supported: seek",
    });
    await assert.rejects(fs.xattrs!.listxattrs(user, fs.root), {
      code: "ENOTSUP",
    });
  } finally {
    await fs.close();
  }
});

Deno.test("per-user: offers the optional capabilities of root's instance only", async () => {
  const none = await PerUserFs.open(() => bare());
  const all = await PerUserFs.open(() => new MemFs());
  try {
    for (const name of OPTIONAL) {
      assert.equal(name in none, false, `no ${name}`);
      assert.equal(name in all, true, `${name} offered`);
    }
    assert.equal(all.concurrency, "parallel");
  } finally {
    await none.close();
    await all.close();
  }
});

const ALICE = { uid: 1000, gid: 1000, groups: [] };
const BOB = { uid: 1001, gid: 1001, groups: [] };
const READ = { access: ShareAccess.Read, deny: ShareDeny.None } as const;

/** A traced CallbackFs with "/a" (mode 0o644, "abc"), and the log cleared. */
async function tracedShared(events: string[]): Promise<CallbackFs<string>> {
  const shared = new CallbackFs(traced(events));
  const a = await shared.create(ROOT, shared.root, "a");
  await shared.write(ROOT, a.fileid, 0, new TextEncoder().encode("abc"));
  await shared.close();
  events.length = 0;
  return shared;
}

Deno.test("per-user: offers open and release exactly when root's instance does", async () => {
  const none = await PerUserFs.open(() => new MemFs());
  const hooked = await PerUserFs.open(() => new CallbackFs(store()));
  try {
    assert.equal("open" in none, false);
    assert.equal("release" in none, false);
    assert.ok("open" in hooked && "release" in hooked);
  } finally {
    await none.close();
    await hooked.close();
  }
});

Deno.test("per-user: an open stays with its opener's instance; others' I/O under it goes to their own, without the context", async () => {
  const events: string[] = [];
  const shared = await tracedShared(events);
  const log: string[] = [];
  const fs = await PerUserFs.open((cred) => view(shared, cred, log));
  try {
    const a = await fs.lookup(ALICE, fs.root, "a");
    const ctx = await fs.open!(ALICE, a.fileid, READ);
    await fs.read(ALICE, a.fileid, 0, 3, ctx);
    await fs.read(BOB, a.fileid, 0, 3, ctx);
    // The view asserts that each instance only sees its own user.
    await fs.release!(BOB, a.fileid, ctx);
    assert.deepEqual(events, [
      "open /a #2 client access 1 deny 0",
      "read /a #2",
      "open /a #3 own access 1 deny 0",
      "read /a #3",
      "close /a #2",
    ], "Bob's read does not use Alice's open; release goes to Alice's");
  } finally {
    await fs.close();
  }
});

Deno.test("per-user: an instance with opens is not closed when idle", async () => {
  const events: string[] = [];
  const shared = await tracedShared(events);
  const log: string[] = [];
  const fs = await PerUserFs.open(
    (cred) => view(shared, cred, log),
    { idleTimeoutMs: 20 },
  );
  try {
    const a = await fs.lookup(ALICE, fs.root, "a");
    const ctx = await fs.open!(ALICE, a.fileid, READ);
    await new Promise((r) => setTimeout(r, 150));
    assert.ok(!log.includes("close 1000"), "kept while the open lasts");
    await fs.read(ALICE, a.fileid, 0, 1, ctx);
    await fs.release!(ALICE, a.fileid, ctx);
    const deadline = Date.now() + 5000;
    while (!log.includes("close 1000") && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(log.includes("close 1000"), "closed when idle after release");
  } finally {
    await fs.close();
  }
});

Deno.test("per-user: a caller whose instance has no open hook gets an open that is only noted", async () => {
  const events: string[] = [];
  const shared = await tracedShared(events);
  const noHooks = new Proxy(shared, {
    get: (t, p) => {
      if (p === "open" || p === "release") return undefined;
      const v = Reflect.get(t, p);
      return typeof v === "function" ? v.bind(t) : v;
    },
  });
  const fs = await PerUserFs.open((cred) => cred.uid === 0 ? shared : noHooks);
  try {
    const a = await fs.lookup(ALICE, fs.root, "a");
    const ctx = await fs.open!(ALICE, a.fileid, READ);
    await fs.read(ALICE, a.fileid, 0, 1, ctx);
    await fs.release!(ALICE, a.fileid, ctx);
    assert.deepEqual(events, [
      "open /a #2 own access 1 deny 0",
      "read /a #2",
    ], "no client open, the read goes through the adapter's own");
  } finally {
    await fs.close();
  }
});
