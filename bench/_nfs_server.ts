// The netfs side of bench/nfs_bench.ts: serves MemFs (default) or LocalFs
// over --dir on --port, root not squashed (as ganesha is configured).
// --engine native|portable picks LocalFs's engine (native needs --allow-ffi).
// --discard: writes keep nothing (MemFs only).
// --async: LocalFs does not fsync a directory after each change of its
// entries (syncMetadata false, knfsd's `async` export).
//
// --allow-ffi also turns on the receive low-water marks (lowWater).
//
//   deno run --allow-net=127.0.0.1 [--allow-ffi] [--allow-read=DIR --allow-write=DIR] bench/_nfs_server.ts --port P [--dir DIR [--engine E] [--async]]
import { parseArgs } from "node:util";
import { serveNfs } from "../server/serve.ts";
import type { FileSystem } from "../vfs/types.ts";
import { MemFs } from "../vfs/memfs.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    port: { type: "string", default: "11111" },
    dir: { type: "string" },
    engine: { type: "string", default: "auto" },
    // MemFs whose writes keep nothing, as ganesha's MEM FSAL: the RPC
    // path's own cost (bench/seqio_bench.ts --floor).
    discard: { type: "boolean", default: false },
    async: { type: "boolean", default: false },
  },
});
const fs: FileSystem = values.dir
  ? await (await import("../vfs/localfs.ts")).LocalFs.open(values.dir, {
    engine: values.engine as "native" | "portable" | "auto",
    syncMetadata: !values.async,
  })
  : new MemFs({ rootMode: 0o1777 });
if (values.discard) {
  fs.write = (cred, id, _offset, data) =>
    fs.getattr(cred, id).then((attrs) => ({
      count: data.byteLength,
      committed: "file",
      attrs,
    }));
}
const server = serveNfs({
  port: Number(values.port),
  quiet: true,
  exports: [{
    path: "/",
    fs,
    squash: "none",
    stableHandles: values.dir !== undefined,
  }],
});
Deno.addSignalListener("SIGTERM", () => void server.shutdown());
await server.finished;
await fs.close?.();
Deno.exit(0);
