// NfsClient.connect: URLs, how ports are found, which export is mounted,
// and what fails how.
import assert from "node:assert/strict";
import { MountClient } from "../../client/mount.ts";
import {
  decodeDirpath,
  encodeMntRes,
  type MntRes,
  MountProc,
  MountStatus,
} from "../../proto/mount.ts";
import { type Procedure, procedure } from "../../rpc/program.ts";
import { serveRpc } from "../../rpc/server.ts";
import { ExportTable } from "../../server/exports.ts";
import { mountProgram } from "../../server/mount.ts";
import { nfs3Program } from "../../server/nfs3/program.ts";
import { MemFs } from "../../vfs/memfs.ts";
import { ROOT } from "../../vfs/types.ts";
import { NfsClient } from "../../client/nfs_client.ts";
import { parseNfsUrl } from "../../client/url.ts";
import { freePort } from "../_net.ts";
import { client, serve } from "./_server.ts";

Deno.test("nfs url: the parts libnfs writes, and errors that name the part", () => {
  assert.deepEqual(
    parseNfsUrl(
      "nfs://server/export/dir/?version=3&nfsport=2049&mountport=635&uid=1&gid=2&readahead=1048576",
    ),
    {
      hostname: "server",
      path: "/export/dir",
      version: 3,
      nfsPort: 2049,
      mountPort: 635,
      uid: 1,
      gid: 2,
      readahead: 1048576,
    },
  );
  assert.deepEqual(parseNfsUrl("nfs://h"), { hostname: "h", path: "/" });
  assert.deepEqual(parseNfsUrl("nfs://h/a%20b"), {
    hostname: "h",
    path: "/a b",
  });
  assert.throws(() => parseNfsUrl("http://h/"), /Not an nfs:\/\/ URL/);
  assert.throws(
    () => parseNfsUrl("nfs://h/?version=4"),
    /Unsupported NFS version: 4/,
  );
  assert.throws(
    () => parseNfsUrl("nfs://h/?uid=-1"),
    /Invalid NFS URL argument: uid=-1/,
  );
  assert.throws(() => parseNfsUrl("nfs://h/?nfsport=65536"), /nfsport=65536/);
  assert.throws(
    () => parseNfsUrl("nfs://h/?foo=1"),
    /Unknown NFS URL argument: foo/,
  );
});

Deno.test("nfs connect: with only the NFS port, MOUNT is found on it", async () => {
  const s = serve();
  const nfs = await NfsClient.connect(`nfs://127.0.0.1:${s.port}/`);
  assert.equal(nfs.info.nfsPort, s.port);
  assert.equal(nfs.info.mountPort, s.port);
  assert.equal(nfs.info.version, 3);
  assert.equal(nfs.info.rsize, 1024 * 1024);
  await nfs.close();
  await s.close();
});

Deno.test("nfs connect: without ports, the portmapper is asked", async () => {
  const s = serve();
  // netfs answers portmap on its own port; a real server on port 111.
  const nfs = await NfsClient.connect("nfs://127.0.0.1/", {
    portmapPort: s.port,
  });
  assert.equal(nfs.info.nfsPort, s.port);
  await nfs.close();
  await s.close();
});

Deno.test("nfs connect: no portmapper is a clear error saying how to give ports", async () => {
  await assert.rejects(
    NfsClient.connect("nfs://127.0.0.1/", { portmapPort: freePort() }),
    (e) =>
      e instanceof Deno.errors.ConnectionRefused &&
      /^No portmapper at 127\.0\.0\.1:\d+: .*: give the ports in the URL/.test(
        e.message,
      ),
  );
});

Deno.test("nfs connect: nothing listening on the NFS port is ConnectionRefused", async () => {
  const port = freePort();
  await assert.rejects(
    NfsClient.connect(`nfs://127.0.0.1:${port}/?mountport=${port}`),
    (e) =>
      e instanceof Deno.errors.ConnectionRefused &&
      e.message.startsWith(`Cannot connect to 127.0.0.1:${port}: `),
  );
});

Deno.test("nfs connect: a path below an export starts there", async () => {
  const s = serve({ exports: [{ path: "/data" }] });
  const top = await client(s, { path: "/data" });
  await top.mkdir("/sub/dir", { recursive: true });
  await top.writeTextFile("/sub/dir/f", "inside");
  const below = await client(s, { path: "/data/sub" });
  // netfs mounts a directory inside an export directly; ganesha does not,
  // and the ganesha test shows the EXPORT-list fallback.
  assert.equal(below.info.exportPath, "/data/sub");
  assert.equal(await below.readTextFile("/dir/f"), "inside");
  assert.equal(await below.realPath("/.."), "/", "cannot climb out");
  await top.close();
  await below.close();
  await s.close();
});

