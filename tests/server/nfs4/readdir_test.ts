import assert from "node:assert/strict";
import {
  bitmapOf,
  type COMPOUND4res,
  decodeFattr4,
  entry4Size,
  FATTR4,
  type nfs_argop4,
  nfs_opnum4 as OP,
  type READDIR4resok,
} from "../../../proto/nfs4/mod.ts";
import { VfsError } from "../../../vfs/errors.ts";
import { MemFs } from "../../../vfs/memfs.ts";
import {
  type Credentials,
  type FileId,
  FileType,
  type ReaddirOptions,
  type ReaddirResult,
  ROOT,
} from "../../../vfs/types.ts";
import { nfsstat4, resultOf, start4 } from "./_harness.ts";
import { bits, dec, fhIn, walk } from "./_fsops.ts";

function readdir(
  cookie: bigint,
  maxcount: number,
  attrs: number[] = bits("type", "fileid"),
  dircount = 0,
): nfs_argop4 {
  return {
    argop: OP.OP_READDIR,
    opreaddir: {
      cookie,
      cookieverf: new Uint8Array(8),
      dircount,
      maxcount,
      attr_request: attrs,
    },
  };
}

function resokOf(res: COMPOUND4res): READDIR4resok {
  const r = resultOf(res, OP.OP_READDIR).opreaddir;
  if (r.status !== nfsstat4.NFS4_OK) {
    throw new Error(`READDIR ${r.status}`);
  }
  return r.resok4;
}

function sizeOf(ok: READDIR4resok): number {
  return ok.reply.entries.reduce((n, e) => n + entry4Size(e), 16);
}

Deno.test("READDIR: entries with their attributes, cookies past 2, eof", async () => {
  const h = await start4();
  try {
    const d = await h.fs.mkdir(ROOT, h.fs.root, "d");
    await h.fs.create(ROOT, h.fs.root, "f");
    const res = await h.compound([
      { argop: OP.OP_PUTROOTFH },
      readdir(0n, 8192, bits("type", "fileid", "rdattr_error")),
    ]);
    const ok = resokOf(res);
    assert.equal(ok.reply.eof, true);
    const got = ok.reply.entries.map((e) => ({
      name: dec.decode(e.name),
      cookieOk: e.cookie > 2n,
      ...decodeFattr4(e.attrs),
    }));
    got.sort((a, b) => a.name.localeCompare(b.name));
    assert.deepEqual(got.map((g) => [g.name, g.type, g.cookieOk]), [
      ["d", FileType.Directory, true],
      ["f", FileType.Regular, true],
    ]);
    assert.equal(got[0].fileid, d.fileid);
    assert.equal(got[0].rdattr_error, nfsstat4.NFS4_OK);
  } finally {
    await h.close();
  }
});

Deno.test("READDIR: 10,000 entries paged exactly, none lost or repeated", async () => {
  const h = await start4();
  try {
    const dir = await h.fs.mkdir(ROOT, h.fs.root, "big");
    const N = 10_000;
    for (let i = 0; i < N; i++) {
      await h.fs.create(ROOT, dir.fileid, `file-${String(i).padStart(5, "0")}`);
    }
    const fh = fhIn(await h.compound([...walk("big"), { argop: OP.OP_GETFH }]));
    const maxcount = 4096;
    const attrs = bits("type", "fileid", "size", "mode");
    const seen = new Set<string>();
    let cookie = 0n;
    let previous: READDIR4resok | undefined;
    let pages = 0;
    for (; pages < N; pages++) {
      const res = await h.compound([
        { argop: OP.OP_PUTFH, opputfh: { object: fh } },
        readdir(cookie, maxcount, attrs),
      ]);
      const ok = resokOf(res);
      const entries = ok.reply.entries;
      assert.ok(sizeOf(ok) <= maxcount, `page ${pages} fits maxcount`);
      if (previous !== undefined) {
        assert.ok(
          sizeOf(previous) + entry4Size(entries[0]) > maxcount,
          `page ${pages - 1} was full: the next entry would not have fitted`,
        );
      }
      for (const e of entries) {
        const name = dec.decode(e.name);
        assert.ok(!seen.has(name), `${name} listed once`);
        seen.add(name);
      }
      if (ok.reply.eof) break;
      assert.ok(entries.length > 0);
      cookie = entries[entries.length - 1].cookie;
      previous = ok;
    }
    assert.equal(seen.size, N, "every entry listed");
    assert.ok(pages > 50, `${pages} pages`);
  } finally {
    await h.close();
  }
});

Deno.test("READDIR: dircount bounds the names and cookies of a page", async () => {
  const h = await start4();
  try {
    for (let i = 0; i < 20; i++) await h.fs.create(ROOT, h.fs.root, `n${i}`);
    // Each entry counts cookie (8) + name length (4) + padded name (4).
    const res = await h.compound([
      { argop: OP.OP_PUTROOTFH },
      readdir(0n, 65536, bits("type"), 16 * 5),
    ]);
    const ok = resokOf(res);
    assert.equal(ok.reply.entries.length, 5);
    assert.equal(ok.reply.eof, false);
    const one = await h.compound([
      { argop: OP.OP_PUTROOTFH },
      readdir(0n, 65536, bits("type"), 1),
    ]);
    assert.equal(
      resokOf(one).reply.entries.length,
      1,
      "the first entry is always taken",
    );
  } finally {
    await h.close();
  }
});

