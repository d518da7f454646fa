// Nfs3Client against netfs's own NFSv3 server: every procedure, and each
// error status reported as itself.
import assert from "node:assert/strict";
import { NfsError } from "../../client/errors.ts";
import { Access3, CreateMode, Ftype3, StableHow } from "../../proto/nfs3.ts";
import type { MemFs } from "../../vfs/memfs.ts";
import { raw, serve } from "./_server.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const NOVERF = new Uint8Array(8);

/** A server and root's protocol clients, closed after `body`. */
async function withNfs(
  body: (
    c: Awaited<ReturnType<typeof raw>>,
    s: ReturnType<typeof serve>,
  ) => Promise<void>,
  fs?: MemFs,
): Promise<void> {
  const s = serve({ fs });
  const c = await raw(s);
  try {
    await body(c, s);
  } finally {
    await c.close();
    await s.close();
  }
}

function isNfsError(status: string, procedure: string, path = "") {
  return (e: unknown) =>
    e instanceof NfsError && e.statusName === status &&
    e.procedure === procedure && e.path === path;
}

Deno.test("nfs3: NULL answers and GETATTR describes the root", async () => {
  await withNfs(async ({ nfs, root }) => {
    await nfs.null();
    const a = await nfs.getattr(root);
    assert.equal(a.type, Ftype3.DIR);
    assert.ok(a.nlink >= 1, "the root has at least one link");
  });
});

Deno.test("nfs3: SETATTR changes mode and size, and a stale guard is NOT_SYNC", async () => {
  await withNfs(async ({ nfs, root }) => {
    const f = (await nfs.create({
      dir: root,
      name: "f",
      mode: CreateMode.UNCHECKED,
      attrs: { mode: 0o600 },
    })).object!;
    const wcc = await nfs.setattr({
      object: f,
      attrs: { mode: 0o640, size: 10 },
    });
    assert.equal(wcc.after?.mode, 0o640);
    assert.equal(wcc.after?.size, 10);
    await assert.rejects(
      nfs.setattr({
        object: f,
        attrs: { mode: 0o600 },
        guard: { sec: 1, nsec: 0 },
      }, { path: "/f" }),
      isNfsError("NFS3ERR_NOT_SYNC", "SETATTR", "/f"),
    );
  });
});

Deno.test("nfs3: LOOKUP finds a name, and a missing one is NOENT as NotFound", async () => {
  await withNfs(async ({ nfs, root }) => {
    await nfs.mkdir({ dir: root, name: "d", attrs: { mode: 0o755 } });
    const found = await nfs.lookup({ dir: root, name: "d" });
    assert.equal(found.objAttrs?.type, Ftype3.DIR);
    await assert.rejects(
      nfs.lookup({ dir: root, name: "nope" }, { path: "/nope" }),
      (e) =>
        e instanceof Deno.errors.NotFound &&
        isNfsError("NFS3ERR_NOENT", "LOOKUP", "/nope")(e),
    );
  });
});

Deno.test("nfs3: ACCESS grants the owner more than another uid", async () => {
  await withNfs(async ({ nfs, root }) => {
    const f = (await nfs.create({
      dir: root,
      name: "own",
      mode: CreateMode.UNCHECKED,
      attrs: { mode: 0o600 },
    })).object!;
    const all = Access3.READ | Access3.MODIFY | Access3.EXTEND;
    assert.equal((await nfs.access({ object: f, access: all })).access, all);
    const other = await nfs.access({ object: f, access: all }, {
      auth: { stamp: 0, machineName: "t", uid: 1000, gid: 1000, gids: [] },
    });
    assert.equal(other.access, 0, "mode 0600 grants nothing to others");
  });
});

Deno.test("nfs3: SYMLINK then READLINK returns the target", async () => {
  await withNfs(async ({ nfs, root }) => {
    await nfs.symlink({ dir: root, name: "l", attrs: {}, target: "a/b" });
    const l = await nfs.lookup({ dir: root, name: "l" });
    assert.equal((await nfs.readlink(l.object)).target, "a/b");
  });
});