Deno.test("nfs connect: where MNT takes only whole exports, the EXPORT list finds the one holding the path", async () => {
  const fs = new MemFs();
  const exports = new ExportTable([{ path: "/data", fs, squash: "none" }]);
  const mount = mountProgram({ exports });
  const mnt = mount.procedures[MountProc.MNT] as Procedure<string, MntRes>;
  const strict = procedure({
    name: "MNT",
    decode: decodeDirpath,
    run: (path: string, call) =>
      exports.exports.some((e) => e.path === path)
        ? mnt.run(path, call)
        : { status: MountStatus.NOENT },
    encode: encodeMntRes,
  });
  const server = serveRpc({
    port: 0,
    log: () => {},
    programs: [
      {
        ...mount,
        procedures: { ...mount.procedures, [MountProc.MNT]: strict },
      },
      nfs3Program({ exports, log: () => {} }),
    ],
  });
  const sub = await fs.mkdir(ROOT, fs.root, "sub");
  await fs.create(ROOT, sub.fileid, "f");
  const nfs = await NfsClient.connect(
    `nfs://127.0.0.1:${server.addr.port}/data/sub?uid=0&gid=0`,
  );
  assert.equal(nfs.info.exportPath, "/data");
  assert.deepEqual(
    await Array.fromAsync(nfs.readDir("/"), (e) => e.name),
    ["f"],
  );
  await nfs.close();
  await server.shutdown();
});

Deno.test("nfs connect: an unknown export is NotFound from MNT", async () => {
  const s = serve({ exports: [{ path: "/data" }] });
  await assert.rejects(
    NfsClient.connect(s.url("/other")),
    (e) =>
      e instanceof Deno.errors.NotFound &&
      e.message ===
        "No such file or directory (MNT3ERR_NOENT from MNT): /other",
  );
  await assert.rejects(
    NfsClient.connect(s.url("/data/missing")),
    Deno.errors.NotFound,
  );
  await s.close();
});

Deno.test("nfs connect: version=2 speaks NFSv2 with MOUNT v1, 8 KiB at a time", async () => {
  const s = serve();
  const nfs = await client(s, { params: { version: 2 } });
  assert.equal(nfs.info.version, 2);
  assert.equal(nfs.info.mountPort, s.port, "MOUNT v1 found on the NFS port");
  assert.equal(nfs.info.root.byteLength, 32);
  assert.equal(nfs.info.rsize, 8192);
  assert.equal(nfs.info.wsize, 8192);
  await nfs.writeTextFile("/v2.txt", "two");
  assert.equal(await nfs.readTextFile("/v2.txt"), "two");
  await nfs.close();
  await s.close();
});

Deno.test("nfs connect: without a version, a server with NFSv2 only is spoken to in v2 (PROG_MISMATCH)", async () => {
  const s = serve({ versions: [2] });
  const nfs = await client(s);
  assert.equal(nfs.info.version, 2);
  assert.equal(nfs.info.mountPort, s.port);
  await nfs.mkdir("/d");
  assert.equal((await nfs.stat("/d")).isDirectory, true);
  await nfs.close();
  await s.close();
});

Deno.test("nfs connect: without a version or ports, the portmapper's list picks v3, else v2", async () => {
  for (const [versions, want] of [[[2, 3], 3], [[2], 2]] as const) {
    const s = serve({ versions: [...versions] });
    const nfs = await NfsClient.connect("nfs://127.0.0.1/?uid=0&gid=0", {
      portmapPort: s.port,
    });
    assert.equal(nfs.info.version, want, `server with ${versions}`);
    assert.equal(nfs.info.nfsPort, s.port);
    assert.equal(nfs.info.mountPort, s.port);
    await nfs.writeTextFile("/f", "x");
    await nfs.close();
    await s.close();
  }
});

Deno.test("nfs connect: a version the server lacks is NotSupported naming what it has", async () => {
  const two = serve({ versions: [2] });
  await assert.rejects(
    client(two, { params: { version: 3 } }),
    (e) =>
      e instanceof Deno.errors.NotSupported &&
      e.message ===
        `NFS server at 127.0.0.1:${two.port} speaks versions 2 to 2, not 3`,
  );
  await two.close();
  const three = serve({ versions: [3] });
  await assert.rejects(
    client(three, { params: { version: 2 } }),
    (e) =>
      e instanceof Deno.errors.NotSupported &&
      /speaks versions 3 to 3, not 2$/.test(e.message),
  );
  await three.close();
});

Deno.test("nfs connect: a server with neither v3 nor v2 is NotSupported", async () => {
  const four = serve({ versions: [4] });
  await assert.rejects(
    client(four),
    (e) =>
      e instanceof Deno.errors.NotSupported &&
      /speaks versions 4 to 4, not 3 or 2$/.test(e.message),
  );
  await four.close();
});

Deno.test("nfs connect: close unmounts (DUMP forgets the client)", async () => {
  const s = serve();
  const nfs = await client(s);
  const m = await MountClient.connect({ hostname: "127.0.0.1", port: s.port });
  assert.equal((await m.dump()).length, 1);
  await nfs.close();
  assert.deepEqual(await m.dump(), []);
  m.close();
  await m.rpc.closed;
  await s.close();
});
