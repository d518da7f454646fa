/**
 * An NFS version 3 client (RFC 1813): the 22 procedures, one method each,
 * taking the argument objects of `proto/nfs3.ts` and resolving to the
 * `resok` fields, so the success branch has its fields required.
 *
 * What it promises: a status other than NFS3_OK rejects with an
 * `NfsError` naming the procedure, the status and the `path` the caller
 * passed (a `Deno.errors` class where one fits); a reply that does not
 * decode, or contradicts its call (more READ data than asked for, a WRITE
 * count above the one sent), rejects with an `NfsProtocolError`. Nothing
 * is allocated for a length the reply cannot hold (the codecs check). Calls
 * that may safely run twice are marked idempotent, so a
 * `ReconnectingRpc` underneath resends them on a new connection; CREATE,
 * MKDIR, SYMLINK, MKNOD, REMOVE, RMDIR, RENAME and LINK are not.
 *
 * @example Procedures by hand: mount, create, write, read back
 * ```ts
 * import { MountClient, Nfs3Client, StableHow } from "@netfs/netfs/client";
 * import { serveNfs } from "@netfs/netfs/server";
 * import { MemFs } from "@netfs/netfs/vfs";
 * import assert from "node:assert/strict";
 *
 * const server = serveNfs({ port: 0, quiet: true, exports: [{ path: "/", fs: new MemFs({ rootMode: 0o1777 }) }] });
 * const opts = { hostname: "127.0.0.1", port: server.addr.port };
 * const mount = await MountClient.connect(opts);
 * const { handle: root } = await mount.mnt("/");
 * const nfs = await Nfs3Client.connect(opts);
 * const made = await nfs.create({ dir: root, name: "a.txt", mode: 0, attrs: { mode: 0o644 } });
 * const file = made.object!;
 * const data = new TextEncoder().encode("hello");
 * const w = await nfs.write({ file, offset: 0, count: 5, stable: StableHow.FILE_SYNC, data });
 * assert.equal(w.count, 5);
 * const r = await nfs.read({ file, offset: 0, count: 100 });
 * assert.deepEqual([new TextDecoder().decode(r.data), r.eof], ["hello", true]);
 * nfs.close();
 * mount.close();
 * await server.shutdown();
 * ```
 *
 * @module
 */

import * as P from "../proto/nfs3.ts";
import {
  type AccessArgs,
  type CommitArgs,
  type CreateArgs,
  type DirOpArgs,
  type Fattr3,
  type LinkArgs,
  type MkdirArgs,
  type MknodArgs,
  Nfs3Proc,
  nfs3StatusName,
  NFS_PROGRAM,
  NFS_V3,
  type ReadArgs,
  type ReaddirArgs,
  type ReaddirplusArgs,
  type RenameArgs,
  type SetattrArgs,
  type SymlinkArgs,
  type WccData,
  type WriteArgs,
} from "../proto/nfs3.ts";
import type { AuthSysParms } from "../rpc/program.ts";
import type { XdrReader, XdrWriter } from "../rpc/xdr.ts";
import {
  ReconnectingRpc,
  type ReconnectingRpcOptions,
  type RpcCaller,
} from "./caller.ts";
import { callerOptions, decodeReply } from "./_decode.ts";
import { nfsError, NfsProtocolError } from "./errors.ts";

/**
 * A result whose status was OK: `status` gone, the fields named in `K`
 * required.
 */
export type Nfs3Ok<T extends { status: number }, K extends keyof T = never> =
  & Omit<T, "status" | K>
  & Required<Pick<T, K>>;

/** Per-call options of {@link Nfs3Client}. */
export interface Nfs3CallOptions {
  /** The path the call is about, for error messages. */
  path?: string;
  /** Timeout for this call (ms). */
  timeoutMs?: number;
  /** Credentials for this call instead of the connection's. */
  auth?: AuthSysParms | "none";
}

const PROC_NAMES = Object.fromEntries(
  Object.entries(Nfs3Proc).map(([k, v]) => [v, k]),
) as Record<number, string>;

const IDEMPOTENT = new Set<number>([
  Nfs3Proc.NULL,
  Nfs3Proc.GETATTR,
  Nfs3Proc.SETATTR,
  Nfs3Proc.LOOKUP,
  Nfs3Proc.ACCESS,
  Nfs3Proc.READLINK,
  Nfs3Proc.READ,
  Nfs3Proc.WRITE,
  Nfs3Proc.READDIR,
  Nfs3Proc.READDIRPLUS,
  Nfs3Proc.FSSTAT,
  Nfs3Proc.FSINFO,
  Nfs3Proc.PATHCONF,
  Nfs3Proc.COMMIT,
]);

/** Talks NFS version 3 over one connection. */
export class Nfs3Client {
  /** The connection underneath. */
  readonly rpc: RpcCaller;

