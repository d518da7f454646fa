/**
 * An NFS version 2 client (RFC 1094): the 18 procedures, one method each,
 * taking the argument types of `proto/nfs2/` (the RFC's names: `sattr`,
 * `diropargs`, `readargs` …) and resolving to the body of the successful
 * reply. Handles are 32 bytes, sizes and offsets 32 bits, READ and WRITE
 * carry at most 8 KiB, and every WRITE is stored before it is answered.
 *
 * What it promises: a status other than NFS_OK rejects with an `NfsError`
 * naming the procedure, the status (NFSERR_NOENT …, or "nfsstat N" for a
 * number RFC 1094 does not list) and the `path` the caller passed (a
 * `Deno.errors` class where one fits); a reply that does not decode, or
 * contradicts its call (more READ data than asked for), rejects with an
 * `NfsProtocolError`. Nothing is allocated for a length the reply cannot
 * hold. Calls that may safely run twice are marked idempotent, so a
 * `ReconnectingRpc` underneath resends them on a new connection; CREATE,
 * REMOVE, RENAME, LINK, SYMLINK, MKDIR and RMDIR are not. ROOT and
 * WRITECACHE are obsolete: servers answer them with nothing, and so do
 * these methods.
 *
 * @example Procedures by hand: mount through MOUNT v1, create, write, read
 * ```ts
 * import { MountClient, Nfs2Client, UNSET_SATTR } from "@netfs/netfs/client";
 * import { serveNfs } from "@netfs/netfs/server";
 * import { MemFs } from "@netfs/netfs/vfs";
 * import assert from "node:assert/strict";
 *
 * const server = serveNfs({ port: 0, quiet: true, exports: [{ path: "/", fs: new MemFs({ rootMode: 0o1777 }) }] });
 * const opts = { hostname: "127.0.0.1", port: server.addr.port };
 * const mount = await MountClient.connect(opts, 1); // MOUNT version 1
 * const { handle: root } = await mount.mnt("/");
 * assert.equal(root.byteLength, 32);
 * const nfs = await Nfs2Client.connect(opts);
 * const made = await nfs.create({
 *   where: { dir: root, name: "a.txt" },
 *   attributes: { ...UNSET_SATTR, mode: 0o644 },
 * });
 * const data = new TextEncoder().encode("hello");
 * const after = await nfs.write({ file: made.file, beginoffset: 0, offset: 0, totalcount: 0, data });
 * assert.equal(after.size, 5);
 * const r = await nfs.read({ file: made.file, offset: 0, count: 8192, totalcount: 0 });
 * assert.equal(new TextDecoder().decode(r.data), "hello");
 * nfs.close();
 * mount.close();
 * await server.shutdown();
 * ```
 *
 * @module
 */

import {
  type createargs,
  decode_diropokres,
  decode_fattr,
  decode_readdirok,
  decode_readokres,
  decode_statfsokres,
  type diropargs,
  type diropokres,
  encode_createargs,
  encode_diropargs,
  encode_fhandle,
  encode_linkargs,
  encode_readargs,
  encode_readdirargs,
  encode_renameargs,
  encode_sattrargs,
  encode_symlinkargs,
  encode_writeargs,
  type fattr,
  type linkargs,
  NFS_MAXPATHLEN,
  NFS_PROGRAM,
  NFS_VERSION,
  NFSPROC_CREATE,
  NFSPROC_GETATTR,
  NFSPROC_LINK,
  NFSPROC_LOOKUP,
  NFSPROC_MKDIR,
  NFSPROC_NULL,
  NFSPROC_READ,
  NFSPROC_READDIR,
  NFSPROC_READLINK,
  NFSPROC_REMOVE,
  NFSPROC_RENAME,
  NFSPROC_RMDIR,
  NFSPROC_ROOT,
  NFSPROC_SETATTR,
  NFSPROC_STATFS,
  NFSPROC_SYMLINK,
  NFSPROC_WRITE,
  NFSPROC_WRITECACHE,
  nfsstat,
  type readargs,
  type readdirargs,
  type readdirok,
  type readokres,
  type renameargs,
  type sattr,
  type sattrargs,
  type statfsokres,
  type symlinkargs,
  UNSET,
  type writeargs,
} from "../proto/nfs2/mod.ts";
import type { XdrReader, XdrWriter } from "../rpc/xdr.ts";
import {
  ReconnectingRpc,
  type ReconnectingRpcOptions,
  type RpcCaller,
} from "./caller.ts";
import { callerOptions, decodeReply } from "./_decode.ts";
import { nfsError, NfsProtocolError } from "./errors.ts";
import type { Nfs3CallOptions } from "./nfs3.ts";

