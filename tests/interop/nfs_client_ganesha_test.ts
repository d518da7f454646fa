// netfs's NFS client against nfs-ganesha (VFS FSAL over a temporary
// folder) as a second NFSv3 server: every procedure, MOUNT, a 64 MiB file
// in and out with equal checksums (also as the host sees it), a 10,000-entry
// directory listed with each name once, and each error status reported as
// such. Ganesha runs with a private rpcbind stand-in (see _ganesha.ts),
// never on the machine's port 111; the test is skipped, saying why, where
// ganesha cannot run.
import assert from "node:assert/strict";
import { NfsError } from "../../client/errors.ts";
import { MountClient } from "../../client/mount.ts";
import { Nfs3Client } from "../../client/nfs3.ts";
import { NfsClient } from "../../client/nfs_client.ts";
import { Access3, CreateMode, Ftype3, StableHow } from "../../proto/nfs3.ts";
import type { AuthSysParms } from "../../rpc/program.ts";
import { ganeshaMissing, startGanesha } from "./_ganesha.ts";

const missing = ganeshaMissing("VFS");
if (missing) console.log(`nfs_client_ganesha_test: skipped: ${missing}`);

const MiB = 1024 * 1024;
const enc = new TextEncoder();

function sys(uid: number): AuthSysParms {
  return { stamp: 1, machineName: "netfs-test", uid, gid: uid, gids: [] };
}

async function sha256(data: Uint8Array): Promise<string> {
  const d = new Uint8Array(
    await crypto.subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>),
  );
  return Array.from(d, (b) => b.toString(16).padStart(2, "0")).join("");
}

function isStatus(status: string, path?: string) {
  return (e: unknown) =>
    e instanceof NfsError && e.statusName === status &&
    (path === undefined || e.path === path);
}