Deno.test("READDIR: cookies 1 and 2 are BAD_COOKIE", async () => {
  const h = await start4();
  try {
    for (const cookie of [1n, 2n]) {
      const res = await h.compound([
        { argop: OP.OP_PUTROOTFH },
        readdir(cookie, 4096),
      ]);
      assert.equal(res.status, nfsstat4.NFS4ERR_BAD_COOKIE, `cookie ${cookie}`);
    }
  } finally {
    await h.close();
  }
});

Deno.test("READDIR: a verifier is not checked", async () => {
  const h = await start4();
  try {
    await h.fs.create(ROOT, h.fs.root, "a");
    await h.fs.create(ROOT, h.fs.root, "b");
    const first = resokOf(
      await h.compound([{ argop: OP.OP_PUTROOTFH }, readdir(0n, 4096, [], 16)]),
    );
    const a = first.reply.entries[0];
    const op = readdir(a.cookie, 4096, []);
    if (op.argop === OP.OP_READDIR) {
      op.opreaddir.cookieverf = new Uint8Array(8).fill(9);
    }
    const rest = resokOf(await h.compound([{ argop: OP.OP_PUTROOTFH }, op]));
    assert.equal(rest.reply.entries.length, 1);
    assert.notEqual(dec.decode(rest.reply.entries[0].name), dec.decode(a.name));
  } finally {
    await h.close();
  }
});

Deno.test("READDIR: a maxcount too small for one entry is TOOSMALL", async () => {
  const h = await start4();
  try {
    await h.fs.create(ROOT, h.fs.root, "some-long-name");
    for (const maxcount of [0, 15, 40]) {
      const res = await h.compound([
        { argop: OP.OP_PUTROOTFH },
        readdir(0n, maxcount),
      ]);
      assert.equal(
        res.status,
        nfsstat4.NFS4ERR_TOOSMALL,
        `maxcount ${maxcount}`,
      );
    }
  } finally {
    await h.close();
  }
});

Deno.test("READDIR: an empty directory fits in 16 bytes", async () => {
  const h = await start4();
  try {
    await h.fs.mkdir(ROOT, h.fs.root, "e");
    const ok = resokOf(await h.compound([...walk("e"), readdir(0n, 16)]));
    assert.deepEqual(ok.reply, { entries: [], eof: true });
  } finally {
    await h.close();
  }
});

Deno.test("READDIR: a file is NOTDIR", async () => {
  const h = await start4();
  try {
    await h.fs.create(ROOT, h.fs.root, "f");
    const res = await h.compound([...walk("f"), readdir(0n, 4096)]);
    assert.equal(res.status, nfsstat4.NFS4ERR_NOTDIR);
  } finally {
    await h.close();
  }
});

Deno.test("READDIR: a write-only attribute is INVAL", async () => {
  const h = await start4();
  try {
    const res = await h.compound([
      { argop: OP.OP_PUTROOTFH },
      readdir(0n, 4096, bits("type", "time_access_set")),
    ]);
    assert.equal(res.status, nfsstat4.NFS4ERR_INVAL);
  } finally {
    await h.close();
  }
});

/** A MemFs whose one "ghost" object cannot be read. */
class GhostFs extends MemFs {
  ghost: FileId = -1;
  override getattr(cred: Credentials, id: FileId) {
    if (id === this.ghost) {
      return Promise.reject(new VfsError("ESTALE", "Stale: ghost"));
    }
    return super.getattr(cred, id);
  }
  override async readdir(
    cred: Credentials,
    dir: FileId,
    options?: ReaddirOptions,
  ): Promise<ReaddirResult> {
    return await super.readdir(cred, dir, {
      ...options,
      withAttributes: false,
    });
  }
}

Deno.test("READDIR: an unreadable entry carries rdattr_error when asked", async () => {
  const fs = new GhostFs();
  const h = await start4({ fs });
  try {
    await fs.create(ROOT, fs.root, "ok");
    fs.ghost = (await fs.create(ROOT, fs.root, "ghost")).fileid;
    const res = await h.compound([
      { argop: OP.OP_PUTROOTFH },
      readdir(0n, 4096, bits("type", "rdattr_error")),
    ]);
    const ok = resokOf(res);
    const byName = new Map(
      ok.reply.entries.map((e) => [dec.decode(e.name), e.attrs]),
    );
    assert.deepEqual(decodeFattr4(byName.get("ghost")!), {
      rdattr_error: nfsstat4.NFS4ERR_STALE,
    });
    assert.deepEqual(decodeFattr4(byName.get("ok")!), {
      type: FileType.Regular,
      rdattr_error: nfsstat4.NFS4_OK,
    });
    const without = await h.compound([
      { argop: OP.OP_PUTROOTFH },
      readdir(0n, 4096, bits("type")),
    ]);
    assert.equal(
      without.status,
      nfsstat4.NFS4ERR_STALE,
      "without rdattr_error the READDIR fails",
    );
  } finally {
    await h.close();
  }
});

Deno.test("READDIR: names and cookies alone need no attributes", async () => {
  const fs = new GhostFs();
  const h = await start4({ fs });
  try {
    fs.ghost = (await fs.create(ROOT, fs.root, "ghost")).fileid;
    const res = await h.compound([
      { argop: OP.OP_PUTROOTFH },
      readdir(0n, 4096, bitmapOf([FATTR4.fileid.bit, FATTR4.filehandle.bit])),
    ]);
    const e = resokOf(res).reply.entries[0];
    assert.equal(decodeFattr4(e.attrs).fileid, fs.ghost);
  } finally {
    await h.close();
  }
});
