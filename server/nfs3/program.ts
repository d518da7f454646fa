/**
 * The NFSv3 program (100003, version 3) with all 22 procedures of RFC 1813.
 *
 * @example NFSv3 and MOUNT in an RPC server of your own: mount, look up, read
 * ```ts
 * import { RpcClient, serveRpc } from "@netfs/netfs/rpc";
 * import { ExportTable, mountProgram, nfs3Program } from "@netfs/netfs/server";
 * import { MemFs, ROOT } from "@netfs/netfs/vfs";
 * import assert from "node:assert/strict";
 *
 * const fs = new MemFs();
 * const file = await fs.create(ROOT, fs.root, "hello.txt");
 * await fs.write(ROOT, file.fileid, 0, new TextEncoder().encode("hello"));
 * // One table for both: MOUNT hands out the handles NFS resolves.
 * const exports = new ExportTable([{ path: "/", fs }]);
 * const server = serveRpc({
 *   port: 0,
 *   programs: [mountProgram({ exports }), nfs3Program({ exports })],
 * });
 * const client = await RpcClient.connect({ hostname: "127.0.0.1", port: server.addr.port });
 * const mnt = await client.call(100005, 3, 1, (w) => w.string("/")); // MNT
 * assert.equal(mnt.u32(), 0);
 * const root = mnt.opaque(64);
 * const found = await client.call(100003, 3, 3, (w) => w.opaque(root).string("hello.txt")); // LOOKUP
 * assert.equal(found.u32(), 0); // NFS3_OK
 * const fh = found.opaque(64);
 * const read = await client.call(100003, 3, 6, (w) => w.opaque(fh).u64(0).u32(100)); // READ
 * assert.equal(read.u32(), 0);
 * assert.equal(read.bool(), true); // the file's attributes follow
 * read.fixedOpaque(84);
 * assert.equal(read.u32(), 5); // bytes read
 * assert.equal(read.bool(), true); // end of file
 * assert.equal(new TextDecoder().decode(read.opaque(100)), "hello");
 * client.close();
 * await server.shutdown();
 * ```
 *
 * @module
 */

import type { RpcProgram } from "../../rpc/program.ts";
import { Nfs3Proc, NFS_PROGRAM, NFS_V3 } from "../../proto/nfs3.ts";
import { attrProcedures } from "./attrs.ts";
import { Nfs3Context, type Nfs3Options } from "./context.ts";
import { createProcedures } from "./create.ts";
import { fsinfoProcedures } from "./fsinfo.ts";
import { ioProcedures } from "./io.ts";
import { lookupProcedures } from "./lookup.ts";
import { bindProcedures } from "./procedure.ts";
import { readdirProcedures } from "./readdir.ts";
import { removeProcedures } from "./remove.ts";

export type { Nfs3Options } from "./context.ts";

/**
 * Builds the NFSv3 program over an export table. Serve it next to
 * `mountProgram` on the same table (as `serveNfs` does), or clients
 * have no way to get a first handle.
 */
export function nfs3Program(options: Nfs3Options): RpcProgram {
  const nfs = new Nfs3Context(options);
  const procedures = bindProcedures(nfs, [
    attrProcedures,
    lookupProcedures,
    ioProcedures,
    createProcedures,
    removeProcedures,
    readdirProcedures,
    fsinfoProcedures,
  ], { [Nfs3Proc.NULL]: { name: "NULL", run: () => {} } });
  return { program: NFS_PROGRAM, version: NFS_V3, name: "nfs", procedures };
}
