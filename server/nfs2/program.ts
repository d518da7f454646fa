/**
 * The NFSv2 program (100003, version 2) with all 18 procedures of RFC 1094.
 *
 * ROOT and WRITECACHE are obsolete: like knfsd, the server answers them
 * with an empty success reply, whatever their arguments.
 *
 * @example NFSv2 and MOUNT v1 in an RPC server of your own: mount, look up, read
 * ```ts
 * import { RpcClient, serveRpc } from "@netfs/netfs/rpc";
 * import { ExportTable, mountPrograms, nfs2Program } from "@netfs/netfs/server";
 * import { MemFs, ROOT } from "@netfs/netfs/vfs";
 * import assert from "node:assert/strict";
 *
 * const fs = new MemFs();
 * const file = await fs.create(ROOT, fs.root, "hello.txt");
 * await fs.write(ROOT, file.fileid, 0, new TextEncoder().encode("hello"));
 * const exports = new ExportTable([{ path: "/", fs }]);
 * const server = serveRpc({
 *   port: 0,
 *   programs: [...mountPrograms({ exports, versions: [1] }), nfs2Program({ exports })],
 * });
 * const client = await RpcClient.connect({ hostname: "127.0.0.1", port: server.addr.port });
 * const mnt = await client.call(100005, 1, 1, (w) => w.string("/")); // MOUNT v1 MNT
 * assert.equal(mnt.u32(), 0);
 * const root = mnt.fixedOpaque(32); // version 2 handles are 32 bytes
 * const found = await client.call(100003, 2, 4, (w) => w.fixedOpaque(root).string("hello.txt")); // LOOKUP
 * assert.equal(found.u32(), 0); // NFS_OK
 * const fh = found.fixedOpaque(32);
 * const read = await client.call(100003, 2, 6, (w) => w.fixedOpaque(fh).u32(0).u32(100).u32(0)); // READ
 * assert.equal(read.u32(), 0);
 * read.fixedOpaque(68); // the file's attributes
 * assert.equal(new TextDecoder().decode(read.opaque(8192)), "hello");
 * client.close();
 * await server.shutdown();
 * ```
 *
 * @module
 */

import type { RpcProgram } from "../../rpc/program.ts";
import {
  NFS_PROGRAM,
  NFS_VERSION,
  NFSPROC_NULL,
  NFSPROC_ROOT,
  NFSPROC_WRITECACHE,
} from "../../proto/nfs2/mod.ts";
import { bindProcedures } from "../nfs3/procedure.ts";
import { attrProcedures } from "./attrs.ts";
import { Nfs2Context, type Nfs2Options } from "./context.ts";
import { createProcedures } from "./create.ts";
import { ioProcedures } from "./io.ts";
import { lookupProcedures } from "./lookup.ts";
import { readdirProcedures } from "./readdir.ts";
import { removeProcedures } from "./remove.ts";

export type { Nfs2Options } from "./context.ts";

/**
 * Builds the NFSv2 program over an export table. Serve it next to MOUNT
 * version 1 on the same table (as `serveNfs` does), or clients have no
 * way to get a first handle.
 */
export function nfs2Program(options: Nfs2Options): RpcProgram {
  const nfs = new Nfs2Context(options);
  const procedures = bindProcedures(nfs, [
    attrProcedures,
    lookupProcedures,
    ioProcedures,
    createProcedures,
    removeProcedures,
    readdirProcedures,
  ], {
    [NFSPROC_NULL]: { name: "NULL", run: () => {} },
    [NFSPROC_ROOT]: { name: "ROOT", run: () => {} },
    [NFSPROC_WRITECACHE]: { name: "WRITECACHE", run: () => {} },
  });
  return {
    program: NFS_PROGRAM,
    version: NFS_VERSION,
    name: "nfs",
    procedures,
  };
}
