// Native engine (Linux; the kernel confines every lookup, and MKNOD, symlinks
// and xattrs work):
//   deno run --allow-net --allow-ffi --allow-read=./export --allow-write=./export examples/localfs.ts ./export
// Portable engine (pure Deno, scoped permissions, any OS):
//   deno run --allow-net --allow-read=./export --allow-write=./export examples/localfs.ts ./export
//
// Serves a host directory over NFSv3 and NFSv4 (4.0, 4.1) with the native LocalFs engine when
// --allow-ffi is given on Linux, the portable one otherwise (it prints which).
// File handles stay valid across restarts, and across a change of engine
// (the directory keeps a small FileId journal in ./export/.netfs), so a
// client that stays mounted while the server restarts carries on.
// Mount it with a command the server prints, for example:
//
//   sudo mount -t nfs -o vers=3,proto=tcp,port=11111,mountport=11111,mountproto=tcp,nolock 127.0.0.1:/ /mnt
//   sudo mount -t nfs -o vers=4.1,proto=tcp,port=11111 127.0.0.1:/ /mnt
//
// Options:
//   --host ADDR       address to listen on (default 127.0.0.1)
//   --port N          TCP port for portmap, MOUNT and NFS v3 and v4 (default 11111)
//   --path /NAME      export path (default "/"; Windows needs a name such as /data)
//   --clients LIST    comma-separated addresses/CIDRs allowed (default loopback)
//   --squash MODE     root (default) | none | all
//   --anon-uid N      uid for squashed callers (default 65534)
//   --anon-gid N      gid for squashed callers (default 65534)
//   --read-only       refuse every change
//   --engine E        native | portable | auto (default auto)
//   --state-dir DIR   where the FileId journal lives (default DIR/.netfs;
//                     "none" keeps it in memory)
//
// The portable engine creates symlinks only with unscoped --allow-read
// --allow-write (SYMLINK answers "not supported" otherwise). Deno asks for
// --allow-all for any path under /dev: to serve /dev/shm/x with scoped
// flags, use the native engine and --state-dir outside /dev (or "none").
/**
 * Example: serve a host directory over NFSv3 and NFSv4.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { serveNfs } from "../server/serve.ts";
import type { Squash } from "../server/exports.ts";
import { LocalFs, type LocalFsEngine } from "../vfs/localfs.ts";

const { values, positionals } = parseArgs({
  args: Deno.args,
  allowPositionals: true,
  options: {
    host: { type: "string", default: "127.0.0.1" },
    port: { type: "string", default: "11111" },
    path: { type: "string", default: "/" },
    clients: { type: "string" },
    squash: { type: "string", default: "root" },
    "anon-uid": { type: "string", default: "65534" },
    "anon-gid": { type: "string", default: "65534" },
    "read-only": { type: "boolean", default: false },
    engine: { type: "string", default: "auto" },
    "state-dir": { type: "string" },
  },
});

const dir = positionals[0];
if (dir === undefined) {
  console.error("Usage: examples/localfs.ts [options] DIRECTORY");
  Deno.exit(2);
}
const squash = values.squash as Squash;
if (!["root", "none", "all"].includes(squash)) {
  console.error(`Invalid --squash: ${values.squash}`);
  Deno.exit(2);
}

const engine = values.engine as LocalFsEngine | "auto";
if (!["native", "portable", "auto"].includes(engine)) {
  console.error(`Invalid --engine: ${values.engine}`);
  Deno.exit(2);
}
const stateDir = values["state-dir"];
let fs: LocalFs;
try {
  fs = await LocalFs.open(dir, {
    engine,
    stateDir: stateDir === "none" ? false : stateDir,
  });
} catch (e) {
  // One line saying what to do (a missing permission, a wrong path), not a trace.
  console.error(`localfs: ${(e as Error).message}`);
  Deno.exit(1);
}
console.error(`localfs: serving ${dir} with the ${fs.engine} engine`);
const server = serveNfs({
  hostname: values.host,
  port: Number(values.port),
  exports: [{
    path: values.path,
    fs,
    squash,
    anonUid: Number(values["anon-uid"]),
    anonGid: Number(values["anon-gid"]),
    readOnly: values["read-only"],
    clients: values.clients?.split(",").map((s) => s.trim()).filter(Boolean),
    // LocalFs FileIds survive a restart, so handles may too.
    stableHandles: true,
  }],
});
await server.finished;
await fs.close();
