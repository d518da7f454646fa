// An NFSv4 server over MemFs exports (or another file system) on port 0,
// and a raw COMPOUND caller through our RpcClient, shared by the NFSv4
// protocol tests.
import { RpcClient } from "../../../rpc/client.ts";
import type { AuthSysParms } from "../../../rpc/program.ts";
import { type RpcServer, serveRpc } from "../../../rpc/server.ts";
import {
  type COMPOUND4res,
  decode_COMPOUND4res,
  encode_COMPOUND4args,
  type nfs_argop4,
  type nfs_resop4,
  nfsstat4,
} from "../../../proto/nfs4/mod.ts";
import { type ExportOptions, ExportTable } from "../../../server/exports.ts";
import { nfs4ProgramOf } from "../../../server/nfs4/program.ts";
import { type Nfs4Options, Nfs4Server } from "../../../server/nfs4/context.ts";
import { MemFs } from "../../../vfs/memfs.ts";
import type { FileSystem } from "../../../vfs/types.ts";

export interface Nfs4Harness<F extends FileSystem = MemFs> {
  server: RpcServer;
  /** The program state, for tests that set up state directly. */
  nfs: Nfs4Server;
  client: RpcClient;
  fs: F;
  exports: ExportTable;
  /** Sends one COMPOUND and decodes its reply. */
  compound(
    ops: nfs_argop4[],
    options?: { minor?: number; tag?: string; auth?: AuthSysParms | "none" },
  ): Promise<COMPOUND4res>;
  close(): Promise<void>;
}

export function sys(uid: number, gid = uid, gids: number[] = []): AuthSysParms {
  return { stamp: 1, machineName: "test", uid, gid, gids };
}

export async function start4<F extends FileSystem = MemFs>(options: {
  exports?: Partial<ExportOptions>[];
  nfs4?: Partial<Nfs4Options>;
  auth?: AuthSysParms | "none";
  fs?: F;
} = {}): Promise<Nfs4Harness<F>> {
  const fs = options.fs ?? new MemFs() as FileSystem as F;
  const exports = new ExportTable(
    (options.exports ?? [{}]).map((e) => ({
      path: "/",
      fs,
      squash: "none" as const,
      ...e,
    })),
  );
  const nfs = new Nfs4Server({ exports, log: () => {}, ...options.nfs4 });
  const server = serveRpc({
    port: 0,
    programs: [nfs4ProgramOf(nfs)],
    log: () => {},
  });
  const client = await RpcClient.connect({
    hostname: "127.0.0.1",
    port: server.addr.port,
    auth: options.auth ?? sys(0),
  });
  const enc = new TextEncoder();
  return {
    server,
    nfs,
    client,
    fs,
    exports,
    async compound(ops, o = {}) {
      const r = await client.call(
        100003,
        4,
        1,
        (w) =>
          encode_COMPOUND4args(w, {
            tag: enc.encode(o.tag ?? ""),
            minorversion: o.minor ?? 0,
            argarray: ops,
          }),
        o.auth === undefined ? undefined : { auth: o.auth },
      );
      return decode_COMPOUND4res(r);
    },
    async close() {
      client.close();
      await server.shutdown();
    },
  };
}

/** The result of the one operation `op` in `res`, asserting it is there. */
export function resultOf<K extends nfs_resop4["resop"]>(
  res: COMPOUND4res,
  op: K,
  index = res.resarray.findIndex((x) => x.resop === op),
): Extract<nfs_resop4, { resop: K }> {
  const x = res.resarray[index];
  if (x === undefined || x.resop !== op) {
    throw new Error(
      `No result of op ${op} at ${index}: ${
        JSON.stringify(res.resarray.map((x) => x.resop))
      }`,
    );
  }
  return x as Extract<nfs_resop4, { resop: K }>;
}

export { nfsstat4 };
