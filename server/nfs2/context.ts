/**
 * State shared by the NFSv2 procedures (named `nfs` where they get it):
 * the export table, the READDIR cookie table, handles, and the error
 * mapping; and the shape of a procedure row.
 *
 * Rows are NFSv3's ({@link NfsProcedure}, bound by the same adapter in
 * server/nfs3/procedure.ts): the row names its file handle, the adapter
 * resolves it and turns what `run` throws into a status with the table of
 * errors.ts. A version 2 failure reply is the status alone, so rows have
 * no `fail`.
 *
 * @module
 */

import type { CallContext } from "../../rpc/program.ts";
import { encode_nfsstat, nfsstat } from "../../proto/nfs2/mod.ts";
import type { XdrWriter } from "../../rpc/xdr.ts";
import type { FileId } from "../../vfs/types.ts";
import { VfsError } from "../../vfs/errors.ts";
import type { Export, ExportTable } from "../exports.ts";
import { decodeHandle, unpadHandle } from "../handles.ts";
import {
  HandleCache,
  type ResolveFailure,
  resolveHandle,
  type Target,
} from "../_targets.ts";
import type { NfsContext, NfsProcedure } from "../nfs3/procedure.ts";
import { CookieTable } from "./cookies.ts";
import { nfs2StatusOf } from "./errors.ts";

/** Options of the NFSv2 program. */
export interface Nfs2Options {
  /** The exports. */
  exports: ExportTable;
  /** Where unexpected failures are logged. Default `console.error`. */
  log?: (msg: string) => void;
}

// Version 2 has no BADHANDLE: a handle this server did not make is as
// unusable as one whose object is gone (knfsd answers STALE too).
const RESOLVE_STATUS: Record<ResolveFailure, nfsstat> = {
  badhandle: nfsstat.NFSERR_STALE,
  stale: nfsstat.NFSERR_STALE,
  acces: nfsstat.NFSERR_ACCES,
  perm: nfsstat.NFSERR_PERM,
};

/** The shared state of one NFSv2 program instance. */
export class Nfs2Context implements NfsContext {
  /** The exports. */
  readonly table: ExportTable;
  /** Logs unexpected failures. */
  readonly log: (msg: string) => void;
  /** READDIR cookies too large for the wire. */
  readonly cookies: CookieTable = new CookieTable();
  readonly #handles = new HandleCache(true);

  /** Builds the state from `options`. */
  constructor(options: Nfs2Options) {
    this.table = options.exports;
    this.log = options.log ?? ((m) => console.error(m));
  }

  /**
   * Resolves a 32-byte handle for a call: STALE for garbage, another
   * server instance's handle or an unknown export, ACCES for a client the
   * export does not allow, PERM for an unprivileged port on a secure export.
   */
  resolve(fh: Uint8Array, call: CallContext): Target | number {
    const inner = unpadHandle(fh);
    const t = resolveHandle(
      this.table,
      inner && decodeHandle(inner),
      call,
    );
    return typeof t === "string" ? RESOLVE_STATUS[t] : t;
  }

  /** The 32-byte handle of object `fileid` in `exp` (shared: callers only encode it). */
  handle(exp: Export, fileid: FileId): Uint8Array {
    return this.#handles.get(exp, fileid);
  }

  /** The status for a failure; unexpected exceptions are logged. */
  status(e: unknown, what: string): number {
    if (!(e instanceof VfsError)) {
      this.log(
        `NFS2 ${what} failed, answering NFSERR_IO: ${(e as Error)?.stack ?? e}`,
      );
    }
    return nfs2StatusOf(e);
  }
}

/** One NFSv2 procedure (see {@link NfsProcedure}). */
export type Nfs2Procedure<A, R extends { status: number }> = NfsProcedure<
  Nfs2Context,
  A,
  R
>;

/** Types an {@link Nfs2Procedure} row from its decoder and encoder, and returns it. */
export function nfs2Procedure<A, R extends { status: number }>(
  row: Nfs2Procedure<A, R>,
): Nfs2Procedure<A, R> {
  return row;
}

/** The result of the procedures that answer a status alone. */
export interface StatusRes {
  /** An nfsstat value. */
  status: number;
}

/** Encodes a {@link StatusRes}: the nfsstat alone. */
export function encodeStatus(w: XdrWriter, res: StatusRes): void {
  encode_nfsstat(w, res.status as nfsstat);
}
