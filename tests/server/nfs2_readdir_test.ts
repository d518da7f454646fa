// NFSv2 READDIR through our RpcClient: 4-byte cookies, paging by `count`,
// large file-system cookies through the cookie table, and its errors.
import assert from "node:assert/strict";
import * as P from "../../proto/nfs2/mod.ts";
import { nfsstat as S } from "../../proto/nfs2/mod.ts";
import { MemFs } from "../../vfs/memfs.ts";
import { PassthroughFs } from "../../vfs/passthrough.ts";
import {
  type Credentials,
  type FileId,
  type FileSystem,
  type ReaddirOptions,
  type ReaddirResult,
  ROOT,
} from "../../vfs/types.ts";
import { type Harness2, start2 } from "./_harness2.ts";

interface Page {
  res: P.readdirres;
  /** Encoded bytes of the readdirok (the reply after the status). */
  size: number;
}

async function readdir(
  h: Harness2,
  dir: Uint8Array,
  cookie: number,
  count: number,
): Promise<Page> {
  const c = new Uint8Array(4);
  new DataView(c.buffer).setUint32(0, cookie);
  let size = 0;
  const res = await h.nfs(
    P.NFSPROC_READDIR,
    (w) => P.encode_readdirargs(w, { dir, cookie: c, count }),
    (r) => {
      size = r.remaining - 4;
      return P.decode_readdirres(r);
    },
  );
  return { res, size };
}

function cookieOf(e: P.entry): number {
  return new DataView(e.cookie.buffer, e.cookie.byteOffset).getUint32(0);
}

/** Every entry from `cookie` on, page by page; asserts each page's size. */
async function listAll(
  h: Harness2,
  dir: Uint8Array,
  count: number,
  cookie = 0,
): Promise<{ entries: P.entry[]; calls: number }> {
  const entries: P.entry[] = [];
  for (let calls = 1; calls <= 10_000; calls++) {
    const { res, size } = await readdir(h, dir, cookie, count);
    assert.ok(res.status === S.NFS_OK, `READDIR: ${res.status}`);
    assert.ok(size <= count, `a page of ${size} bytes for count ${count}`);
    entries.push(...res.readdirok.entries);
    if (res.readdirok.eof) return { entries, calls };
    assert.ok(res.readdirok.entries.length > 0, "no progress without eof");
    cookie = cookieOf(res.readdirok.entries.at(-1)!);
  }
  throw new Error("READDIR never reached eof");
}

async function fill(fs: FileSystem, dir: FileId, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    await fs.create(ROOT, dir, `file-${String(i).padStart(5, "0")}`);
  }
}

Deno.test("nfs2 READDIR: . and .. first, then every name once, with file ids", async () => {
  const fs = new MemFs();
  const d = await fs.mkdir(ROOT, fs.root, "d");
  await fill(fs, d.fileid, 3);
  const h = await start2({ fs });
  try {
    const l = await h.nfs(
      P.NFSPROC_LOOKUP,
      (w) => P.encode_diropargs(w, { dir: h.root, name: "d" }),
      P.decode_diropres,
    );
    assert.ok(l.status === S.NFS_OK);
    const { entries } = await listAll(h, l.diropres.file, 4096);
    assert.deepEqual(entries.map((e) => e.name), [
      ".",
      "..",
      "file-00000",
      "file-00001",
      "file-00002",
    ]);
    assert.equal(entries[0].fileid, d.fileid);
    assert.equal(entries[1].fileid, fs.root);
    assert.deepEqual(entries.slice(0, 2).map(cookieOf), [1, 2]);
    const f0 = await fs.lookup(ROOT, d.fileid, "file-00000");
    assert.equal(entries[2].fileid, f0.fileid);
  } finally {
    await h.close();
  }
});

Deno.test("nfs2 READDIR: 10,000 entries, pages within count, each name once", async () => {
  const fs = new MemFs();
  await fill(fs, fs.root, 10_000);
  const h = await start2({ fs });
  try {
    for (const count of [4096, 300]) {
      const { entries, calls } = await listAll(h, h.root, count);
      const names = entries.map((e) => e.name);
      assert.equal(names.length, 10_002);
      assert.equal(new Set(names).size, 10_002, "no name twice");
      assert.ok(calls > 10_000 * 20 / count, `${calls} calls for ${count}`);
    }
  } finally {
    await h.close();
  }
});

