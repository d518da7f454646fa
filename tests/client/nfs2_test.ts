// Nfs2Client against netfs's own NFSv2 server: every procedure, each
// error status reported as itself, and replies that do not decode.
import assert from "node:assert/strict";
import { NfsError, NfsProtocolError } from "../../client/errors.ts";
import { Nfs2Client, nfs2StatusName, UNSET_SATTR } from "../../client/nfs2.ts";
import {
  encode_fattr,
  ftype,
  NFS_PROGRAM,
  NFS_VERSION,
  NFSPROC_GETATTR,
  NFSPROC_READ,
} from "../../proto/nfs2/mod.ts";
import { type Procedure, procedure } from "../../rpc/program.ts";
import { serveRpc } from "../../rpc/server.ts";
import { XdrError, type XdrWriter } from "../../rpc/xdr.ts";
import { FILE_FATTR } from "./_data.ts";
import { type Raw, raw2, serve } from "./_server.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

type Raw2 = Raw<Nfs2Client>;

/** A version 2 server and root's protocol clients, closed after `body`. */
async function withNfs2(
  body: (c: Raw2, s: ReturnType<typeof serve>) => Promise<void>,
): Promise<void> {
  const s = serve({ versions: [2] });
  const c = await raw2(s);
  try {
    await body(c, s);
  } finally {
    await c.close();
    await s.close();
  }
}

function isNfs2Error(status: string, procedure: string, path = "") {
  return (e: unknown) =>
    e instanceof NfsError && e.version === 2 && e.statusName === status &&
    e.procedure === procedure && e.path === path;
}

const mode = (m: number) => ({ ...UNSET_SATTR, mode: m });

async function file(c: Raw2, name: string, data = "") {
  const made = await c.nfs.create({
    where: { dir: c.root, name },
    attributes: mode(0o644),
  });
  if (data !== "") {
    await c.nfs.write({
      file: made.file,
      beginoffset: 0,
      offset: 0,
      totalcount: 0,
      data: enc.encode(data),
    });
  }
  return made.file;
}

Deno.test("nfs2: NULL, ROOT and WRITECACHE answer nothing", async () => {
  await withNfs2(async ({ nfs }) => {
    await nfs.null();
    await nfs.root();
    await nfs.writecache();
  });
});

Deno.test("nfs2: GETATTR describes the root; a handle from nowhere is STALE", async () => {
  await withNfs2(async ({ nfs, root }) => {
    const a = await nfs.getattr(root);
    assert.equal(a.type, ftype.NFDIR);
    assert.equal(a.mode & 0o170000, 0o040000, "mode carries the type bits");
    await assert.rejects(
      nfs.getattr(new Uint8Array(32).fill(7), { path: "/gone" }),
      isNfs2Error("NFSERR_STALE", "GETATTR", "/gone"),
    );
  });
});

Deno.test("nfs2: a handle that is not 32 bytes is refused before it is sent", async () => {
  await withNfs2(async ({ nfs }) => {
    await assert.rejects(nfs.getattr(new Uint8Array(64)), XdrError);
  });
});

Deno.test("nfs2: SETATTR changes what it sets and keeps UNSET fields", async () => {
  await withNfs2(async (c) => {
    const f = await file(c, "f", "0123456789");
    const before = await c.nfs.getattr(f);
    const after = await c.nfs.setattr({
      file: f,
      attributes: { ...UNSET_SATTR, mode: 0o600, size: 4 },
    });
    assert.equal(after.mode & 0o7777, 0o600);
    assert.equal(after.size, 4);
    assert.equal(after.uid, before.uid, "uid unset, unchanged");
    const timed = await c.nfs.setattr({
      file: f,
      attributes: {
        ...UNSET_SATTR,
        mtime: { seconds: 1_000_000, useconds: 250_000 },
      },
    });
    assert.deepEqual(timed.mtime, { seconds: 1_000_000, useconds: 250_000 });
  });
});