/** Per-call options of {@link Nfs2Client}: path for errors, timeout, credentials. */
export type Nfs2CallOptions = Nfs3CallOptions;

/**
 * A `sattr` that changes nothing: every field all ones (0xffffffff), which
 * leaves the attribute as it is. Spread it and set what should change.
 */
export const UNSET_SATTR: Readonly<sattr> = Object.freeze({
  mode: UNSET,
  uid: UNSET,
  gid: UNSET,
  size: UNSET,
  atime: Object.freeze({ seconds: UNSET, useconds: UNSET }),
  mtime: Object.freeze({ seconds: UNSET, useconds: UNSET }),
});

const STATUS_NAMES = new Map<number, string>(
  Object.entries(nfsstat).map(([k, v]) => [v, k]),
);

/**
 * The name of an NFSv2 status, such as "NFSERR_NOENT"; "nfsstat N" for a
 * number RFC 1094 does not list.
 *
 * @example
 * ```ts
 * import { nfs2StatusName } from "@netfs/netfs/client";
 * import assert from "node:assert/strict";
 *
 * assert.equal(nfs2StatusName(66), "NFSERR_NOTEMPTY");
 * assert.equal(nfs2StatusName(10008), "nfsstat 10008");
 * ```
 *
 * @param status The status number.
 */
export function nfs2StatusName(status: number): string {
  return STATUS_NAMES.get(status) ?? `nfsstat ${status}`;
}

const PROC_NAMES: Record<number, string> = {
  [NFSPROC_NULL]: "NULL",
  [NFSPROC_GETATTR]: "GETATTR",
  [NFSPROC_SETATTR]: "SETATTR",
  [NFSPROC_ROOT]: "ROOT",
  [NFSPROC_LOOKUP]: "LOOKUP",
  [NFSPROC_READLINK]: "READLINK",
  [NFSPROC_READ]: "READ",
  [NFSPROC_WRITECACHE]: "WRITECACHE",
  [NFSPROC_WRITE]: "WRITE",
  [NFSPROC_CREATE]: "CREATE",
  [NFSPROC_REMOVE]: "REMOVE",
  [NFSPROC_RENAME]: "RENAME",
  [NFSPROC_LINK]: "LINK",
  [NFSPROC_SYMLINK]: "SYMLINK",
  [NFSPROC_MKDIR]: "MKDIR",
  [NFSPROC_RMDIR]: "RMDIR",
  [NFSPROC_READDIR]: "READDIR",
  [NFSPROC_STATFS]: "STATFS",
};

/** Procedures that may run twice with the same effect. */
const IDEMPOTENT = new Set<number>([
  NFSPROC_NULL,
  NFSPROC_GETATTR,
  NFSPROC_SETATTR,
  NFSPROC_ROOT,
  NFSPROC_LOOKUP,
  NFSPROC_READLINK,
  NFSPROC_READ,
  NFSPROC_WRITECACHE,
  NFSPROC_WRITE,
  NFSPROC_READDIR,
  NFSPROC_STATFS,
]);

const nothing = () => {};

/** Talks NFS version 2 over one connection. */
export class Nfs2Client {
  /** The connection underneath. */
  readonly rpc: RpcCaller;

  /**
   * Wraps a connection to an NFSv2 server.
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
  static async connect(options: ReconnectingRpcOptions): Promise<Nfs2Client> {
    return new Nfs2Client(await ReconnectingRpc.connect(options));
  }

  /** Closes the connection. */
  close(): void {
    this.rpc.close();
  }

