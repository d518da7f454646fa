import assert from "node:assert/strict";
import { RpcAcceptError, RpcClient } from "../../rpc/client.ts";
import { serveRpc } from "../../rpc/server.ts";
import {
  decodeExports,
  decodeMntRes,
  decodeMountList,
  encodeDirpath,
  MOUNT_PROGRAM,
  MOUNT_V1,
  MountProc,
  MountStatus,
} from "../../proto/mount.ts";
import { ExportTable } from "../../server/exports.ts";
import { mountProgram, mountPrograms } from "../../server/mount.ts";
import { decode_fhstatus } from "../../proto/nfs2/mod.ts";
import { MemFs } from "../../vfs/memfs.ts";
import { ROOT } from "../../vfs/types.ts";
import { decodeHandle, padHandle, unpadHandle } from "../../server/handles.ts";

Deno.test("mount: MNT, subdirectory mounts, errors, DUMP, UMNT, UMNTALL, EXPORT", async () => {
  const fs = new MemFs();
  const docs = await fs.mkdir(ROOT, fs.root, "docs");
  await fs.create(ROOT, docs.fileid, "file");
  const exports = new ExportTable([
    { path: "/", fs },
    { path: "/data", fs, clients: ["127.0.0.1", "10.0.0.0/8"] },
    { path: "/far", fs, clients: ["192.0.2.0/24"] },
    { path: "/sec", fs, secure: true },
  ]);
  const events: string[] = [];
  const server = serveRpc({
    port: 0,
    programs: [mountProgram({
      exports,
      onMount: (e) => events.push(`${e.op} ${e.path}`),
    })],
    log: () => {},
  });
  const client = await RpcClient.connect({
    hostname: "127.0.0.1",
    port: server.addr.port,
  });
  const call = async (proc: number, path?: string) =>
    await client.call(
      MOUNT_PROGRAM,
      3,
      proc,
      (w) => path !== undefined && encodeDirpath(w, path),
    );
  const mnt = async (path: string) =>
    decodeMntRes(await call(MountProc.MNT, path));
  try {
    assert.equal((await call(MountProc.NULL)).remaining, 0);
    const root = await mnt("/");
    assert.equal(root.status, MountStatus.OK);
    assert.deepEqual(root.flavors, [1]);
    assert.equal(decodeHandle(root.handle!)!.fileid, fs.root);
    assert.equal(decodeHandle(root.handle!)!.exportId, 0);
    const data = await mnt("/data/");
    assert.equal(data.status, 0);
    assert.equal(decodeHandle(data.handle!)!.exportId, 1);
    const sub = await mnt("/docs");
    assert.equal(sub.status, 0);
    assert.equal(decodeHandle(sub.handle!)!.fileid, docs.fileid);
    assert.equal((await mnt("/docs/missing")).status, MountStatus.NOENT);
    assert.equal((await mnt("/docs/file")).status, MountStatus.NOTDIR);
    assert.equal((await mnt("/docs/file/x")).status, MountStatus.NOTDIR);
    assert.equal((await mnt("/far")).status, MountStatus.ACCES);
    assert.equal((await mnt("/sec")).status, MountStatus.PERM);
    assert.equal(
      (await mnt("/" + "n".repeat(300))).status,
      MountStatus.NAMETOOLONG,
    );
    // Only "/" export absent: a path outside every export.
    const only = new ExportTable([{ path: "/data", fs }]);
    assert.equal(only.match("/other"), undefined);
    const dump = decodeMountList(await call(MountProc.DUMP));
    assert.deepEqual(
      dump.map((e) => e.directory).sort(),
      ["/", "/data/", "/docs"],
    );
    assert.ok(dump.every((e) => e.hostname === "127.0.0.1"));
    assert.equal((await call(MountProc.UMNT, "/docs")).remaining, 0);
    assert.deepEqual(
      decodeMountList(await call(MountProc.DUMP)).map((e) => e.directory)
        .sort(),
      ["/", "/data/"],
    );
    await call(MountProc.UMNTALL);
    assert.deepEqual(decodeMountList(await call(MountProc.DUMP)), []);
    const list = decodeExports(await call(MountProc.EXPORT));
    assert.deepEqual(list, [
      { dir: "/", groups: ["127.0.0.0/8", "::1"] },
      { dir: "/data", groups: ["127.0.0.1", "10.0.0.0/8"] },
      { dir: "/far", groups: ["192.0.2.0/24"] },
      { dir: "/sec", groups: ["127.0.0.0/8", "::1"] },
    ]);
    assert.ok(events.includes("mnt /docs") && events.includes("umnt /docs"));
    // A path over MNTPATHLEN is garbage; the server goes on.
    await assert.rejects(call(MountProc.MNT, "/" + "x".repeat(1100)));
    assert.equal((await mnt("/")).status, 0);
  } finally {
    client.close();
    await client.closed;
    await server.shutdown();
  }
});