Deno.test("nfs3: WRITE UNSTABLE, COMMIT with the same verifier, READ to eof", async () => {
  const verf = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);
  const s = serve({ writeVerifier: verf });
  const { nfs, root, close } = await raw(s);
  try {
    const file = (await nfs.create({
      dir: root,
      name: "w",
      mode: CreateMode.GUARDED,
      attrs: { mode: 0o644 },
    })).object!;
    const data = enc.encode("0123456789");
    const w = await nfs.write({
      file,
      offset: 0,
      count: data.length,
      stable: StableHow.UNSTABLE,
      data,
    });
    assert.equal(w.count, 10);
    assert.deepEqual(w.verf, verf);
    const c = await nfs.commit({ file, offset: 0, count: 0 });
    assert.deepEqual(c.verf, verf);
    const r = await nfs.read({ file, offset: 4, count: 100 });
    assert.equal(dec.decode(r.data), "456789");
    assert.equal(r.eof, true);
    const mid = await nfs.read({ file, offset: 0, count: 4 });
    assert.deepEqual([dec.decode(mid.data), mid.eof], ["0123", false]);
  } finally {
    await close();
    await s.close();
  }
});

Deno.test("nfs3: CREATE GUARDED on an existing name is EXIST as AlreadyExists", async () => {
  await withNfs(async ({ nfs, root }) => {
    const args = {
      dir: root,
      name: "x",
      mode: CreateMode.GUARDED,
      attrs: { mode: 0o644 },
    };
    await nfs.create(args);
    await assert.rejects(
      nfs.create(args, { path: "/x" }),
      (e) =>
        e instanceof Deno.errors.AlreadyExists &&
        isNfsError("NFS3ERR_EXIST", "CREATE", "/x")(e),
    );
  });
});

Deno.test("nfs3: CREATE EXCLUSIVE with the same verifier twice returns the file", async () => {
  await withNfs(async ({ nfs, root }) => {
    const verf = new Uint8Array([9, 9, 9, 9, 1, 2, 3, 4]);
    const args = { dir: root, name: "ex", mode: CreateMode.EXCLUSIVE, verf };
    const a = await nfs.create(args);
    const b = await nfs.create(args); // a retransmission, as RFC 1813 allows
    assert.deepEqual(a.object, b.object);
  });
});

Deno.test("nfs3: MKNOD makes a FIFO", async () => {
  await withNfs(async ({ nfs, root }) => {
    const r = await nfs.mknod({
      dir: root,
      name: "fifo",
      type: Ftype3.FIFO,
      attrs: { mode: 0o644 },
    });
    assert.equal(r.attrs?.type, Ftype3.FIFO);
  });
});

Deno.test("nfs3: RMDIR of a non-empty directory is NOTEMPTY, then REMOVE and RMDIR empty it", async () => {
  await withNfs(async ({ nfs, root }) => {
    const d = (await nfs.mkdir({ dir: root, name: "d", attrs: {} })).object!;
    await nfs.create({ dir: d, name: "f", mode: CreateMode.UNCHECKED });
    await assert.rejects(
      nfs.rmdir({ dir: root, name: "d" }, { path: "/d" }),
      isNfsError("NFS3ERR_NOTEMPTY", "RMDIR", "/d"),
    );
    const wcc = await nfs.remove({ dir: d, name: "f" });
    assert.ok(wcc.after, "REMOVE returns the directory's attributes");
    await nfs.rmdir({ dir: root, name: "d" });
    await assert.rejects(
      nfs.remove({ dir: root, name: "d" }, { path: "/d" }),
      isNfsError("NFS3ERR_NOENT", "REMOVE", "/d"),
    );
  });
});

