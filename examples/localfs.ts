// deno run --allow-net --allow-read=./export --allow-write=./export examples/localfs.ts ./export
//
// Serves a host directory over NFSv3 and NFSv4 (4.0 and 4.1). File handles
// stay valid across restarts (the directory keeps a small FileId journal in
// ./export/.netfs), so a client that stays mounted while the server
// restarts carries on. Mount it with a command the server prints, for
// example:
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
//
// Creating symlinks needs unscoped --allow-read --allow-write; with the
// scoped permissions above, SYMLINK answers "not supported".
/**
 * Example: serve a host directory over NFSv3 and NFSv4.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { serveNfs } from "../server/serve.ts";
import type { Squash } from "../server/exports.ts";
import { LocalFs } from "../vfs/localfs.ts";

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

const fs = await LocalFs.open(dir);
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
