import assert from "node:assert/strict";
import { CallbackFs } from "../../vfs/callback.ts";
import {
  FileType,
  ROOT,
  ShareAccess,
  ShareDeny,
  VfsError,
} from "../../vfs/mod.ts";
import { bare } from "./_bare.ts";
import { store, traced } from "./_store.ts";
import { conformance } from "./conformance.ts";

conformance(
  "callback",
  () =>
    Promise.resolve({
      fs: new CallbackFs(store()),
      close: () => Promise.resolve(),
    }),
  { mknod: false, hardLinks: false, sparse: false, openHooks: true },
);

Deno.test("callback: open contexts are reused, closed on eviction and close()", async () => {
  const events: string[] = [];
  const fs = new CallbackFs(store(events), { openFiles: 2 });
  const ids = [];
  for (const n of ["a", "b", "c"]) {
    const f = await fs.create(ROOT, fs.root, n);
    await fs.write(ROOT, f.fileid, 0, new TextEncoder().encode(n));
    ids.push(f.fileid);
  }
  for (let i = 0; i < 5; i++) await fs.read(ROOT, ids[2], 0, 1);
  assert.equal(events.filter((e) => e === "open /c rw").length, 1);
  assert.ok(events.includes("close /a"), "evicted when over the limit");
  await fs.write(ROOT, ids[2], 0, new Uint8Array([1]), "file");
  assert.ok(events.includes("commit /c"));
  await fs.close();
  assert.ok(events.includes("close /c"));
});

Deno.test("callback: FileIds follow renames, hard links through createLink", async () => {
  const fs = new CallbackFs(store());
  const d = await fs.mkdir(ROOT, fs.root, "d");
  const sub = await fs.mkdir(ROOT, d.fileid, "sub");
  const f = await fs.create(ROOT, sub.fileid, "f");
  await fs.write(ROOT, f.fileid, 0, new TextEncoder().encode("x"));
  await fs.rename(ROOT, fs.root, "d", fs.root, "e");
  // The FileId of a file inside the moved directory still works.
  assert.equal(
    new TextDecoder().decode((await fs.read(ROOT, f.fileid, 0, 9)).data),
    "x",
  );
  assert.equal((await fs.lookup(ROOT, d.fileid, "sub")).fileid, sub.fileid);
  const l = await fs.link(ROOT, f.fileid, fs.root, "hard");
  assert.equal(l.nlink, 2);
  assert.equal((await fs.getattr(ROOT, f.fileid)).nlink, 2);
  await fs.remove(ROOT, sub.fileid, "f");
  assert.equal((await fs.getattr(ROOT, l.fileid)).nlink, 1);
  await assert.rejects(fs.getattr(ROOT, f.fileid), { code: "ESTALE" });
});

Deno.test("callback: readDir stops when the page is full", async () => {
  let calls = 0;
  const handlers = store();
  const fs = new CallbackFs({
    ...handlers,
    readDir(path, fill, ctx) {
      return handlers.readDir(path, (name) => {
        calls++;
        return fill(name);
      }, ctx);
    },
  });
  for (let i = 0; i < 100; i++) await fs.create(ROOT, fs.root, `f${i}`);
  calls = 0;
  const page = await fs.readdir(ROOT, fs.root, { limit: 10 });
  assert.equal(page.entries.length, 10);
  assert.equal(page.eof, false);
  assert.ok(calls <= 11, `fill called ${calls} times`);
});

