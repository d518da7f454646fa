// A server with MOUNT + NFSv3 over a MemFs on port 0, and a typed caller
// through our RpcClient, shared by the server tests.
import { RpcClient } from "../../rpc/client.ts";
import { serveRpc } from "../../rpc/server.ts";
import type { RpcServer } from "../../rpc/server.ts";
import type { XdrReader, XdrWriter } from "../../rpc/xdr.ts";
import {
  decodeMntRes,
  encodeDirpath,
  MOUNT_PROGRAM,
} from "../../proto/mount.ts";
import { NFS_PROGRAM } from "../../proto/nfs3.ts";
import { type ExportOptions, ExportTable } from "../../server/exports.ts";
import { mountProgram } from "../../server/mount.ts";
import { type Nfs3Options, nfs3Program } from "../../server/nfs3/program.ts";
import { MemFs } from "../../vfs/memfs.ts";
import type { FileSystem } from "../../vfs/types.ts";
import type { AuthSysParms } from "../../rpc/program.ts";

export interface Harness {
  server: RpcServer;
  client: RpcClient;
  fs: MemFs;
  root: Uint8Array;
  nfs<T>(
    proc: number,
    enc: (w: XdrWriter) => void,
    dec: (r: XdrReader) => T,
    auth?: AuthSysParms | "none",
  ): Promise<T>;
  close(): Promise<void>;
}

/** Exports over `fs` (one at "/" by default) that trust the client's ids. */
export function exportTable(
  fs: FileSystem,
  exports: Partial<ExportOptions>[] = [{}],
): ExportTable {
  return new ExportTable(
    exports.map((e) => ({ path: "/", fs, squash: "none" as const, ...e })),
  );
}

export function sys(uid: number, gid = uid, gids: number[] = []): AuthSysParms {
  return { stamp: 1, machineName: "test", uid, gid, gids };
}

export async function start(options: {
  exports?: Partial<ExportOptions>[];
  nfs?: Partial<Nfs3Options>;
  auth?: AuthSysParms | "none";
  fs?: MemFs;
} = {}): Promise<Harness> {
  const fs = options.fs ?? new MemFs();
  const exports = exportTable(fs, options.exports);
  const server = serveRpc({
    port: 0,
    programs: [
      mountProgram({ exports }),
      nfs3Program({ exports, log: () => {}, ...options.nfs }),
    ],
    log: () => {},
  });
  const client = await RpcClient.connect({
    hostname: "127.0.0.1",
    port: server.addr.port,
    auth: options.auth ?? sys(0),
  });
  const mnt = decodeMntRes(
    await client.call(
      MOUNT_PROGRAM,
      3,
      1,
      (w) => encodeDirpath(w, exports.exports[0].path),
    ),
  );
  if (mnt.status !== 0) throw new Error(`MNT failed: ${mnt.status}`);
  return {
    server,
    client,
    fs,
    root: mnt.handle!,
    async nfs(proc, enc, dec, auth) {
      const r = await client.call(
        NFS_PROGRAM,
        3,
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
