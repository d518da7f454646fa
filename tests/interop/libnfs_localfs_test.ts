// LocalFs over NFS as Debian's libnfs sees it (the library under
// libnfs-utils, through FFI: see _libnfs_lib.ts): the fileid a client sees
// is the host's inode number on both engines, even once the host reused
// it (the FileId then carries a generation the handle keeps); MKNOD of a
// fifo and of a character device over NFSv3 on the native engine; a MOUNT
// through a symlink that stays inside the export, and none through one
// that leaves; a file created O_EXCL with mode 0 takes its creator's
// writes. Run with --allow-ffi.
import assert from "node:assert/strict";
import { serveNfs } from "../../server/serve.ts";
import { LocalFs, type LocalFsEngine } from "../../vfs/localfs.ts";
import { ROOT } from "../../vfs/types.ts";
import { LibNfs, libnfsMissing } from "./_libnfs_lib.ts";

const missing = libnfsMissing();
if (missing) console.log(`libnfs LocalFs tests skipped: ${missing}`);
const ENGINES: LocalFsEngine[] = ["native", "portable"];
const GEN = 2 ** 32;

/** Serves `dir` with `engine` over NFSv3 and NFSv4, squash none. */
async function withServer(
  dir: string,
  engine: LocalFsEngine,
  fn: (port: number, fs: LocalFs) => Promise<void>,
): Promise<void> {
  const fs = await LocalFs.open(dir, { engine });
  assert.equal(fs.engine, engine);
  const server = serveNfs({
    port: 0,
    quiet: true,
    exports: [{ path: "/", fs, squash: "none" }],
  });
  try {
    await fn(server.addr.port, fs);
  } finally {
    await server.shutdown();
    await fs.close();
  }
}

async function withMount<T>(
  port: number,
  path: string,
  version: 3 | 4,
  fn: (nfs: LibNfs) => Promise<T>,
): Promise<T> {
  const nfs = await LibNfs.mount(port, path, version);
  try {
    return await fn(nfs);
  } finally {
    await nfs.close();
  }
}