  /**
   * Calls `procedure`; a reply whose status is NFS_OK is decoded with
   * `decodeOk` (the status already read), any other is an NfsError.
   */
  async #call<T>(
    procedure: number,
    encode: (w: XdrWriter) => void,
    decodeOk: (r: XdrReader) => T,
    options: Nfs2CallOptions,
  ): Promise<T> {
    const callOptions = callerOptions(options, IDEMPOTENT.has(procedure));
    const name = PROC_NAMES[procedure];
    const r = await this.rpc.call(
      NFS_PROGRAM,
      NFS_VERSION,
      procedure,
      encode,
      callOptions,
    );
    const res = decodeReply(
      name,
      r,
      (r): { ok: true; body: T } | { ok: false; status: number } => {
        const status = r.u32("nfsstat");
        return status === nfsstat.NFS_OK
          ? { ok: true, body: decodeOk(r) }
          : { ok: false, status };
      },
    );
    if (!res.ok) {
      throw nfsError({
        program: "NFS",
        version: NFS_VERSION,
        procedure: name,
        status: res.status,
        statusName: nfs2StatusName(res.status),
        path: options.path ?? "",
      });
    }
    return res.body;
  }

  /** A call whose reply is empty (NULL, ROOT, WRITECACHE). */
  async #bare(procedure: number, options: Nfs2CallOptions): Promise<void> {
    await this.rpc.call(
      NFS_PROGRAM,
      NFS_VERSION,
      procedure,
      nothing,
      callerOptions(options, true),
    );
  }

  /**
   * NULL: checks that the server answers.
   *
   * @param options Timeout, credentials.
   */
  async null(options: Nfs2CallOptions = {}): Promise<void> {
    await this.#bare(NFSPROC_NULL, options);
  }

  /**
   * GETATTR: an object's attributes.
   *
   * @param file The object's handle.
   * @param options Path for errors, timeout, credentials.
   */
  async getattr(
    file: Uint8Array,
    options: Nfs2CallOptions = {},
  ): Promise<fattr> {
    return await this.#call(
      NFSPROC_GETATTR,
      (w) => encode_fhandle(w, file),
      decode_fattr,
      options,
    );
  }

  /**
   * SETATTR: changes what `attributes` sets (fields of all ones stay; see
   * {@link UNSET_SATTR}); resolves to the attributes after.
   *
   * @param args The object and the attributes.
   * @param options Path for errors, timeout, credentials.
   */
  async setattr(
    args: sattrargs,
    options: Nfs2CallOptions = {},
  ): Promise<fattr> {
    return await this.#call(
      NFSPROC_SETATTR,
      (w) => encode_sattrargs(w, args),
      decode_fattr,
      options,
    );
  }

  /**
   * ROOT: obsolete since RFC 1094 (MOUNT gives the root handle); the
   * server answers nothing.
   *
   * @param options Timeout, credentials.
   */
  async root(options: Nfs2CallOptions = {}): Promise<void> {
    await this.#bare(NFSPROC_ROOT, options);
  }

  /**
   * LOOKUP: the handle and attributes of `name` in `dir`.
   *
   * @param args The directory and the name.
   * @param options Path for errors, timeout, credentials.
   */
  async lookup(
    args: diropargs,
    options: Nfs2CallOptions = {},
  ): Promise<diropokres> {
    return await this.#call(
      NFSPROC_LOOKUP,
      (w) => encode_diropargs(w, args),
      decode_diropokres,
      options,
    );
  }

  /**
   * READLINK: a symbolic link's target.
   *
   * @param file The link's handle.
   * @param options Path for errors, timeout, credentials.
   */
  async readlink(
    file: Uint8Array,
    options: Nfs2CallOptions = {},
  ): Promise<string> {
    return await this.#call(
      NFSPROC_READLINK,
      (w) => encode_fhandle(w, file),
      (r) => r.string(NFS_MAXPATHLEN, "readlinkres.data"),
      options,
    );
  }

  /**
   * READ: up to `count` bytes (at most 8192) at `offset`, and the file's
   * attributes; `data` is a view into the reply. Version 2 has no end of
   * file flag: the size in the attributes says where the file ends.
   *
   * @param args The file, offset and count (`totalcount` is unused).
   * @param options Path for errors, timeout, credentials.
   */
  async read(
    args: readargs,
    options: Nfs2CallOptions = {},
  ): Promise<readokres> {
    const res = await this.#call(
      NFSPROC_READ,
      (w) => encode_readargs(w, args),
      decode_readokres,
      options,
    );
    if (res.data.byteLength > args.count) {
      throw new NfsProtocolError(
        "READ",
        `${res.data.byteLength} bytes returned, ${args.count} asked for`,
      );
    }
    return res;
  }

  /**
   * WRITECACHE: obsolete (it was to flush a server cache that version 2
   * never had); the server answers nothing.
   *
   * @param options Timeout, credentials.
   */
  async writecache(options: Nfs2CallOptions = {}): Promise<void> {
    await this.#bare(NFSPROC_WRITECACHE, options);
  }

  /**
   * WRITE: all of `data` (at most 8192 bytes) at `offset`, stored before
   * the server answers; resolves to the attributes after.
   *
   * @param args The file, offset and data (`beginoffset` and `totalcount`
   *   are unused).
   * @param options Path for errors, timeout, credentials.
   */
  async write(
    args: writeargs,
    options: Nfs2CallOptions = {},
  ): Promise<fattr> {
    return await this.#call(
      NFSPROC_WRITE,
      (w) => encode_writeargs(w, args),
      decode_fattr,
      options,
    );
  }

  /**
   * CREATE: a file named `where.name` in `where.dir`. Servers open a
   * regular file that exists already, as creat(2) does (a `size` of 0
   * truncates it); version 2 has no exclusive create.
   *
   * @param args Where, and the attributes (the mode's file type bits may
   *   ask for a device, FIFO or socket).
   * @param options Path for errors, timeout, credentials.
   */
  async create(
    args: createargs,
    options: Nfs2CallOptions = {},
  ): Promise<diropokres> {
    return await this.#call(
      NFSPROC_CREATE,
      (w) => encode_createargs(w, args),
      decode_diropokres,
      options,
    );
  }

  /**
   * REMOVE: removes a name that is not a directory.
   *
   * @param args The directory and the name.
   * @param options Path for errors, timeout, credentials.
   */
  async remove(
    args: diropargs,
    options: Nfs2CallOptions = {},
  ): Promise<void> {
    await this.#call(
      NFSPROC_REMOVE,
      (w) => encode_diropargs(w, args),
      nothing,
      options,
    );
  }

  /**
   * RENAME: moves `from` to `to`, replacing what is there if allowed.
   *
   * @param args From and to, each a directory and a name.
   * @param options Path for errors, timeout, credentials.
   */
  async rename(
    args: renameargs,
    options: Nfs2CallOptions = {},
  ): Promise<void> {
    await this.#call(
      NFSPROC_RENAME,
      (w) => encode_renameargs(w, args),
      nothing,
      options,
    );
  }

  /**
   * LINK: a second name `to` for the object `from`.
   *
   * @param args The object and the new name.
   * @param options Path for errors, timeout, credentials.
   */
  async link(args: linkargs, options: Nfs2CallOptions = {}): Promise<void> {
    await this.#call(
      NFSPROC_LINK,
      (w) => encode_linkargs(w, args),
      nothing,
      options,
    );
  }

  /**
   * SYMLINK: a symbolic link `from` whose target is `to`. Version 2
   * answers no handle: LOOKUP the name for one.
   *
   * @param args Where, the target and the attributes.
   * @param options Path for errors, timeout, credentials.
   */
  async symlink(
    args: symlinkargs,
    options: Nfs2CallOptions = {},
  ): Promise<void> {
    await this.#call(
      NFSPROC_SYMLINK,
      (w) => encode_symlinkargs(w, args),
      nothing,
      options,
    );
  }

  /**
   * MKDIR: a directory; resolves to its handle and attributes.
   *
   * @param args Where, and the attributes.
   * @param options Path for errors, timeout, credentials.
   */
  async mkdir(
    args: createargs,
    options: Nfs2CallOptions = {},
  ): Promise<diropokres> {
    return await this.#call(
      NFSPROC_MKDIR,
      (w) => encode_createargs(w, args),
      decode_diropokres,
      options,
    );
  }

  /**
   * RMDIR: removes an empty directory.
   *
   * @param args The parent and the name.
   * @param options Path for errors, timeout, credentials.
   */
  async rmdir(args: diropargs, options: Nfs2CallOptions = {}): Promise<void> {
    await this.#call(
      NFSPROC_RMDIR,
      (w) => encode_diropargs(w, args),
      nothing,
      options,
    );
  }

  /**
   * READDIR: entries after `cookie` (4 zero bytes: from the start), as
   * many as fit in `count` bytes of reply.
   *
   * @param args The directory, the cookie and the byte count.
   * @param options Path for errors, timeout, credentials.
   */
  async readdir(
    args: readdirargs,
    options: Nfs2CallOptions = {},
  ): Promise<readdirok> {
    return await this.#call(
      NFSPROC_READDIR,
      (w) => encode_readdirargs(w, args),
      decode_readdirok,
      options,
    );
  }

  /**
   * STATFS: transfer size, block size and block counts of the file system
   * holding `file`.
   *
   * @param file Any handle on that file system.
   * @param options Path for errors, timeout, credentials.
   */
  async statfs(
    file: Uint8Array,
    options: Nfs2CallOptions = {},
  ): Promise<statfsokres> {
    return await this.#call(
      NFSPROC_STATFS,
      (w) => encode_fhandle(w, file),
      decode_statfsokres,
      options,
    );
  }
}