  /**
   * Wraps a connection to an NFSv3 server.
   *
   * @param rpc An `RpcClient` or a {@link ReconnectingRpc}.
   */
  constructor(rpc: RpcCaller) {
    this.rpc = rpc;
  }

  /**
   * Connects to the NFS server at `hostname`:`port` with a
   * {@link ReconnectingRpc}.
   *
   * @param options Where to connect, credentials, timeouts and retries.
   */
  static async connect(options: ReconnectingRpcOptions): Promise<Nfs3Client> {
    return new Nfs3Client(await ReconnectingRpc.connect(options));
  }

  /** Closes the connection. */
  close(): void {
    this.rpc.close();
  }

  async #call<T extends { status: number }>(
    procedure: number,
    encode: (w: XdrWriter) => void,
    decode: (r: XdrReader) => T,
    options: Nfs3CallOptions,
  ): Promise<T> {
    const callOptions = callerOptions(options, IDEMPOTENT.has(procedure));
    const name = PROC_NAMES[procedure];
    const r = await this.rpc.call(
      NFS_PROGRAM,
      NFS_V3,
      procedure,
      encode,
      callOptions,
    );
    const res = decodeReply(name, r, decode);
    if (res.status !== 0) {
      throw nfsError({
        program: "NFS",
        version: NFS_V3,
        procedure: name,
        status: res.status,
        statusName: nfs3StatusName(res.status),
        path: options.path ?? "",
      });
    }
    return res;
  }

  /** NULL: checks that the server answers. */
  async null(): Promise<void> {
    await this.rpc.call(NFS_PROGRAM, NFS_V3, Nfs3Proc.NULL, () => {}, {
      idempotent: true,
    });
  }

  /**
   * GETATTR: an object's attributes.
   *
   * @param object The object's handle.
   * @param options Path for errors, timeout, credentials.
   */
  async getattr(
    object: Uint8Array,
    options: Nfs3CallOptions = {},
  ): Promise<Fattr3> {
    const res = await this.#call(
      Nfs3Proc.GETATTR,
      (w) => P.encodeFhArgs(w, { object }),
      P.decodeGetattrRes,
      options,
    );
    return res.attrs!;
  }

  /**
   * SETATTR: changes mode, owner, size or times (only if `guard` equals
   * the ctime, when given).
   *
   * @param args The object, what to change, the guard.
   * @param options Path for errors, timeout, credentials.
   */
  async setattr(
    args: SetattrArgs,
    options: Nfs3CallOptions = {},
  ): Promise<WccData> {
    const res = await this.#call(
      Nfs3Proc.SETATTR,
      (w) => P.encodeSetattrArgs(w, args),
      P.decodeWccRes,
      options,
    );
    return res.wcc ?? {};
  }

  /**
   * LOOKUP: the handle of `name` in `dir`.
   *
   * @param args The directory and the name.
   * @param options Path for errors, timeout, credentials.
   */
  async lookup(
    args: DirOpArgs,
    options: Nfs3CallOptions = {},
  ): Promise<Nfs3Ok<P.LookupRes, "object">> {
    return await this.#call(
      Nfs3Proc.LOOKUP,
      (w) => P.encodeDirOpArgs(w, args),
      P.decodeLookupRes,
      options,
    ) as Nfs3Ok<P.LookupRes, "object">;
  }

  /**
   * ACCESS: which of the asked `Access3` bits the caller has.
   *
   * @param args The object and the bits asked about.
   * @param options Path for errors, timeout, credentials.
   */
  async access(
    args: AccessArgs,
    options: Nfs3CallOptions = {},
  ): Promise<Nfs3Ok<P.AccessRes, "access">> {
    return await this.#call(
      Nfs3Proc.ACCESS,
      (w) => P.encodeAccessArgs(w, args),
      P.decodeAccessRes,
      options,
    ) as Nfs3Ok<P.AccessRes, "access">;
  }

  /**
   * READLINK: a symbolic link's target.
   *
   * @param object The link's handle.
   * @param options Path for errors, timeout, credentials.
   */
  async readlink(
    object: Uint8Array,
    options: Nfs3CallOptions = {},
  ): Promise<Nfs3Ok<P.ReadlinkRes, "target">> {
    return await this.#call(
      Nfs3Proc.READLINK,
      (w) => P.encodeFhArgs(w, { object }),
      P.decodeReadlinkRes,
      options,
    ) as Nfs3Ok<P.ReadlinkRes, "target">;
  }

  /**
   * READ: up to `count` bytes at `offset`; `data` is a view into the reply.
   *
   * @param args The file, offset and count.
   * @param options Path for errors, timeout, credentials.
   */
  async read(
    args: ReadArgs,
    options: Nfs3CallOptions = {},
  ): Promise<Nfs3Ok<P.ReadRes, "data" | "eof">> {
    const res = await this.#call(
      Nfs3Proc.READ,
      (w) => P.encodeReadArgs(w, args),
      P.decodeReadRes,
      options,
    );
    if (res.data!.byteLength > args.count) {
      throw new NfsProtocolError(
        "READ",
        `${res.data!.byteLength} bytes returned, ${args.count} asked for`,
      );
    }
    return res as Nfs3Ok<P.ReadRes, "data" | "eof">;
  }

  /**
   * WRITE: `data` at `offset`, stable as `stable` asks (`StableHow`); the
   * result says how much was written, how stably, and the server's write
   * verifier (compare it with COMMIT's).
   *
   * @param args The file, offset, count, stability and data.
   * @param options Path for errors, timeout, credentials.
   */
  async write(
    args: WriteArgs,
    options: Nfs3CallOptions = {},
  ): Promise<Nfs3Ok<P.WriteRes, "count" | "committed" | "verf">> {
    const res = await this.#call(
      Nfs3Proc.WRITE,
      (w) => P.encodeWriteArgs(w, args),
      P.decodeWriteRes,
      options,
    );
    if (res.count! > args.count) {
      throw new NfsProtocolError(
        "WRITE",
        `${res.count} bytes acknowledged, ${args.count} sent`,
      );
    }
    return res as Nfs3Ok<P.WriteRes, "count" | "committed" | "verf">;
  }

  /**
   * CREATE: a regular file, UNCHECKED, GUARDED or EXCLUSIVE (`CreateMode`).
   * The handle is optional in the reply: LOOKUP the name when it is absent.
   *
   * @param args The directory, name, mode, attributes or verifier.
   * @param options Path for errors, timeout, credentials.
   */
  async create(
    args: CreateArgs,
    options: Nfs3CallOptions = {},
  ): Promise<Nfs3Ok<P.CreateRes>> {
    return await this.#call(
      Nfs3Proc.CREATE,
      (w) => P.encodeCreateArgs(w, args),
      P.decodeCreateRes,
      options,
    );
  }

  /**
   * MKDIR: a directory.
   *
   * @param args The parent, name and attributes.
   * @param options Path for errors, timeout, credentials.
   */
  async mkdir(
    args: MkdirArgs,
    options: Nfs3CallOptions = {},
  ): Promise<Nfs3Ok<P.CreateRes>> {
    return await this.#call(
      Nfs3Proc.MKDIR,
      (w) => P.encodeMkdirArgs(w, args),
      P.decodeCreateRes,
      options,
    );
  }

  /**
   * SYMLINK: a symbolic link to `target`.
   *
   * @param args The directory, name, attributes and target.
   * @param options Path for errors, timeout, credentials.
   */
  async symlink(
    args: SymlinkArgs,
    options: Nfs3CallOptions = {},
  ): Promise<Nfs3Ok<P.CreateRes>> {
    return await this.#call(
      Nfs3Proc.SYMLINK,
      (w) => P.encodeSymlinkArgs(w, args),
      P.decodeCreateRes,
      options,
    );
  }

  /**
   * MKNOD: a device, socket or FIFO.
   *
   * @param args The directory, name, type, attributes and device numbers.
   * @param options Path for errors, timeout, credentials.
   */
  async mknod(
    args: MknodArgs,
    options: Nfs3CallOptions = {},
  ): Promise<Nfs3Ok<P.CreateRes>> {
    return await this.#call(
      Nfs3Proc.MKNOD,
      (w) => P.encodeMknodArgs(w, args),
      P.decodeCreateRes,
      options,
    );
  }

  /**
   * REMOVE: a name that is not a directory.
   *
   * @param args The directory and the name.
   * @param options Path for errors, timeout, credentials.
   */
  async remove(
    args: DirOpArgs,
    options: Nfs3CallOptions = {},
  ): Promise<WccData> {
    const res = await this.#call(
      Nfs3Proc.REMOVE,
      (w) => P.encodeDirOpArgs(w, args),
      P.decodeWccRes,
      options,
    );
    return res.wcc ?? {};
  }

  /**
   * RMDIR: an empty directory.
   *
   * @param args The parent and the name.
   * @param options Path for errors, timeout, credentials.
   */
  async rmdir(
    args: DirOpArgs,
    options: Nfs3CallOptions = {},
  ): Promise<WccData> {
    const res = await this.#call(
      Nfs3Proc.RMDIR,
      (w) => P.encodeDirOpArgs(w, args),
      P.decodeWccRes,
      options,
    );
    return res.wcc ?? {};
  }

  /**
   * RENAME: moves a name, replacing the target if it may.
   *
   * @param args Source and target directory and name.
   * @param options Path for errors, timeout, credentials.
   */
  async rename(
    args: RenameArgs,
    options: Nfs3CallOptions = {},
  ): Promise<Nfs3Ok<P.RenameRes>> {
    return await this.#call(
      Nfs3Proc.RENAME,
      (w) => P.encodeRenameArgs(w, args),
      P.decodeRenameRes,
      options,
    );
  }

  /**
   * LINK: a second name for an existing object.
   *
   * @param args The object, the directory and the new name.
   * @param options Path for errors, timeout, credentials.
   */
  async link(
    args: LinkArgs,
    options: Nfs3CallOptions = {},
  ): Promise<Nfs3Ok<P.LinkRes>> {
    return await this.#call(
      Nfs3Proc.LINK,
      (w) => P.encodeLinkArgs(w, args),
      P.decodeLinkRes,
      options,
    );
  }

  /**
   * READDIR: one page of names after `cookie`.
   *
   * @param args Directory, cookie, verifier and byte count.
   * @param options Path for errors, timeout, credentials.
   */
  async readdir(
    args: ReaddirArgs,
    options: Nfs3CallOptions = {},
  ): Promise<Nfs3Ok<P.ReaddirRes, "cookieverf" | "entries" | "eof">> {
    return await this.#call(
      Nfs3Proc.READDIR,
      (w) => P.encodeReaddirArgs(w, args),
      P.decodeReaddirRes,
      options,
    ) as Nfs3Ok<P.ReaddirRes, "cookieverf" | "entries" | "eof">;
  }

  /**
   * READDIRPLUS: one page of names with their handles and attributes.
   *
   * @param args Directory, cookie, verifier and byte counts.
   * @param options Path for errors, timeout, credentials.
   */
  async readdirplus(
    args: ReaddirplusArgs,
    options: Nfs3CallOptions = {},
  ): Promise<Nfs3Ok<P.ReaddirRes, "cookieverf" | "entries" | "eof">> {
    return await this.#call(
      Nfs3Proc.READDIRPLUS,
      (w) => P.encodeReaddirplusArgs(w, args),
      P.decodeReaddirplusRes,
      options,
    ) as Nfs3Ok<P.ReaddirRes, "cookieverf" | "entries" | "eof">;
  }

  /**
   * FSSTAT: space and file slots, total, free and available.
   *
   * @param object Any handle in the file system.
   * @param options Path for errors, timeout, credentials.
   */
  async fsstat(
    object: Uint8Array,
    options: Nfs3CallOptions = {},
  ): Promise<Nfs3Ok<P.FsstatRes, Exclude<keyof P.FsstatRes, "attrs">>> {
    return await this.#call(
      Nfs3Proc.FSSTAT,
      (w) => P.encodeFhArgs(w, { object }),
      P.decodeFsstatRes,
      options,
    ) as Nfs3Ok<P.FsstatRes, Exclude<keyof P.FsstatRes, "attrs">>;
  }

  /**
   * FSINFO: transfer sizes, largest file, time granularity, properties.
   *
   * @param object The root handle.
   * @param options Path for errors, timeout, credentials.
   */
  async fsinfo(
    object: Uint8Array,
    options: Nfs3CallOptions = {},
  ): Promise<Nfs3Ok<P.FsinfoRes, Exclude<keyof P.FsinfoRes, "attrs">>> {
    return await this.#call(
      Nfs3Proc.FSINFO,
      (w) => P.encodeFhArgs(w, { object }),
      P.decodeFsinfoRes,
      options,
    ) as Nfs3Ok<P.FsinfoRes, Exclude<keyof P.FsinfoRes, "attrs">>;
  }

  /**
   * PATHCONF: name length, link count and case rules.
   *
   * @param object Any handle in the file system.
   * @param options Path for errors, timeout, credentials.
   */
  async pathconf(
    object: Uint8Array,
    options: Nfs3CallOptions = {},
  ): Promise<Nfs3Ok<P.PathconfRes, Exclude<keyof P.PathconfRes, "attrs">>> {
    return await this.#call(
      Nfs3Proc.PATHCONF,
      (w) => P.encodeFhArgs(w, { object }),
      P.decodePathconfRes,
      options,
    ) as Nfs3Ok<P.PathconfRes, Exclude<keyof P.PathconfRes, "attrs">>;
  }

  /**
   * COMMIT: makes UNSTABLE writes in a range durable. If `verf` differs
   * from the one the WRITEs returned, the server lost them: write again.
   *
   * @param args The file, offset and count (0 for "to the end").
   * @param options Path for errors, timeout, credentials.
   */
  async commit(
    args: CommitArgs,
    options: Nfs3CallOptions = {},
  ): Promise<Nfs3Ok<P.CommitRes, "verf">> {
    return await this.#call(
      Nfs3Proc.COMMIT,
      (w) => P.encodeCommitArgs(w, args),
      P.decodeCommitRes,
      options,
    ) as Nfs3Ok<P.CommitRes, "verf">;
  }
}