Deno.test("callback: missing handlers answer ENOTSUP, handler crashes EIO", async () => {
  const fs = new CallbackFs({
    getAttr: (p) =>
      p === "/"
        ? { type: FileType.Directory, mode: 0o777 }
        : p === "/boom"
        ? { type: FileType.Regular, size: 5 }
        : undefined,
    readDir: (_p, fill) => {
      fill("boom");
    },
    read: () => {
      throw new Error("disk on fire");
    },
  });
  await assert.rejects(fs.create(ROOT, fs.root, "x"), { code: "ENOTSUP" });
  await assert.rejects(fs.mkdir(ROOT, fs.root, "x"), { code: "ENOTSUP" });
  const b = await fs.lookup(ROOT, fs.root, "boom");
  await assert.rejects(fs.read(ROOT, b.fileid, 0, 5), { code: "EIO" });
  await assert.rejects(fs.write(ROOT, b.fileid, 0, new Uint8Array(1)), {
    code: "ENOTSUP",
  });
});

/** A traced CallbackFs with one file "/a" holding "abc". */
async function withFile(events: string[], openFiles?: number) {
  const fs = new CallbackFs(traced(events), { openFiles });
  const a = await fs.create(ROOT, fs.root, "a");
  await fs.write(ROOT, a.fileid, 0, new TextEncoder().encode("abc"));
  events.length = 0;
  return { fs, id: a.fileid, open: fs.open!, release: fs.release! };
}

const READ = { access: ShareAccess.Read, deny: ShareDeny.None } as const;
const BOTH = { access: ShareAccess.Both, deny: ShareDeny.None } as const;

Deno.test("callback: a client's open is open, then I/O with its context, then one close", async () => {
  const events: string[] = [];
  const { fs, id, open, release } = await withFile(events);
  const ctx = await open(ROOT, id, {
    access: ShareAccess.Both,
    deny: ShareDeny.Write,
  });
  await fs.read(ROOT, id, 0, 3, ctx);
  await fs.write(ROOT, id, 3, new Uint8Array([100]), "unstable", ctx);
  await fs.read(ROOT, id, 0, 4, ctx);
  await release(ROOT, id, ctx);
  assert.deepEqual(events, [
    "open /a #2 client access 3 deny 2",
    "read /a #2",
    "write /a #2",
    "read /a #2",
    "close /a #2",
  ], "the context is the handler's, the adapter's own open is not used");
  await fs.close();
  assert.deepEqual(
    events.slice(5),
    ["close /a #1"],
    "close() closes the adapter's own open, not the released one again",
  );
});

Deno.test("callback: the open handler gets every share access and deny combination, the owner and created", async () => {
  const seen: unknown[] = [];
  const fs = new CallbackFs({
    ...store(),
    open: (_path, options) => void seen.push(options),
  });
  const a = await fs.create(ROOT, fs.root, "a");
  for (const access of [1, 2, 3] as const) {
    for (const deny of [0, 1, 2, 3] as const) {
      seen.length = 0;
      const ctx = await fs.open!(ROOT, a.fileid, {
        access,
        deny,
        created: deny === 3,
        owner: `owner ${access}.${deny}`,
      });
      assert.deepEqual(seen, [{
        access,
        deny,
        created: deny === 3,
        owner: `owner ${access}.${deny}`,
        write: access !== 1,
        client: true,
      }], `access ${access} deny ${deny} reach the handler`);
      await fs.release!(ROOT, a.fileid, ctx);
    }
  }
});

Deno.test("callback: I/O without a client's context opens the adapter's own, access Both or Read, deny None", async () => {
  const events: string[] = [];
  const fs = new CallbackFs(traced(events));
  const a = await fs.create(ROOT, fs.root, "a");
  await fs.write(ROOT, a.fileid, 0, new Uint8Array([1]));
  await fs.read(ROOT, a.fileid, 0, 1);
  await fs.close();
  await fs.read(ROOT, a.fileid, 0, 1);
  await fs.close();
  assert.deepEqual(events, [
    "open /a #1 own access 3 deny 0",
    "write /a #1",
    "read /a #1",
    "close /a #1",
    "open /a #2 own access 1 deny 0",
    "read /a #2",
    "close /a #2",
  ]);
});