Deno.test("nfs2: LOOKUP finds a name; a missing one is NOENT as NotFound, one in a file NOTDIR", async () => {
  await withNfs2(async (c) => {
    const f = await file(c, "f");
    const found = await c.nfs.lookup({ dir: c.root, name: "f" });
    assert.deepEqual(found.file, f);
    assert.equal(found.attributes.type, ftype.NFREG);
    await assert.rejects(
      c.nfs.lookup({ dir: c.root, name: "nope" }, { path: "/nope" }),
      (e) =>
        e instanceof Deno.errors.NotFound &&
        isNfs2Error("NFSERR_NOENT", "LOOKUP", "/nope")(e) &&
        (e as NfsError).message ===
          "No such file or directory (NFSERR_NOENT from LOOKUP): /nope",
    );
    await assert.rejects(
      c.nfs.lookup({ dir: f, name: "x" }, { path: "/f/x" }),
      (e) =>
        e instanceof Deno.errors.NotADirectory &&
        isNfs2Error("NFSERR_NOTDIR", "LOOKUP", "/f/x")(e),
    );
  });
});

Deno.test("nfs2: SYMLINK makes a link READLINK reads; an existing name is EXIST", async () => {
  await withNfs2(async ({ nfs, root }) => {
    const args = {
      from: { dir: root, name: "l" },
      to: "target/path",
      attributes: mode(0o777),
    };
    await nfs.symlink(args);
    const l = await nfs.lookup({ dir: root, name: "l" });
    assert.equal(l.attributes.type, ftype.NFLNK);
    assert.equal(await nfs.readlink(l.file), "target/path");
    await assert.rejects(
      nfs.symlink(args, { path: "/l" }),
      (e) =>
        e instanceof Deno.errors.AlreadyExists &&
        isNfs2Error("NFSERR_EXIST", "SYMLINK", "/l")(e),
    );
  });
});

Deno.test("nfs2: READ returns data with the attributes; a directory is ISDIR", async () => {
  await withNfs2(async (c) => {
    const f = await file(c, "f", "hello world");
    const r = await c.nfs.read({
      file: f,
      offset: 6,
      count: 100,
      totalcount: 0,
    });
    assert.equal(dec.decode(r.data), "world");
    assert.equal(r.attributes.size, 11);
    const past = await c.nfs.read({
      file: f,
      offset: 50,
      count: 10,
      totalcount: 0,
    });
    assert.equal(past.data.byteLength, 0, "past the end: nothing");
    await assert.rejects(
      c.nfs.read({ file: c.root, offset: 0, count: 10, totalcount: 0 }, {
        path: "/",
      }),
      (e) =>
        e instanceof Deno.errors.IsADirectory &&
        isNfs2Error("NFSERR_ISDIR", "READ", "/")(e),
    );
  });
});

Deno.test("nfs2: WRITE stores the data and answers the new size; 8193 bytes are refused unsent", async () => {
  await withNfs2(async (c) => {
    const f = await file(c, "f");
    const data = new Uint8Array(8192).fill(3);
    const a = await c.nfs.write({
      file: f,
      beginoffset: 0,
      offset: 100,
      totalcount: 0,
      data,
    });
    assert.equal(a.size, 8292);
    const r = await c.nfs.read({
      file: f,
      offset: 0,
      count: 8192,
      totalcount: 0,
    });
    assert.equal(r.data[99], 0, "the hole reads as zeros");
    assert.equal(r.data[100], 3);
    await assert.rejects(
      c.nfs.write({
        file: f,
        beginoffset: 0,
        offset: 0,
        totalcount: 0,
        data: new Uint8Array(8193),
      }),
      XdrError,
    );
  });
});

Deno.test("nfs2: CREATE makes a file, and opens an existing one (size 0 truncates)", async () => {
  await withNfs2(async (c) => {
    const f = await file(c, "f", "content");
    const again = await c.nfs.create({
      where: { dir: c.root, name: "f" },
      attributes: mode(0o644),
    });
    assert.deepEqual(again.file, f, "the same file");
    assert.equal(again.attributes.size, 7, "no size: kept");
    const cut = await c.nfs.create({
      where: { dir: c.root, name: "f" },
      attributes: { ...mode(0o644), size: 0 },
    });
    assert.equal(cut.attributes.size, 0);
    await assert.rejects(
      c.nfs.create({ where: { dir: f, name: "x" }, attributes: mode(0o644) }, {
        path: "/f/x",
      }),
      isNfs2Error("NFSERR_NOTDIR", "CREATE", "/f/x"),
    );
  });
});

