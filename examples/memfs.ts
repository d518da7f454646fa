// deno run --allow-net examples/memfs.ts [--host 127.0.0.1] [--port 11111]
//
// Serves a writable in-memory file system over NFSv2, NFSv3 and NFSv4 (4.0
// and 4.1), seeded with a README and a sample directory. Everything lives in
// memory and is gone when the server stops. Mount it with a command the
// server prints, for example:
//
//   sudo mount -t nfs -o vers=3,proto=tcp,port=11111,mountport=11111,mountproto=tcp,nolock 127.0.0.1:/ /mnt
//   sudo mount -t nfs -o vers=4.1,proto=tcp,port=11111 127.0.0.1:/ /mnt
//   sudo mount -t nfs -o vers=2,proto=tcp,port=11111,mountport=11111,mountproto=tcp,nolock 127.0.0.1:/ /mnt
//
// Options:
//   --host ADDR       address to listen on (default 127.0.0.1)
//   --port N          TCP port for portmap, MOUNT and NFS v2, v3 and v4 (default 11111)
//   --path /NAME      export path (default "/"; Windows needs a name such as /data)
//   --clients LIST    comma-separated addresses/CIDRs allowed (default loopback)
//   --squash MODE     root | none | all (default none: the client's ids are used)
//   --read-only       refuse every change
/**
 * Example: serve an in-memory file system over NFSv2, NFSv3 and NFSv4.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { serveNfs } from "../server/serve.ts";
import type { Squash } from "../server/exports.ts";
import { MemFs } from "../vfs/memfs.ts";
import { ROOT } from "../vfs/types.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    host: { type: "string", default: "127.0.0.1" },
    port: { type: "string", default: "11111" },
    path: { type: "string", default: "/" },
    clients: { type: "string" },
    squash: { type: "string", default: "none" },
    "read-only": { type: "boolean", default: false },
  },
});

const squash = values.squash as Squash;
if (!["root", "none", "all"].includes(squash)) {
  console.error(`Invalid --squash: ${values.squash}`);
  Deno.exit(2);
}

// A world-writable root with the sticky bit, like /tmp: any client user may
// create files, and only an entry's owner may remove it.
const fs = new MemFs({ rootMode: 0o1777 });
const enc = new TextEncoder();
const readme = await fs.create(ROOT, fs.root, "README.txt", {
  attrs: { mode: 0o644 },
});
await fs.write(
  ROOT,
  readme.fileid,
  0,
  enc.encode(
    "This is an in-memory NFSv2, NFSv3 and NFSv4 export served by netfs.\n" +
      "Anything written here lives in memory and is gone when the server stops.\n",
  ),
);
const sample = await fs.mkdir(ROOT, fs.root, "sample", { mode: 0o1777 });
const hello = await fs.create(ROOT, sample.fileid, "hello.txt", {
  attrs: { mode: 0o644 },
});
await fs.write(ROOT, hello.fileid, 0, enc.encode("Hello from netfs!\n"));
const nested = await fs.mkdir(ROOT, sample.fileid, "nested", { mode: 0o755 });
const numbers = await fs.create(ROOT, nested.fileid, "numbers.csv", {
  attrs: { mode: 0o644 },
});
await fs.write(
  ROOT,
  numbers.fileid,
  0,
  enc.encode(
    "n,square\n" +
      Array.from({ length: 10 }, (_, i) => `${i},${i * i}`).join("\n") + "\n",
  ),
);
await fs.symlink(ROOT, sample.fileid, "link-to-hello", "hello.txt");

const server = serveNfs({
  hostname: values.host,
  port: Number(values.port),
  exports: [{
    path: values.path,
    fs,
    squash,
    readOnly: values["read-only"],
    clients: values.clients?.split(",").map((s) => s.trim()).filter(Boolean),
  }],
});
await server.finished;