Deno.test("mount: a table without a root export answers NOENT outside it", async () => {
  const fs = new MemFs();
  const exports = new ExportTable([{ path: "/data", fs }]);
  const server = serveRpc({
    port: 0,
    programs: [mountProgram({ exports })],
    log: () => {},
  });
  const client = await RpcClient.connect({
    hostname: "127.0.0.1",
    port: server.addr.port,
  });
  try {
    for (const path of ["/", "", "/dat", "/other/data"]) {
      const r = decodeMntRes(
        await client.call(MOUNT_PROGRAM, 3, 1, (w) => encodeDirpath(w, path)),
      );
      assert.equal(r.status, MountStatus.NOENT, path);
    }
  } finally {
    client.close();
    await client.closed;
    await server.shutdown();
  }
});

/** A server with MOUNT v1 and v3 over one list of mounts, and a v1 caller. */
async function startV1(exports: ExportTable, versions?: (1 | 3)[]) {
  const server = serveRpc({
    port: 0,
    programs: mountPrograms({ exports, versions }),
    log: () => {},
  });
  const client = await RpcClient.connect({
    hostname: "127.0.0.1",
    port: server.addr.port,
  });
  const call = async (vers: number, proc: number, path?: string) =>
    await client.call(
      MOUNT_PROGRAM,
      vers,
      proc,
      (w) => path !== undefined && encodeDirpath(w, path),
    );
  return {
    call,
    mnt: async (path: string) => {
      const r = await call(MOUNT_V1, MountProc.MNT, path);
      const res = decode_fhstatus(r);
      r.end();
      return res;
    },
    async close() {
      client.close();
      await client.closed;
      await server.shutdown();
    },
  };
}

Deno.test("mount v1: MNT answers the 32-byte handle: v3's, padded with zeros", async () => {
  const fs = new MemFs();
  const docs = await fs.mkdir(ROOT, fs.root, "docs");
  const exports = new ExportTable([{ path: "/", fs }]);
  const m = await startV1(exports);
  try {
    assert.equal((await m.call(MOUNT_V1, MountProc.NULL)).remaining, 0);
    const r = await m.mnt("/docs");
    assert.ok("directory" in r && r.status === 0);
    assert.equal(r.directory.length, 32);
    assert.deepEqual(r.directory.subarray(20), new Uint8Array(12));
    assert.equal(decodeHandle(unpadHandle(r.directory)!)!.fileid, docs.fileid);
    const v3 = decodeMntRes(await m.call(3, MountProc.MNT, "/docs"));
    assert.deepEqual(padHandle(v3.handle!), r.directory);
  } finally {
    await m.close();
  }
});

Deno.test("mount v1: MNT failures are errno numbers", async () => {
  const fs = new MemFs();
  await fs.create(ROOT, fs.root, "file");
  const exports = new ExportTable([
    { path: "/", fs },
    { path: "/far", fs, clients: ["192.0.2.0/24"] },
    { path: "/sec", fs, secure: true },
  ]);
  const m = await startV1(exports);
  try {
    assert.deepEqual(await m.mnt("/missing"), { status: 2 }); // ENOENT
    assert.deepEqual(await m.mnt("/file"), { status: 20 }); // ENOTDIR
    assert.deepEqual(await m.mnt("/far"), { status: 13 }); // EACCES
    assert.deepEqual(await m.mnt("/sec"), { status: 1 }); // EPERM
    assert.deepEqual(await m.mnt("/" + "n".repeat(300)), { status: 63 });
  } finally {
    await m.close();
  }
});