Deno.test("nfs2: MKDIR makes a directory; an existing name is EXIST", async () => {
  await withNfs2(async ({ nfs, root }) => {
    const d = await nfs.mkdir({
      where: { dir: root, name: "d" },
      attributes: mode(0o755),
    });
    assert.equal(d.attributes.type, ftype.NFDIR);
    assert.equal(d.attributes.mode & 0o7777, 0o755);
    await assert.rejects(
      nfs.mkdir({ where: { dir: root, name: "d" }, attributes: mode(0o755) }, {
        path: "/d",
      }),
      (e) =>
        e instanceof Deno.errors.AlreadyExists &&
        isNfs2Error("NFSERR_EXIST", "MKDIR", "/d")(e),
    );
  });
});

Deno.test("nfs2: REMOVE takes a name away; a missing one is NOENT", async () => {
  await withNfs2(async (c) => {
    await file(c, "f");
    await c.nfs.remove({ dir: c.root, name: "f" });
    await assert.rejects(
      c.nfs.lookup({ dir: c.root, name: "f" }),
      Deno.errors.NotFound,
    );
    await assert.rejects(
      c.nfs.remove({ dir: c.root, name: "f" }, { path: "/f" }),
      isNfs2Error("NFSERR_NOENT", "REMOVE", "/f"),
    );
  });
});

Deno.test("nfs2: RMDIR of a non-empty directory is NOTEMPTY, of a file NOTDIR", async () => {
  await withNfs2(async (c) => {
    const d = await c.nfs.mkdir({
      where: { dir: c.root, name: "d" },
      attributes: mode(0o755),
    });
    await c.nfs.create({
      where: { dir: d.file, name: "inside" },
      attributes: mode(0o644),
    });
    await assert.rejects(
      c.nfs.rmdir({ dir: c.root, name: "d" }, { path: "/d" }),
      (e) =>
        isNfs2Error("NFSERR_NOTEMPTY", "RMDIR", "/d")(e) &&
        (e as NfsError).code === "ENOTEMPTY",
    );
    await c.nfs.remove({ dir: d.file, name: "inside" });
    await c.nfs.rmdir({ dir: c.root, name: "d" });
    await file(c, "f");
    await assert.rejects(
      c.nfs.rmdir({ dir: c.root, name: "f" }, { path: "/f" }),
      isNfs2Error("NFSERR_NOTDIR", "RMDIR", "/f"),
    );
  });
});

Deno.test("nfs2: RENAME moves between directories; LINK adds a name; an existing link target is EXIST", async () => {
  await withNfs2(async (c) => {
    const a = await c.nfs.mkdir({
      where: { dir: c.root, name: "a" },
      attributes: mode(0o755),
    });
    const f = await file(c, "f");
    await c.nfs.rename({
      from: { dir: c.root, name: "f" },
      to: { dir: a.file, name: "g" },
    });
    const g = await c.nfs.lookup({ dir: a.file, name: "g" });
    assert.deepEqual(g.file, f);
    await c.nfs.link({ from: f, to: { dir: c.root, name: "again" } });
    assert.equal((await c.nfs.getattr(f)).nlink, 2);
    await assert.rejects(
      c.nfs.link({ from: f, to: { dir: c.root, name: "again" } }, {
        path: "/again",
      }),
      isNfs2Error("NFSERR_EXIST", "LINK", "/again"),
    );
    await assert.rejects(
      c.nfs.rename({
        from: { dir: c.root, name: "missing" },
        to: { dir: c.root, name: "x" },
      }, { path: "/missing" }),
      isNfs2Error("NFSERR_NOENT", "RENAME", "/missing"),
    );
  });
});

Deno.test("nfs2: READDIR pages through a directory with 4-byte cookies", async () => {
  await withNfs2(async (c) => {
    for (let i = 0; i < 100; i++) {
      await c.nfs.create({
        where: { dir: c.root, name: `n${i}` },
        attributes: mode(0o644),
      });
    }
    const names: string[] = [];
    let cookie: Uint8Array = new Uint8Array(4);
    let pages = 0;
    for (; pages < 100; pages++) {
      const page = await c.nfs.readdir({ dir: c.root, cookie, count: 512 });
      for (const e of page.entries) {
        assert.equal(e.cookie.byteLength, 4);
        if (e.name !== "." && e.name !== "..") names.push(e.name);
        cookie = e.cookie;
      }
      if (page.eof) break;
    }
    assert.ok(pages > 1, "512 bytes hold fewer than 100 entries");
    assert.equal(names.length, 100);
    assert.equal(new Set(names).size, 100, "each name once");
    await assert.rejects(
      c.nfs.readdir({ dir: new Uint8Array(32).fill(9), cookie, count: 512 }),
      isNfs2Error("NFSERR_STALE", "READDIR"),
    );
  });
});