Deno.test("nfs2 READDIR: resuming from any entry's cookie lists the rest", async () => {
  const fs = new MemFs();
  await fill(fs, fs.root, 20);
  const h = await start2({ fs });
  try {
    const { entries } = await listAll(h, h.root, 8192);
    for (const at of [0, 1, 2, 7, 21]) {
      const rest = await listAll(h, h.root, 8192, cookieOf(entries[at]));
      assert.deepEqual(
        rest.entries.map((e) => e.name),
        entries.slice(at + 1).map((e) => e.name),
        `after entry ${at}`,
      );
    }
  } finally {
    await h.close();
  }
});

/** MemFs with its readdir cookies moved beyond 2^40, as LocalFs's hashes are. */
class LargeCookies extends PassthroughFs {
  static readonly SHIFT = 2n ** 40n;
  override async readdir(
    cred: Credentials,
    dir: FileId,
    options: ReaddirOptions = {},
  ): Promise<ReaddirResult> {
    const c = options.cookie ?? 0n;
    const page = await super.readdir(cred, dir, {
      ...options,
      cookie: c >= LargeCookies.SHIFT ? c - LargeCookies.SHIFT : c,
    });
    return {
      eof: page.eof,
      entries: page.entries.map((e) => ({
        ...e,
        cookie: e.cookie + LargeCookies.SHIFT,
      })),
    };
  }
}

Deno.test("nfs2 READDIR: cookies beyond 31 bits go through the table and resume", async () => {
  const mem = new MemFs();
  await fill(mem, mem.root, 500);
  const h = await start2({ fs: new LargeCookies(mem) });
  try {
    const { entries, calls } = await listAll(h, h.root, 1024);
    assert.ok(calls > 1);
    assert.equal(new Set(entries.map((e) => e.name)).size, 502);
    for (const e of entries.slice(2)) {
      assert.ok(cookieOf(e) >= 2 ** 31, `table cookie ${cookieOf(e)}`);
    }
    const rest = await listAll(h, h.root, 8192, cookieOf(entries[251]));
    assert.deepEqual(
      rest.entries.map((e) => e.name),
      entries.slice(252).map((e) => e.name),
    );
  } finally {
    await h.close();
  }
});

Deno.test("nfs2 READDIR: a table cookie it never gave, or of another directory, is STALE", async () => {
  const mem = new MemFs();
  const d = await mem.mkdir(ROOT, mem.root, "d");
  await fill(mem, d.fileid, 5);
  await fill(mem, mem.root, 5);
  const h = await start2({ fs: new LargeCookies(mem) });
  try {
    assert.equal(
      (await readdir(h, h.root, 0x80000123, 4096)).res.status,
      S.NFSERR_STALE,
    );
    const { entries } = await listAll(h, h.root, 4096);
    const l = await h.nfs(
      P.NFSPROC_LOOKUP,
      (w) => P.encode_diropargs(w, { dir: h.root, name: "d" }),
      P.decode_diropres,
    );
    assert.ok(l.status === S.NFS_OK);
    const other = await readdir(h, l.diropres.file, cookieOf(entries[4]), 4096);
    assert.equal(other.res.status, S.NFSERR_STALE);
  } finally {
    await h.close();
  }
});

Deno.test("nfs2 READDIR: NOTDIR for a file, INVAL when not one entry fits", async () => {
  const fs = new MemFs();
  await fill(fs, fs.root, 1);
  const h = await start2({ fs });
  try {
    const l = await h.nfs(
      P.NFSPROC_LOOKUP,
      (w) => P.encode_diropargs(w, { dir: h.root, name: "file-00000" }),
      P.decode_diropres,
    );
    assert.ok(l.status === S.NFS_OK);
    assert.equal(
      (await readdir(h, l.diropres.file, 0, 4096)).res.status,
      S.NFSERR_NOTDIR,
    );
    // "." takes 20 bytes and the end of the page 8: 27 is one short.
    assert.equal((await readdir(h, h.root, 0, 27)).res.status, S.NFSERR_INVAL);
    const one = await readdir(h, h.root, 0, 28);
    assert.ok(one.res.status === S.NFS_OK);
    assert.deepEqual(one.res.readdirok.entries.map((e) => e.name), ["."]);
    assert.equal(one.size, 28);
    // At the end, an empty page with eof fits any count.
    const { entries } = await listAll(h, h.root, 4096);
    const end = await readdir(h, h.root, cookieOf(entries.at(-1)!), 8);
    assert.ok(end.res.status === S.NFS_OK);
    assert.deepEqual(end.res.readdirok, { entries: [], eof: true });
  } finally {
    await h.close();
  }
});