Deno.test("callback: a failing open handler fails the open and leaves nothing to close", async () => {
  const events: string[] = [];
  const h = traced(events);
  const fs = new CallbackFs({
    ...h,
    open: (path, o, ctx) => {
      if (o.client) throw new VfsError("EBUSY", `Busy: ${path}`);
      return h.open!(path, o, ctx);
    },
  });
  const a = await fs.create(ROOT, fs.root, "a");
  await assert.rejects(fs.open!(ROOT, a.fileid, READ), { code: "EBUSY" });
  await fs.close();
  assert.deepEqual(events.filter((e) => e.startsWith("close")), []);
});

Deno.test("callback: release closes once; a context not made for the file is refused", async () => {
  const events: string[] = [];
  const { fs, id, open, release } = await withFile(events);
  const other = await fs.create(ROOT, fs.root, "other");
  const ctx = await open(ROOT, id, READ);
  await assert.rejects(release(ROOT, other.fileid, ctx), { code: "EINVAL" });
  await assert.rejects(release(ROOT, id, { forged: true }), {
    code: "EINVAL",
    message: `Not an open of this file: ${id}`,
  });
  const elsewhere = new CallbackFs(traced([]));
  await assert.rejects(elsewhere.release!(ROOT, id, ctx), { code: "EINVAL" });
  await release(ROOT, id, ctx);
  await release(ROOT, id, ctx);
  assert.equal(events.filter((e) => e.startsWith("close")).length, 1);
  events.length = 0;
  await fs.read(ROOT, id, 0, 1, ctx);
  assert.deepEqual(events, ["read /a #1"], "a released context is ignored");
});

Deno.test("callback: close() closes the clients' opens still there, release after it closes nothing", async () => {
  const events: string[] = [];
  const { fs, id, open, release } = await withFile(events);
  const ctx = await open(ROOT, id, BOTH);
  await fs.close();
  assert.deepEqual(events.filter((e) => e.startsWith("close")).sort(), [
    "close /a #1",
    "close /a #2",
  ]);
  await release(ROOT, id, ctx);
  assert.equal(events.filter((e) => e.startsWith("close")).length, 2);
});

Deno.test("callback: a client's open outlives eviction and removal, and is closed at release", async () => {
  const events: string[] = [];
  const { fs, id, open, release } = await withFile(events, 1);
  const ctx = await open(ROOT, id, READ);
  for (const n of ["b", "c"]) {
    const f = await fs.create(ROOT, fs.root, n);
    await fs.write(ROOT, f.fileid, 0, new Uint8Array([1]));
  }
  assert.ok(events.includes("close /a #1"), "the adapter's own open evicted");
  assert.ok(!events.includes("close /a #2"), "the client's open is not");
  await fs.remove(ROOT, fs.root, "a");
  assert.ok(!events.includes("close /a #2"), "nor removed with the file");
  await release(ROOT, id, ctx);
  assert.ok(events.includes("close /a #2"), "release closes it");
  await fs.close();
});

Deno.test("callback: COMMIT commits every client's open for writing", async () => {
  const events: string[] = [];
  const { fs, id, open, release } = await withFile(events);
  await fs.close();
  const w = await open(ROOT, id, BOTH);
  const r = await open(ROOT, id, READ);
  await fs.write(ROOT, id, 0, new Uint8Array([1]), "unstable", w);
  events.length = 0;
  await fs.commit(ROOT, id);
  assert.deepEqual(events, ["commit /a #2"], "the writer, not the reader");
  await release(ROOT, id, w);
  await release(ROOT, id, r);
});

Deno.test("callback: open and release are offered only with an open or close handler", () => {
  assert.equal("open" in bare(), false);
  assert.equal("release" in bare(), false);
  const { open: _o, close: _c, ...rest } = store();
  assert.equal("open" in new CallbackFs(rest), false);
  for (
    const h of [{ ...rest, open: () => ({ path: "" }) }, {
      ...rest,
      close: () => {},
    }]
  ) {
    const fs = new CallbackFs(h);
    assert.ok("open" in fs && "release" in fs);
  }
});