Deno.test("nfs3: LOOKUP inside a file is NOTDIR as NotADirectory", async () => {
  await withNfs(async ({ nfs, root }) => {
    const f = (await nfs.create({
      dir: root,
      name: "file",
      mode: CreateMode.UNCHECKED,
    })).object!;
    await assert.rejects(
      nfs.lookup({ dir: f, name: "x" }, { path: "/file/x" }),
      (e) =>
        e instanceof Deno.errors.NotADirectory &&
        isNfsError("NFS3ERR_NOTDIR", "LOOKUP", "/file/x")(e),
    );
  });
});

Deno.test("nfs3: another uid is refused with ACCES as PermissionDenied", async () => {
  const s = serve();
  const rootc = await raw(s);
  const other = await raw(s, 1000);
  try {
    const d = (await rootc.nfs.mkdir({
      dir: rootc.root,
      name: "private",
      attrs: { mode: 0o700 },
    })).object!;
    await assert.rejects(
      other.nfs.create({ dir: d, name: "f", mode: CreateMode.UNCHECKED }, {
        path: "/private/f",
      }),
      (e) =>
        e instanceof Deno.errors.PermissionDenied &&
        isNfsError("NFS3ERR_ACCES", "CREATE", "/private/f")(e) &&
        (e as NfsError).code === "EACCES",
    );
  } finally {
    await rootc.close();
    await other.close();
    await s.close();
  }
});

Deno.test("nfs3: RENAME moves between directories and LINK adds a name", async () => {
  await withNfs(async ({ nfs, root }) => {
    const a = (await nfs.mkdir({ dir: root, name: "a", attrs: {} })).object!;
    const b = (await nfs.mkdir({ dir: root, name: "b", attrs: {} })).object!;
    const f = (await nfs.create({
      dir: a,
      name: "f",
      mode: CreateMode.UNCHECKED,
    })).object!;
    const moved = await nfs.rename({
      fromDir: a,
      fromName: "f",
      toDir: b,
      toName: "g",
    });
    assert.ok(moved.fromWcc && moved.toWcc);
    assert.deepEqual((await nfs.lookup({ dir: b, name: "g" })).object, f);
    const linked = await nfs.link({ file: f, dir: a, name: "again" });
    assert.equal(linked.attrs?.nlink, 2);
  });
});

Deno.test("nfs3: READDIR and READDIRPLUS page through a directory with cookies", async () => {
  await withNfs(async ({ nfs, root }) => {
    for (let i = 0; i < 50; i++) {
      await nfs.create({
        dir: root,
        name: `n${i}`,
        mode: CreateMode.UNCHECKED,
      });
    }
    for (const plus of [false, true]) {
      const names: string[] = [];
      let cookie = 0n;
      let cookieverf: Uint8Array = NOVERF;
      for (let pages = 0; pages < 100; pages++) {
        const page = plus
          ? await nfs.readdirplus({
            dir: root,
            cookie,
            cookieverf,
            dircount: 256,
            maxcount: 2048,
          })
          : await nfs.readdir({ dir: root, cookie, cookieverf, count: 512 });
        for (const e of page.entries) {
          if (e.name !== "." && e.name !== "..") names.push(e.name);
          if (plus && e.name.startsWith("n")) {
            assert.ok(e.handle && e.attrs, "READDIRPLUS carries both");
          }
          cookie = e.cookie;
        }
        cookieverf = page.cookieverf;
        if (page.eof) break;
      }
      assert.equal(names.length, 50, `${plus ? "READDIRPLUS" : "READDIR"}`);
      assert.equal(new Set(names).size, 50);
    }
  });
});

Deno.test("nfs3: FSSTAT, FSINFO and PATHCONF describe the file system", async () => {
  await withNfs(async ({ nfs, root }) => {
    const st = await nfs.fsstat(root);
    assert.ok(st.tbytes >= st.fbytes && st.fbytes >= st.abytes);
    const info = await nfs.fsinfo(root);
    assert.equal(info.rtmax, 1024 * 1024);
    assert.equal(info.wtmax, 1024 * 1024);
    const pc = await nfs.pathconf(root);
    assert.equal(pc.nameMax, 255);
    assert.equal(pc.noTrunc, true);
  });
});