Deno.test("nfs2: STATFS reports blocks of bsize bytes", async () => {
  await withNfs2(async ({ nfs, root }) => {
    const s = await nfs.statfs(root);
    assert.ok(s.bsize > 0 && s.tsize > 0);
    assert.ok(s.blocks >= s.bfree && s.bfree >= s.bavail);
  });
});

Deno.test("nfs2: another uid is ACCES as PermissionDenied", async () => {
  const s = serve({ versions: [2] });
  const rootc = await raw2(s);
  const other = await raw2(s, 1000);
  try {
    await rootc.nfs.mkdir({
      where: { dir: rootc.root, name: "private" },
      attributes: mode(0o700),
    });
    const p = await other.nfs.lookup({ dir: other.root, name: "private" });
    await assert.rejects(
      other.nfs.create({
        where: { dir: p.file, name: "f" },
        attributes: mode(0o644),
      }, { path: "/private/f" }),
      (e) =>
        e instanceof Deno.errors.PermissionDenied &&
        isNfs2Error("NFSERR_ACCES", "CREATE", "/private/f")(e) &&
        (e as NfsError).code === "EACCES",
    );
  } finally {
    await rootc.close();
    await other.close();
    await s.close();
  }
});

Deno.test("nfs2: status names, and a number RFC 1094 does not list", () => {
  assert.equal(nfs2StatusName(0), "NFS_OK");
  assert.equal(nfs2StatusName(70), "NFSERR_STALE");
  assert.equal(nfs2StatusName(10008), "nfsstat 10008");
});

/**
 * An NFSv2 server of one procedure that answers `body` after an NFS_OK
 * status, and the client connected to it.
 */
async function lying(
  proc: number,
  body: (w: XdrWriter) => void,
  body2: (nfs: Nfs2Client) => Promise<unknown>,
): Promise<void> {
  const run: Procedure<void, void> = procedure({
    name: "LIE",
    run: () => {},
    encode: (w) => {
      w.u32(0);
      body(w);
    },
  });
  const server = serveRpc({
    port: 0,
    log: () => {},
    programs: [{
      program: NFS_PROGRAM,
      version: NFS_VERSION,
      name: "nfs",
      procedures: { [proc]: run },
    }],
  });
  const nfs = await Nfs2Client.connect({
    hostname: "127.0.0.1",
    port: server.addr.port,
  });
  try {
    await body2(nfs);
  } finally {
    nfs.close();
    await nfs.rpc.closed;
    await server.shutdown();
  }
}

Deno.test("nfs2: attributes cut short are an NfsProtocolError naming the procedure", async () => {
  await lying(NFSPROC_GETATTR, (w) => w.u32(1).u32(0o644), async (nfs) => {
    await assert.rejects(
      nfs.getattr(new Uint8Array(32)),
      (e) =>
        e instanceof NfsProtocolError && e.procedure === "GETATTR" &&
        /fattr/.test(e.message),
    );
  });
});

Deno.test("nfs2: READ data beyond the count, or beyond NFS_MAXDATA, is an NfsProtocolError", async () => {
  const cases = [
    {
      length: 100,
      data: true,
      error: /^Malformed READ reply: 100 bytes returned, 10 asked for$/,
    },
    // A length no reply can hold is refused before anything is allocated.
    { length: 0x7fffffff, data: false, error: /exceeds maximum 8192/ },
  ];
  for (const c of cases) {
    await lying(NFSPROC_READ, (w) => {
      encode_fattr(w, FILE_FATTR);
      if (c.data) w.opaque(new Uint8Array(c.length));
      else w.u32(c.length);
    }, async (nfs) => {
      await assert.rejects(
        nfs.read({
          file: new Uint8Array(32),
          offset: 0,
          count: 10,
          totalcount: 0,
        }),
        (e) => e instanceof NfsProtocolError && c.error.test(e.message),
        `length ${c.length}`,
      );
    });
  }
});
