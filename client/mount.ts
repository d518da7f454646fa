/**
 * A MOUNT client, version 3 (RFC 1813 appendix I, for NFSv3) or version 1
 * (RFC 1094 appendix A, for NFSv2): MNT, DUMP, UMNT, UMNTALL, EXPORT and
 * NULL, with the codecs of `proto/mount.ts` and, for version 1's MNT
 * reply, `proto/nfs2/`. A refused MNT is an `NfsError` whose program is
 * "MOUNT" (`Deno.errors.NotFound` for MNT3ERR_NOENT, `PermissionDenied`
 * for MNT3ERR_ACCES); version 1's status is a UNIX errno, named as the
 * NFSv2 status of the same number (NFSERR_NOENT). A malformed reply is an
 * `NfsProtocolError`.
 *
 * @example Mount an export, list what the server exports and who mounted
 * ```ts
 * import { MountClient } from "@netfs/netfs/client";
 * import { serveNfs } from "@netfs/netfs/server";
 * import { MemFs } from "@netfs/netfs/vfs";
 * import assert from "node:assert/strict";
 *
 * const server = serveNfs({ port: 0, quiet: true, exports: [{ path: "/data", fs: new MemFs() }] });
 * const mount = await MountClient.connect({ hostname: "127.0.0.1", port: server.addr.port });
 * assert.deepEqual((await mount.export()).map((e) => e.dir), ["/data"]);
 * const { handle, flavors } = await mount.mnt("/data");
 * assert.ok(handle.byteLength > 0 && flavors.includes(1)); // AUTH_SYS
 * assert.deepEqual((await mount.dump()).map((m) => m.directory), ["/data"]);
 * await mount.umnt("/data");
 * assert.deepEqual(await mount.dump(), []);
 * mount.close();
 * await server.shutdown();
 * ```
 *
 * @module
 */

import { decode_fhstatus } from "../proto/nfs2/mod.ts";
import {
  decodeExports,
  decodeMntRes,
  decodeMountList,
  encodeDirpath,
  type ExportEntry,
  MOUNT_PROGRAM,
  MOUNT_V1,
  MOUNT_V3,
  type MountEntry,
  MountProc,
  MountStatus,
  mountStatusName,
} from "../proto/mount.ts";
import { RpcClient, type RpcClientOptions } from "../rpc/client.ts";
import type { XdrReader, XdrWriter } from "../rpc/xdr.ts";
import type { RpcCaller } from "./caller.ts";
import { decodeReply } from "./_decode.ts";
import { nfsError } from "./errors.ts";
import { nfs2StatusName } from "./nfs2.ts";

const PROC_NAMES = Object.fromEntries(
  Object.entries(MountProc).map(([k, v]) => [v, k]),
) as Record<number, string>;

/** A successful MNT. */
export interface MountResult {
  /** The root handle of the export. */
  handle: Uint8Array;
  /**
   * Auth flavours the server accepts for it (1 is AUTH_SYS); empty from
   * version 1, whose reply names none.
   */
  flavors: number[];
}

/** Talks MOUNT version 3 or 1 to a server. */
export class MountClient {
  /** The connection underneath. */
  readonly rpc: RpcCaller;
  /** The MOUNT version spoken: 3 (for NFSv3) or 1 (for NFSv2). */
  readonly version: 1 | 3;

  /**
   * Wraps a connection to a MOUNT server.
   *
   * @param rpc The connection: an `RpcClient` or a `ReconnectingRpc`.
   * @param version 3 (default) for NFSv3 handles, 1 for NFSv2 handles.
   */
  constructor(rpc: RpcCaller, version: 1 | 3 = MOUNT_V3) {
    this.rpc = rpc;
    this.version = version;
  }

  /**
   * Connects to the MOUNT server at `hostname`:`port` (find the port with
   * `PortmapClient.getPort` when it is not known).
   *
   * @param options Where to connect, and credentials (MNT may check them).
   * @param version 3 (default) for NFSv3 handles, 1 for NFSv2 handles.
   */
  static async connect(
    options: RpcClientOptions,
    version: 1 | 3 = MOUNT_V3,
  ): Promise<MountClient> {
    return new MountClient(await RpcClient.connect(options), version);
  }

  async #call<T>(
    procedure: number,
    encode: (w: XdrWriter) => void,
    decode: (r: XdrReader) => T,
  ): Promise<T> {
    const r = await this.rpc.call(
      MOUNT_PROGRAM,
      this.version,
      procedure,
      encode,
      {
        // MNT, UMNT and UMNTALL only add or drop a line in the server's list.
        idempotent: true,
      },
    );
    return decodeReply(PROC_NAMES[procedure], r, decode);
  }

  /** NULL: checks that the server answers. */
  async null(): Promise<void> {
    await this.#call(MountProc.NULL, () => {}, () => {});
  }

  /**
   * MNT: the root handle of the export at `path`.
   *
   * @param path The export (or a directory inside one, where allowed).
   */
  async mnt(path: string): Promise<MountResult> {
    if (this.version === MOUNT_V1) {
      const res = await this.#call(
        MountProc.MNT,
        (w) => encodeDirpath(w, path),
        decode_fhstatus,
      );
      if ("directory" in res) return { handle: res.directory, flavors: [] };
      throw this.#refused(res.status, nfs2StatusName(res.status), path);
    }
    const res = await this.#call(
      MountProc.MNT,
      (w) => encodeDirpath(w, path),
      decodeMntRes,
    );
    if (res.status !== MountStatus.OK) {
      throw this.#refused(res.status, mountStatusName(res.status), path);
    }
    return { handle: res.handle!, flavors: res.flavors ?? [] };
  }

  #refused(status: number, statusName: string, path: string): Error {
    return nfsError({
      program: "MOUNT",
      version: this.version,
      procedure: "MNT",
      status,
      statusName,
      path,
    });
  }

  /** DUMP: the mounts the server remembers, as (host, directory). */
  async dump(): Promise<MountEntry[]> {
    return await this.#call(MountProc.DUMP, () => {}, decodeMountList);
  }

  /**
   * UMNT: tells the server this client no longer uses `path`.
   *
   * @param path The path given to MNT.
   */
  async umnt(path: string): Promise<void> {
    await this.#call(MountProc.UMNT, (w) => encodeDirpath(w, path), () => {});
  }

  /** UMNTALL: drops every mount of this client from the server's list. */
  async umntall(): Promise<void> {
    await this.#call(MountProc.UMNTALL, () => {}, () => {});
  }

  /** EXPORT: the export list, each with the groups allowed to mount it. */
  async export(): Promise<ExportEntry[]> {
    return await this.#call(MountProc.EXPORT, () => {}, decodeExports);
  }

  /** Closes the connection. */
  close(): void {
    this.rpc.close();
  }
}