for (const engine of ENGINES) {
  Deno.test({
    name:
      `libnfs: the fileid NFSv3 and NFSv4 show is the host's inode number, also after an inode number was reused (${engine})`,
    ignore: missing !== undefined,
    async fn() {
      const dir = await Deno.makeTempDir({ prefix: "netfs-ino-" });
      try {
        await Deno.writeTextFile(`${dir}/reused`, "reused");
        await Deno.writeTextFile(`${dir}/fresh`, "fresh");
        await Deno.mkdir(`${dir}/d`);
        const ino = (name: string) => Deno.lstatSync(`${dir}/${name}`).ino!;
        // The journal says inode `reused` had generation 1 with another
        // birth time: the host reused that number, so its FileId moves on.
        await Deno.mkdir(`${dir}/.netfs`);
        await Deno.writeTextFile(
          `${dir}/.netfs/ids.jsonl`,
          JSON.stringify({ g: ino("reused"), v: 1, b: 1 }) + "\n",
        );
        await withServer(dir, engine, async (port, fs) => {
          const r = await fs.lookup(ROOT, fs.root, "reused");
          assert.equal(r.fileid, 2 * GEN + ino("reused"), "a generation");
          assert.equal(r.inode, ino("reused"));
          const f = await fs.lookup(ROOT, fs.root, "fresh");
          assert.equal(f.fileid, ino("fresh"));
          assert.equal(f.inode, undefined, "only where it differs");
          const list = await fs.readdir(ROOT, fs.root);
          const e = list.entries.find((e) => e.name === "reused")!;
          assert.deepEqual([e.fileid, e.inode], [r.fileid, ino("reused")]);
          for (const version of [3, 4] as const) {
            await withMount(port, "/", version, async (nfs) => {
              for (const name of ["reused", "fresh", "d"]) {
                assert.equal(
                  (await nfs.stat(`/${name}`)).ino,
                  ino(name),
                  `NFSv${version} ${name}`,
                );
              }
            });
          }
        });
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    },
  });

  Deno.test({
    name:
      `libnfs: MOUNT through a symlink inside the export resolves; one that leaves is refused (${engine})`,
    ignore: missing !== undefined,
    async fn() {
      const dir = await Deno.makeTempDir({ prefix: "netfs-mntlink-" });
      try {
        await Deno.mkdir(`${dir}/real/sub`, { recursive: true });
        await Deno.writeTextFile(`${dir}/real/sub/file`, "inside");
        await Deno.symlink("real", `${dir}/link`);
        await Deno.symlink("../real/sub", `${dir}/real/again`);
        await Deno.symlink("..", `${dir}/up`);
        await Deno.symlink(`${dir}/real`, `${dir}/absolute`);
        await withServer(dir, engine, async (port) => {
          for (const path of ["/link/sub", "/real/again", "/link/again"]) {
            const st = await withMount(
              port,
              path,
              3,
              (nfs) => nfs.stat("/file"),
            );
            assert.equal(st.size, 6, path);
            assert.equal(st.ino, Deno.lstatSync(`${dir}/real/sub/file`).ino);
          }
          for (const path of ["/up", "/up/x", "/absolute", "/link/sub/file"]) {
            await assert.rejects(
              LibNfs.mount(port, path, 3),
              /Mount .* failed/,
              path,
            );
          }
        });
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    },
  });
}

for (const engine of ENGINES) {
  Deno.test({
    name:
      `libnfs: a file created O_EXCL with mode 0 takes its owner's writes, over NFSv3 and NFSv4 (${engine})`,
    ignore: missing !== undefined,
    async fn() {
      const dir = await Deno.makeTempDir({ prefix: "netfs-excl-" });
      try {
        await Deno.chmod(dir, 0o755);
        await Deno.mkdir(`${dir}/shared`);
        await Deno.chmod(`${dir}/shared`, 0o1777);
        await withServer(dir, engine, async (port) => {
          const user = { uid: 1000, gid: 1000 };
          for (const version of [3, 4] as const) {
            const name = `/shared/v${version}`;
            const nfs = await LibNfs.mount(port, "/", version, user);
            try {
              // O_CREAT | O_EXCL | O_WRONLY, mode 0.
              await nfs.createAndWrite(
                name,
                0o100 | 0o200 | 0o1,
                0,
                new TextEncoder().encode("mine"),
              );
            } finally {
              await nfs.close();
            }
            const st = Deno.lstatSync(`${dir}${name}`);
            assert.deepEqual([st.mode! & 0o7777, st.uid, st.gid], [
              0,
              1000,
              1000,
            ]);
            await Deno.chmod(`${dir}${name}`, 0o600);
            assert.equal(await Deno.readTextFile(`${dir}${name}`), "mine");
          }
        });
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    },
  });
}

Deno.test({
  name:
    "libnfs: MKNOD of a fifo and a character device over NFSv3 (native engine): type and rdev on the host and the client",
  ignore: missing !== undefined || Deno.uid() !== 0,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "netfs-mknod-" });
    try {
      await withServer(dir, "native", async (port) => {
        await withMount(port, "/", 3, async (nfs) => {
          await nfs.mknod("/fifo", 0o010644, 0);
          await nfs.mknod("/null2", 0o020666, (1 << 8) | 3); // makedev(1, 3)
          const fifo = Deno.lstatSync(`${dir}/fifo`);
          assert.ok(fifo.isFifo, "a fifo on the host");
          assert.equal(fifo.mode! & 0o777, 0o644);
          const chr = Deno.lstatSync(`${dir}/null2`);
          assert.ok(chr.isCharDevice, "a character device on the host");
          assert.equal(chr.rdev, (1 << 8) | 3);
          const f = await nfs.stat("/fifo");
          assert.equal(f.mode & 0o170000, 0o010000);
          const c = await nfs.stat("/null2");
          assert.equal(c.mode & 0o170000, 0o020000);
          assert.equal(c.rdev, (1 << 8) | 3);
          assert.equal(c.ino, chr.ino);
        });
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
