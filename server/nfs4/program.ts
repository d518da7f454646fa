/**
 * The NFSv4 program (100003, version 4): NULL and COMPOUND, with minor
 * versions 0, 1 and 2 (RFC 7530, RFC 8881, RFC 7862 with RFC 8276's
 * extended attributes).
 *
 * COMPOUND replies are not kept in the RPC duplicate-request cache, as in
 * the kernel's nfsd: 4.0 replays what the open and lock owners' seqids
 * protect, and 4.1 answers retries from the session's slots.
 *
 * @module
 */

import type { RpcProgram } from "../../rpc/program.ts";
import { compoundProcedure, type Op } from "./compound.ts";
import { type Nfs4Options, Nfs4Server } from "./context.ts";
import { clientOps } from "./ops/clients.ts";
import { fhOps } from "./ops/fh.ts";
import { attrOps } from "./ops/attrs.ts";
import { readdirOps } from "./ops/readdir.ts";
import { namespaceOps } from "./ops/namespace.ts";
import { secinfoOps } from "./ops/secinfo.ts";
import { ioOps } from "./ops/io.ts";
import { lockOps } from "./ops/locks.ts";
import { openOps } from "./ops/open.ts";
import { optionalOps } from "./ops/optional.ts";
import { sessionOps } from "./ops/sessions.ts";
import { sparseOps } from "./ops/sparse.ts";
import { readPlusOps } from "./ops/read_plus.ts";
import { copyOps } from "./ops/copy.ts";
import { xattrOps } from "./ops/xattrs.ts";

export type { Nfs4Options } from "./context.ts";
export type { Nfs4IdMapping } from "./idmap.ts";

/** RPC program number of NFS. */
const NFS_PROGRAM = 100003;

/** Every operation this server knows, by number. */
export function nfs4Ops(): ReadonlyMap<number, Op> {
  return new Map<number, Op>([
    ...fhOps,
    ...attrOps,
    ...readdirOps,
    ...namespaceOps,
    ...secinfoOps,
    ...ioOps,
    ...clientOps,
    ...sessionOps,
    ...openOps,
    ...lockOps,
    ...optionalOps,
    ...sparseOps,
    ...readPlusOps,
    ...copyOps,
    ...xattrOps,
  ]);
}

/**
 * Builds the NFSv4 program over an export table.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ExportTable, nfs4Program } from "@netfs/netfs/server";
 * import { MemFs } from "@netfs/netfs/vfs";
 * const exports = new ExportTable([{ path: "/", fs: new MemFs() }]);
 * const program = nfs4Program({ exports });
 * assert.equal(program.version, 4);
 * ```
 */
export function nfs4Program(options: Nfs4Options): RpcProgram {
  return nfs4ProgramOf(new Nfs4Server(options));
}

/**
 * The NFSv4 program over program state made by the caller, with `ops` in
 * place of the server's own operations when given (tests reach in).
 */
export function nfs4ProgramOf(
  nfs: Nfs4Server,
  ops: ReadonlyMap<number, Op> = nfs4Ops(),
): RpcProgram {
  return {
    program: NFS_PROGRAM,
    version: 4,
    name: "nfs",
    procedures: {
      0: { name: "NULL", run: () => {} },
      1: compoundProcedure(nfs, ops),
    },
    close: () => nfs.close(),
  };
}