Deno.test({
  name: "ganesha: netfs's NFSv3 client against nfs-ganesha",
  ignore: missing !== null,
  async fn(t) {
    const dir = await Deno.makeTempDir({ prefix: "netfs-ganesha-export-" });
    await Deno.chmod(dir, 0o755);
    const g = await startGanesha("VFS", dir);
    const url = (uid: number, sub = "") =>
      `nfs://127.0.0.1${dir}${sub}?nfsport=${g.nfsPort}&mountport=${g.mountPort}&uid=${uid}&gid=${uid}`;
    const opts = (uid: number) => ({
      hostname: "127.0.0.1",
      auth: sys(uid),
      timeoutMs: 20_000,
    });
    try {
      await t.step("MOUNT: EXPORT, MNT, DUMP, UMNT", async () => {
        const m = await MountClient.connect({ ...opts(0), port: g.mountPort });
        try {
          await m.null();
          assert.ok((await m.export()).some((e) => e.dir === dir));
          const { handle } = await m.mnt(dir);
          assert.ok(handle.byteLength > 0);
          await m.dump(); // ganesha keeps no list; the call must still work
          await m.umnt(dir);
          // Ganesha answers ACCES for a path it does not export.
          await assert.rejects(
            m.mnt(`${dir}-nope`),
            (e) => e instanceof NfsError && e.program === "MOUNT",
          );
        } finally {
          m.close();
          await m.rpc.closed;
        }
      });

      await t.step("NFSv3: every procedure", async () => {
        const m = await MountClient.connect({ ...opts(0), port: g.mountPort });
        const nfs = await Nfs3Client.connect({ ...opts(0), port: g.nfsPort });
        try {
          const root = (await m.mnt(dir)).handle;
          await nfs.null();
          assert.equal((await nfs.getattr(root)).type, Ftype3.DIR);
          const info = await nfs.fsinfo(root);
          assert.ok(info.rtmax > 0 && info.wtmax > 0);
          assert.ok((await nfs.fsstat(root)).tbytes > 0);
          assert.ok((await nfs.pathconf(root)).nameMax >= 255);
          const d = (await nfs.mkdir({
            dir: root,
            name: "procs",
            attrs: { mode: 0o755 },
          })).object!;
          const made = await nfs.create({
            dir: d,
            name: "f",
            mode: CreateMode.GUARDED,
            attrs: { mode: 0o644 },
          });
          const f = made.object ??
            (await nfs.lookup({ dir: d, name: "f" })).object;
          const data = enc.encode("ganesha!");
          const w = await nfs.write({
            file: f,
            offset: 0,
            count: data.length,
            stable: StableHow.UNSTABLE,
            data,
          });
          assert.equal(w.count, data.length);
          const c = await nfs.commit({ file: f, offset: 0, count: 0 });
          assert.deepEqual(c.verf, w.verf, "no restart in between");
          const r = await nfs.read({ file: f, offset: 0, count: 100 });
          assert.deepEqual(r.data, data);
          assert.equal(r.eof, true);
          const wcc = await nfs.setattr({ object: f, attrs: { mode: 0o600 } });
          assert.equal((wcc.after ?? await nfs.getattr(f)).mode & 0o777, 0o600);
          const acc = await nfs.access({
            object: f,
            access: Access3.READ | Access3.MODIFY,
          });
          assert.equal(acc.access, Access3.READ | Access3.MODIFY);
          await nfs.symlink({ dir: d, name: "l", attrs: {}, target: "f" });
          const l = await nfs.lookup({ dir: d, name: "l" });
          assert.equal((await nfs.readlink(l.object)).target, "f");
          await nfs.mknod({
            dir: d,
            name: "fifo",
            type: Ftype3.FIFO,
            attrs: { mode: 0o644 },
          });
          await nfs.link({ file: f, dir: d, name: "f2" });
          await nfs.rename({
            fromDir: d,
            fromName: "f2",
            toDir: root,
            toName: "moved",
          });
          const names = new Set<string>();
          const page = await nfs.readdir({
            dir: d,
            cookie: 0n,
            cookieverf: new Uint8Array(8),
            count: 8192,
          });
          for (const e of page.entries) names.add(e.name);
          assert.ok(["f", "l", "fifo"].every((n) => names.has(n)));
          const plus = await nfs.readdirplus({
            dir: d,
            cookie: 0n,
            cookieverf: new Uint8Array(8),
            dircount: 8192,
            maxcount: 65536,
          });
          assert.ok(plus.entries.some((e) => e.name === "f" && e.attrs));
          for (const name of ["f", "l", "fifo"]) {
            await nfs.remove({ dir: d, name });
          }
          await nfs.remove({ dir: root, name: "moved" });
          await nfs.rmdir({ dir: root, name: "procs" });
          const host = [...Deno.readDirSync(dir)].map((e) => e.name);
          assert.deepEqual(host, [], "the host folder is empty again");
        } finally {
          nfs.close();
          m.close();
          await Promise.all([nfs.rpc.closed, m.rpc.closed]);
        }
      });

      await t.step("NfsClient: a 64 MiB file in and out", async () => {
        await using nfs = await NfsClient.connect(url(0));
        const data = new Uint8Array(64 * MiB);
        for (let i = 0; i < data.length; i += 65536) {
          crypto.getRandomValues(data.subarray(i, i + 65536));
        }
        const want = await sha256(data);
        await nfs.writeFile("/big.bin", data);
        assert.equal(await sha256(await nfs.readFile("/big.bin")), want);
        assert.equal(
          await sha256(await Deno.readFile(`${dir}/big.bin`)),
          want,
          "the host file matches",
        );
        await nfs.remove("/big.bin");
      });

      await t.step("NfsClient: a 10,000-entry directory", async () => {
        await Deno.mkdir(`${dir}/many`);
        for (let i = 0; i < 10_000; i++) {
          Deno.writeFileSync(`${dir}/many/entry-${i}`, new Uint8Array(0));
        }
        await using nfs = await NfsClient.connect(url(0));
        const seen = new Set<string>();
        let count = 0;
        for await (const e of nfs.readDir("/many")) {
          count++;
          seen.add(e.name);
        }
        assert.equal(count, 10_000, "no entry twice");
        assert.equal(seen.size, 10_000);
        await nfs.remove("/many", { recursive: true });
        await assert.rejects(Deno.stat(`${dir}/many`), Deno.errors.NotFound);
      });

      await t.step("NfsClient: the path calls", async () => {
        await using nfs = await NfsClient.connect(url(0));
        await nfs.mkdir("/a/b", { recursive: true });
        await nfs.writeTextFile("/a/b/f", "text");
        await nfs.symlink("b/f", "/a/l");
        assert.equal(await nfs.readTextFile("/a/l"), "text");
        assert.equal((await nfs.lstat("/a/l")).isSymlink, true);
        assert.equal(await nfs.realPath("/a/l"), "/a/b/f");
        await nfs.link("/a/b/f", "/a/hard");
        assert.equal((await nfs.stat("/a/hard")).nlink, 2);
        await nfs.rename("/a/hard", "/a/renamed");
        await nfs.truncate("/a/renamed", 2);
        assert.equal(await nfs.readTextFile("/a/b/f"), "te");
        await nfs.chmod("/a/b/f", 0o640);
        await nfs.chown("/a/b/f", 1000, 1000);
        await nfs.utime("/a/b/f", 1_000_000, 2_000_000);
        const s = await Deno.stat(`${dir}/a/b/f`);
        assert.deepEqual([s.mode! & 0o777, s.uid, s.gid], [0o640, 1000, 1000]);
        assert.equal(s.mtime?.getTime(), 2_000_000_000);
        const f = await nfs.open("/a/b/f", { read: true, write: true });
        await f.seek(0, Deno.SeekMode.End);
        await f.write(enc.encode("xt"));
        await f.close();
        assert.equal(await Deno.readTextFile(`${dir}/a/b/f`), "text");
        assert.ok((await nfs.statfs()).totalBytes > 0);
        await nfs.remove("/a", { recursive: true });
      });

      await t.step("NfsClient: errors are reported as such", async () => {
        await using nfs = await NfsClient.connect(url(0));
        await using other = await NfsClient.connect(url(1000));
        await nfs.mkdir("/private", { mode: 0o700 });
        await nfs.writeTextFile("/file", "x");
        await nfs.mkdir("/full/sub", { recursive: true });
        await assert.rejects(
          nfs.stat("/missing"),
          (e) =>
            e instanceof Deno.errors.NotFound &&
            isStatus("NFS3ERR_NOENT", "/missing")(e),
        );
        await assert.rejects(
          other.writeTextFile("/private/f", "x"),
          (e) =>
            e instanceof Deno.errors.PermissionDenied &&
            isStatus("NFS3ERR_ACCES", "/private/f")(e),
        );
        await assert.rejects(
          nfs.stat("/file/x"),
          (e) =>
            e instanceof Deno.errors.NotADirectory &&
            isStatus("NFS3ERR_NOTDIR")(e),
        );
        await assert.rejects(
          nfs.mkdir("/private"),
          (e) =>
            e instanceof Deno.errors.AlreadyExists &&
            isStatus("NFS3ERR_EXIST", "/private")(e),
        );
        await assert.rejects(
          nfs.remove("/full"),
          (e) => isStatus("NFS3ERR_NOTEMPTY", "/full")(e),
        );
        for (const p of ["/private", "/file", "/full"]) {
          await nfs.remove(p, { recursive: true });
        }
      });

      await t.step("NfsClient: a URL below the export", async () => {
        await Deno.mkdir(`${dir}/sub/deeper`, { recursive: true });
        await Deno.writeTextFile(`${dir}/sub/deeper/f`, "deep");
        await using nfs = await NfsClient.connect(url(0, "/sub"));
        assert.equal(nfs.info.exportPath, `${dir}/sub`); // ganesha allows it
        assert.equal(await nfs.readTextFile("/deeper/f"), "deep");
        await nfs.remove("/deeper", { recursive: true });
      });
    } catch (e) {
      console.error(await g.log());
      throw e;
    } finally {
      await g.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
