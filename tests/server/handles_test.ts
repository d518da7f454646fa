import assert from "node:assert/strict";
import {
  decodeHandle,
  encodeHandle,
  HANDLE_SIZE,
  handleVerifier,
} from "../../server/handles.ts";
import {
  Export,
  ExportTable,
  normalizeExportPath,
} from "../../server/exports.ts";
import { NFS3_STATUS_OF_CODE, nfs3StatusOf } from "../../server/nfs3/errors.ts";
import { VfsError } from "../../vfs/errors.ts";
import { MemFs } from "../../vfs/memfs.ts";

Deno.test("handles: round trip, size, every single-bit flip refused or distinct", () => {
  const verifier = handleVerifier("x");
  for (const fileid of [0, 1, 2 ** 32, 2 ** 53 - 1]) {
    const fh = encodeHandle({ exportId: 3, verifier, fileid });
    assert.equal(fh.length, HANDLE_SIZE);
    assert.ok(fh.length <= 64);
    const d = decodeHandle(fh)!;
    assert.equal(d.fileid, fileid);
    assert.equal(d.exportId, 3);
    for (let bit = 0; bit < fh.length * 8; bit++) {
      const bad = fh.slice();
      bad[bit >> 3] ^= 1 << (bit & 7);
      assert.equal(decodeHandle(bad), undefined, `bit ${bit}`);
    }
  }
  assert.equal(decodeHandle(new Uint8Array(64)), undefined);
  assert.throws(() =>
    encodeHandle({ exportId: 0, verifier: new Uint8Array(4), fileid: 1 })
  );
  assert.throws(() => encodeHandle({ exportId: 256, verifier, fileid: 1 }));
  assert.deepEqual(handleVerifier("a"), handleVerifier("a"));
  assert.notDeepEqual(handleVerifier("a"), handleVerifier("b"));
  assert.notDeepEqual(handleVerifier(), handleVerifier());
});

Deno.test("handles: the bytes are those earlier servers handed out (handles outlive restarts)", () => {
  // Made by the handle code before its check word was computed in one
  // reduction: a client may hold any of them across the upgrade.
  const verifier = new Uint8Array([0xff, 0xfe, 0, 1, 0x80, 0x7f, 3, 200]);
  const known: [number, string][] = [
    [1, "4e07a57cfffe0001807f03c80000000000000001"],
    [2 ** 53 - 1, "4e077e9afffe0001807f03c8001fffffffffffff"],
    [2 ** 32 + 1, "4e07aa7dfffe0001807f03c80000000100000001"],
    [123456789, "4e0783c0fffe0001807f03c800000000075bcd15"],
  ];
  for (const [fileid, hex] of known) {
    const fh = encodeHandle({ exportId: 7, verifier, fileid });
    assert.equal(
      Array.from(fh, (b) => b.toString(16).padStart(2, "0")).join(""),
      hex,
    );
    assert.equal(decodeHandle(fh)?.fileid, fileid);
  }
});

Deno.test("exports: paths, matching, squashing, allowed clients", () => {
  const fs = new MemFs();
  assert.equal(normalizeExportPath("data//x/"), "/data/x");
  assert.equal(normalizeExportPath(""), "/");
  assert.throws(() => normalizeExportPath("/a/../b"));
  const t = new ExportTable([
    { path: "/", fs },
    { path: "/data", fs },
    { path: "/data/deep", fs },
  ]);
  assert.equal(t.match("/data/deep/x")!.export.path, "/data/deep");
  assert.deepEqual(t.match("/data/deep/x")!.rest, ["x"]);
  assert.equal(t.match("/datax")!.export.path, "/");
  assert.deepEqual(t.match("/datax")!.rest, ["datax"]);
  assert.throws(() =>
    new ExportTable([{ path: "/a", fs }, { path: "a/", fs }])
  );
  assert.throws(() => new ExportTable([]));
  const sys = (uid: number, gid: number, gids: number[] = []) => ({
    flavor: 1 as const,
    sys: { stamp: 0, machineName: "m", uid, gid, gids },
  });
  const root = new Export(0, { path: "/", fs });
  assert.deepEqual(root.credentials(sys(0, 0, [0, 5])), {
    uid: 65534,
    gid: 65534,
    groups: [65534, 5],
  });
  assert.deepEqual(root.credentials(sys(1, 2, [3])), {
    uid: 1,
    gid: 2,
    groups: [3],
  });
  assert.deepEqual(root.credentials({ flavor: 0 }), {
    uid: 65534,
    gid: 65534,
    groups: [],
  });
  const none = new Export(0, { path: "/", fs, squash: "none" });
  assert.deepEqual(none.credentials(sys(0, 0)), { uid: 0, gid: 0, groups: [] });
  const all = new Export(0, {
    path: "/",
    fs,
    squash: "all",
    anonUid: 7,
    anonGid: 8,
  });
  assert.deepEqual(all.credentials(sys(1, 2)), { uid: 7, gid: 8, groups: [] });
  assert.ok(root.allows("127.0.0.1") && root.allows("::1"));
  assert.ok(!root.allows("192.0.2.1"));
  const wide = new Export(1, { path: "/x", fs, clients: ["10.0.0.0/8", "*"] });
  assert.ok(wide.allows("192.0.2.1"));
  // Stable handles: the same verifier for the same path or key.
  const s1 = new Export(0, { path: "/d", fs, stableHandles: true });
  const s2 = new Export(0, { path: "/d", fs, stableHandles: true });
  const s3 = new Export(0, { path: "/d", fs, stableHandles: "k" });
  const r1 = new Export(0, { path: "/d", fs });
  assert.deepEqual(s1.verifier, s2.verifier);
  assert.notDeepEqual(s1.verifier, s3.verifier);
  assert.notDeepEqual(s1.verifier, r1.verifier);
});

Deno.test("nfs3 errors: every VFS code has its exact nfsstat3", () => {
  const want: Record<string, number> = {
    EPERM: 1,
    ENOENT: 2,
    EIO: 5,
    ENXIO: 6,
    EACCES: 13,
    EEXIST: 17,
    EXDEV: 18,
    ENODEV: 19,
    ENOTDIR: 20,
    EISDIR: 21,
    EINVAL: 22,
    EFBIG: 27,
    ENOSPC: 28,
    EROFS: 30,
    EMLINK: 31,
    ENAMETOOLONG: 63,
    ENOTEMPTY: 66,
    EDQUOT: 69,
    ESTALE: 70,
    ENOTSUP: 10004,
    ENOSYS: 10004,
    EAGAIN: 10008,
    EBADF: 70,
    EBUSY: 13,
    ETXTBSY: 13,
    ELOOP: 22,
    ENODATA: 22,
    E2BIG: 22,
    ERANGE: 22,
  };
  assert.deepEqual({ ...NFS3_STATUS_OF_CODE }, want);
  for (const [code, status] of Object.entries(want)) {
    // deno-lint-ignore no-explicit-any
    assert.equal(nfs3StatusOf(new VfsError(code as any, "x")), status);
  }
  assert.equal(nfs3StatusOf(new TypeError("bug")), 10006);
});
