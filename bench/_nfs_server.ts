// The netfs side of bench/nfs_bench.ts: serves MemFs (default) or LocalFs
// over --dir on --port, root not squashed (as ganesha is configured).
// --engine native|portable picks LocalFs's engine (native needs --allow-ffi).
//
//   deno run --allow-net=127.0.0.1 [--allow-read=DIR --allow-write=DIR [--allow-ffi]] bench/_nfs_server.ts --port P [--dir DIR [--engine E]]
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
  },
});
const fs: FileSystem = values.dir
  ? await (await import("../vfs/localfs.ts")).LocalFs.open(values.dir, {
    engine: values.engine as "native" | "portable" | "auto",
  })
  : new MemFs({ rootMode: 0o1777 });
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