Deno.test("mount v1: DUMP, UMNT, UMNTALL and EXPORT share v3's list of mounts", async () => {
  const fs = new MemFs();
  await fs.mkdir(ROOT, fs.root, "a");
  const exports = new ExportTable([{ path: "/", fs }]);
  const m = await startV1(exports);
  try {
    assert.equal((await m.mnt("/a")).status, 0);
    await m.call(3, MountProc.MNT, "/");
    const dirs = async (vers: number) =>
      decodeMountList(await m.call(vers, MountProc.DUMP)).map((e) =>
        e.directory
      ).sort();
    assert.deepEqual(await dirs(1), ["/", "/a"]);
    assert.deepEqual(await dirs(3), ["/", "/a"]);
    assert.equal((await m.call(1, MountProc.UMNT, "/a")).remaining, 0);
    assert.deepEqual(await dirs(3), ["/"]);
    assert.equal((await m.call(1, MountProc.UMNTALL)).remaining, 0);
    assert.deepEqual(await dirs(1), []);
    assert.deepEqual(decodeExports(await m.call(1, MountProc.EXPORT)), [
      { dir: "/", groups: ["127.0.0.0/8", "::1"] },
    ]);
  } finally {
    await m.close();
  }
});

Deno.test("mount v1: mountPrograms builds the versions asked for, and only those", async () => {
  const exports = new ExportTable([{ path: "/", fs: new MemFs() }]);
  assert.deepEqual(
    mountPrograms({ exports }).map((p) => p.version),
    [1, 3],
  );
  const m = await startV1(exports, [1]);
  try {
    await assert.rejects(
      m.call(3, MountProc.NULL),
      (e) => e instanceof RpcAcceptError && e.low === 1 && e.high === 1,
    );
  } finally {
    await m.close();
  }
  assert.throws(
    () => mountPrograms({ exports, versions: [2 as 1] }),
    /MOUNT versions must be 1 and\/or 3: 2/,
  );
  assert.throws(
    () => mountPrograms({ exports, versions: [] }),
    /MOUNT versions must be 1 and\/or 3/,
  );
});

Deno.test("mount: symlinks on the way are followed inside the export; leaving it, absolute targets and loops are refused", async () => {
  const fs = new MemFs();
  const a = await fs.mkdir(ROOT, fs.root, "a");
  const b = await fs.mkdir(ROOT, a.fileid, "b");
  await fs.symlink(ROOT, fs.root, "toB", "a/./b"); // relative, two steps
  await fs.symlink(ROOT, a.fileid, "sib", "../a/b"); // climbs, stays inside
  await fs.symlink(ROOT, a.fileid, "chain", "../toB"); // a link to a link
  await fs.symlink(ROOT, fs.root, "out", "a/../.."); // above the root
  await fs.symlink(ROOT, fs.root, "abs", "/a"); // a host path
  await fs.symlink(ROOT, fs.root, "loop", "loop");
  const exports = new ExportTable([{ path: "/", fs }]);
  const server = serveRpc({ port: 0, programs: [mountProgram({ exports })] });
  const client = await RpcClient.connect({
    hostname: "127.0.0.1",
    port: server.addr.port,
  });
  const mnt = async (path: string) =>
    decodeMntRes(
      await client.call(
        MOUNT_PROGRAM,
        3,
        MountProc.MNT,
        (w) => encodeDirpath(w, path),
      ),
    );
  try {
    for (const path of ["/toB", "/a/sib", "/a/chain", "/toB/../b"]) {
      const r = await mnt(path);
      if (path.includes("..")) {
        assert.equal(r.status, MountStatus.INVAL, "'..' in the path itself");
        continue;
      }
      assert.equal(r.status, MountStatus.OK, path);
      assert.equal(decodeHandle(r.handle!)!.fileid, b.fileid, path);
    }
    assert.equal((await mnt("/out")).status, MountStatus.ACCES);
    assert.equal((await mnt("/abs")).status, MountStatus.ACCES);
    assert.equal((await mnt("/loop")).status, MountStatus.INVAL);
  } finally {
    client.close();
    await server.shutdown();
  }
});
