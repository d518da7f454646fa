/**
 * The NFSv3 program (100003, version 3) with all 22 procedures of RFC 1813.
 *
 * @example Serve one MemFs export with the RPC server
 * ```ts ignore
 * import { nfs3Program } from "./program.ts";
 * import { ExportTable } from "../exports.ts";
 * import { serveRpc } from "../../rpc/server.ts";
 * import { MemFs } from "../../vfs/memfs.ts";
 * const exports = new ExportTable([{ path: "/", fs: new MemFs() }]);
 * const server = serveRpc({ port: 0, programs: [nfs3Program({ exports })] });
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
import { bindProcedure } from "./procedure.ts";
import { readdirProcedures } from "./readdir.ts";
import { removeProcedures } from "./remove.ts";

export type { Nfs3Options } from "./context.ts";

/**
 * Builds the NFSv3 program over an export table.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { nfs3Program } from "./program.ts";
 * import { ExportTable } from "../exports.ts";
 * import { MemFs } from "../../vfs/memfs.ts";
 * const fs = new MemFs();
 * const prog = nfs3Program({ exports: new ExportTable([{ path: "/", fs }]) });
 * assert.equal(Object.keys(prog.procedures).length, 22);
 * ```
 */
export function nfs3Program(options: Nfs3Options): RpcProgram {
  const nfs = new Nfs3Context(options);
  const procedures: RpcProgram["procedures"] = {
    [Nfs3Proc.NULL]: { name: "NULL", run: () => {} },
  };
  for (
    const group of [
      attrProcedures,
      lookupProcedures,
      ioProcedures,
      createProcedures,
      removeProcedures,
      readdirProcedures,
      fsinfoProcedures,
    ]
  ) {
    for (const [num, row] of Object.entries(group)) {
      procedures[Number(num)] = bindProcedure(nfs, row);
    }
  }
  return { program: NFS_PROGRAM, version: NFS_V3, name: "nfs", procedures };
}
