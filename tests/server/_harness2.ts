// A server with MOUNT v1 + NFSv2 over a MemFs on port 0, and a typed caller
// through our RpcClient, for the NFSv2 tests (the v3 one is _harness.ts).
import { RpcClient } from "../../rpc/client.ts";
import { serveRpc } from "../../rpc/server.ts";
import type { RpcServer } from "../../rpc/server.ts";
import type { XdrReader, XdrWriter } from "../../rpc/xdr.ts";
import type { AuthSysParms } from "../../rpc/program.ts";
import { encodeDirpath, MOUNT_PROGRAM, MOUNT_V1 } from "../../proto/mount.ts";
import * as P from "../../proto/nfs2/mod.ts";
import {
  decode_fhstatus,
  NFS_PROGRAM,
  NFS_VERSION,
  nfsstat as S,
} from "../../proto/nfs2/mod.ts";
import assert from "node:assert/strict";
import type { ExportOptions, ExportTable } from "../../server/exports.ts";
import { encodeHandle, padHandle } from "../../server/handles.ts";
import { mountPrograms } from "../../server/mount.ts";
import { nfs2Program } from "../../server/nfs2/program.ts";
import type { FileSystem } from "../../vfs/types.ts";
import { MemFs } from "../../vfs/memfs.ts";
import { exportTable, sys } from "./_harness.ts";

export { sys };

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

export interface Harness2 {
  server: RpcServer;
  client: RpcClient;
  exports: ExportTable;
  /** The root handle of each export, by export index. */
  roots: Uint8Array[];
  root: Uint8Array;
  nfs<T>(
    proc: number,
    enc: (w: XdrWriter) => void,
    dec: (r: XdrReader) => T,
    auth?: AuthSysParms | "none",
  ): Promise<T>;
  close(): Promise<void>;
}

export async function start2(options: {
  exports?: Partial<ExportOptions>[];
  fs?: FileSystem;
  log?: (msg: string) => void;
} = {}): Promise<Harness2> {
  const exports = exportTable(options.fs ?? new MemFs(), options.exports);
  const server = serveRpc({
    port: 0,
    programs: [
      ...mountPrograms({ exports, versions: [1] }),
      nfs2Program({ exports, log: options.log ?? (() => {}) }),
    ],
    log: () => {},
  });
  const client = await RpcClient.connect({
    hostname: "127.0.0.1",
    port: server.addr.port,
    auth: sys(0),
  });
  // Every export's root handle as the server makes them; MNT must agree
  // for the first.
  const roots = exports.exports.map((e) =>
    padHandle(
      encodeHandle({ exportId: e.id, verifier: e.verifier, fileid: e.root }),
    )
  );
  const mnt = decode_fhstatus(
    await client.call(
      MOUNT_PROGRAM,
      MOUNT_V1,
      1,
      (w) => encodeDirpath(w, exports.exports[0].path),
    ),
  );
  if (!("directory" in mnt) || !equal(mnt.directory, roots[0])) {
    throw new Error(`MNT failed: ${mnt.status}`);
  }
  return {
    server,
    client,
    exports,
    roots,
    root: roots[0],
    async nfs(proc, enc, dec, auth) {
      const r = await client.call(
        NFS_PROGRAM,
        NFS_VERSION,
        proc,
        enc,
        auth ? { auth } : {},
      );
      const v = dec(r);
      r.end();
      return v;
    },
    async close() {
      client.close();
      await client.closed;
      await server.shutdown();
    },
  };
}

export const UNSET = 0xffffffff;
const NO_TIME = { seconds: UNSET, useconds: UNSET };

export function sattr(s: Partial<P.sattr> = {}): P.sattr {
  return {
    mode: UNSET,
    uid: UNSET,
    gid: UNSET,
    size: UNSET,
    atime: NO_TIME,
    mtime: NO_TIME,
    ...s,
  };
}

export async function getattr(h: Harness2, fh: Uint8Array) {
  return await h.nfs(
    P.NFSPROC_GETATTR,
    (w) => P.encode_fhandle(w, fh),
    P.decode_attrstat,
  );
}

export async function lookup(h: Harness2, dir: Uint8Array, name: string) {
  return await h.nfs(
    P.NFSPROC_LOOKUP,
    (w) => P.encode_diropargs(w, { dir, name }),
    P.decode_diropres,
  );
}

export async function create(
  h: Harness2,
  dir: Uint8Array,
  name: string,
  attrs: Partial<P.sattr> = { mode: 0o100644 },
  proc = P.NFSPROC_CREATE,
) {
  return await h.nfs(
    proc,
    (w) =>
      P.encode_createargs(w, {
        where: { dir, name },
        attributes: sattr(attrs),
      }),
    P.decode_diropres,
  );
}

/** The handle of a new file, asserting that CREATE succeeded. */
export async function file(h: Harness2, dir: Uint8Array, name: string) {
  const r = await create(h, dir, name);
  assert.ok(r.status === S.NFS_OK, `CREATE ${name}: ${r.status}`);
  return r.diropres.file;
}

export async function mkdir(h: Harness2, dir: Uint8Array, name: string) {
  const r = await create(h, dir, name, { mode: 0o755 }, P.NFSPROC_MKDIR);
  assert.ok(r.status === S.NFS_OK, `MKDIR ${name}: ${r.status}`);
  return r.diropres.file;
}

export async function write(
  h: Harness2,
  fh: Uint8Array,
  offset: number,
  data: Uint8Array,
) {
  return await h.nfs(
    P.NFSPROC_WRITE,
    (w) =>
      P.encode_writeargs(w, {
        file: fh,
        beginoffset: 0,
        offset,
        totalcount: 0,
        data,
      }),
    P.decode_attrstat,
  );
}

export async function read(
  h: Harness2,
  fh: Uint8Array,
  offset: number,
  count: number,
) {
  return await h.nfs(
    P.NFSPROC_READ,
    (w) => P.encode_readargs(w, { file: fh, offset, count, totalcount: 0 }),
    P.decode_readres,
  );
}

export async function setattr(
  h: Harness2,
  fh: Uint8Array,
  s: Partial<P.sattr>,
) {
  return await h.nfs(
    P.NFSPROC_SETATTR,
    (w) => P.encode_sattrargs(w, { file: fh, attributes: sattr(s) }),
    P.decode_attrstat,
  );
}

export async function status(
  h: Harness2,
  proc: number,
  encode: (w: XdrWriter) => void,
) {
  return await h.nfs(proc, encode, P.decode_nfsstat);
}

export function attrsOf(r: P.attrstat): P.fattr {
  assert.ok(r.status === S.NFS_OK, `status ${r.status}`);
  return r.attributes;
}
