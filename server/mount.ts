/**
 * The MOUNT v3 program (100005): hands out an export's root handle, keeps
 * the list of mounts for DUMP, and lists exports with the clients allowed
 * to mount them.
 *
 * @example
 * ```ts
 * import { mountProgram } from "./mount.ts";
 * import { ExportTable } from "./exports.ts";
 * import { MemFs } from "../vfs/memfs.ts";
 * const fs = new MemFs();
 * const prog = mountProgram({ exports: new ExportTable([{ path: "/", fs }]) });
 * console.log(prog.program, prog.version); // 100005 3
 * ```
 *
 * @module
 */

import {
  type CallContext,
  procedure,
  type RpcProgram,
} from "../rpc/program.ts";
import {
  decodeDirpath,
  encodeExports,
  encodeMntRes,
  encodeMountList,
  type ExportEntry,
  type MntRes,
  MOUNT_PROGRAM,
  MOUNT_V3,
  type MountEntry,
  MountProc,
  MountStatus,
} from "../proto/mount.ts";
import { VfsError } from "../vfs/errors.ts";
import type { ExportTable } from "./exports.ts";
import { encodeHandle } from "./handles.ts";

/**
 * Options of {@link mountProgram}.
 *
 * @example
 * ```ts
 * import type { MountOptions } from "./mount.ts";
 * import { ExportTable } from "./exports.ts";
 * import { MemFs } from "../vfs/memfs.ts";
 * const options: MountOptions = {
 *   exports: new ExportTable([{ path: "/", fs: new MemFs() }]),
 *   onMount: (e) => console.log(e.op, e.client, e.path),
 * };
 * console.log(typeof options.onMount);
 * ```
 */
export interface MountOptions {
  /** The exports. */
  exports: ExportTable;
  /** Called for each successful MNT and UMNT, for logs. */
  onMount?: (event: {
    op: "mnt" | "umnt";
    client: string;
    path: string;
  }) => void;
}

const AUTH_SYS = 1;
const MAX_MOUNTS = 4096;

const MNT_STATUS: Partial<Record<string, number>> = {
  ENOENT: MountStatus.NOENT,
  ENOTDIR: MountStatus.NOTDIR,
  EACCES: MountStatus.ACCES,
  EPERM: MountStatus.PERM,
  ENAMETOOLONG: MountStatus.NAMETOOLONG,
  EINVAL: MountStatus.INVAL,
  EIO: MountStatus.IO,
  ESTALE: MountStatus.NOENT,
};

/** The state of one MOUNT program: the exports and who mounted what. */
class MountState {
  readonly #table: ExportTable;
  readonly #onMount: MountOptions["onMount"];
  /** "client\0path" -> entry, in mount order. */
  readonly #mounts = new Map<string, MountEntry>();

  constructor(options: MountOptions) {
    this.#table = options.exports;
    this.#onMount = options.onMount;
  }

  async mnt(path: string, call: CallContext): Promise<MntRes> {
    const m = this.#table.match(path);
    if (m === undefined) return { status: MountStatus.NOENT };
    const exp = m.export;
    if (!exp.allows(call.remote.hostname)) return { status: MountStatus.ACCES };
    if (exp.secure && call.remote.port >= 1024) {
      return { status: MountStatus.PERM };
    }
    const cred = exp.credentials(call.auth);
    const fs = exp.fsFor(cred);
    let id = exp.root;
    try {
      for (const name of m.rest) {
        if (name === "..") return { status: MountStatus.INVAL };
        id = (await fs.lookup(cred, id, name)).fileid;
      }
      const attrs = await fs.getattr(cred, id);
      if (attrs.type !== 2) return { status: MountStatus.NOTDIR };
    } catch (e) {
      if (e instanceof VfsError) {
        return { status: MNT_STATUS[e.code] ?? MountStatus.SERVERFAULT };
      }
      return { status: MountStatus.SERVERFAULT };
    }
    const key = `${call.remote.hostname}\0${path}`;
    const mounts = this.#mounts;
    mounts.delete(key);
    if (mounts.size >= MAX_MOUNTS) {
      const oldest = mounts.keys().next().value;
      if (oldest !== undefined) mounts.delete(oldest);
    }
    mounts.set(key, { hostname: call.remote.hostname, directory: path });
    this.#onMount?.({ op: "mnt", client: call.remote.hostname, path });
    return {
      status: MountStatus.OK,
      handle: encodeHandle({
        exportId: exp.id,
        verifier: exp.verifier,
        fileid: id,
      }),
      flavors: [AUTH_SYS],
    };
  }

  umnt(path: string, call: CallContext): void {
    if (this.#mounts.delete(`${call.remote.hostname}\0${path}`)) {
      this.#onMount?.({ op: "umnt", client: call.remote.hostname, path });
    }
  }

  umntall(call: CallContext): void {
    for (const [k, v] of this.#mounts) {
      if (v.hostname === call.remote.hostname) this.#mounts.delete(k);
    }
  }

  list(): MountEntry[] {
    return [...this.#mounts.values()];
  }

  exports(): ExportEntry[] {
    return this.#table.exports.map((e) => ({
      dir: e.path,
      groups: [...e.clients],
    }));
  }
}

/**
 * Builds the MOUNT v3 program.
 *
 * MNT answers MNT3ERR_NOENT for a path no export covers (or that does not
 * exist below one), MNT3ERR_NOTDIR for a path through or to a non-directory,
 * MNT3ERR_ACCES for a client the export does not allow, MNT3ERR_PERM for an
 * unprivileged source port on a `secure` export, MNT3ERR_NAMETOOLONG for an
 * over-long component. The root handle comes with AUTH_SYS as the flavour.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mountProgram } from "./mount.ts";
 * import { ExportTable } from "./exports.ts";
 * import { MemFs } from "../vfs/memfs.ts";
 * const fs = new MemFs();
 * const prog = mountProgram({ exports: new ExportTable([{ path: "/data", fs }]) });
 * assert.equal(prog.procedures[1].name, "MNT");
 * ```
 */
export function mountProgram(options: MountOptions): RpcProgram {
  const mount = new MountState(options);
  return {
    program: MOUNT_PROGRAM,
    version: MOUNT_V3,
    name: "mountd",
    procedures: {
      [MountProc.NULL]: { name: "NULL", run: () => {} },
      [MountProc.MNT]: procedure({
        name: "MNT",
        decode: decodeDirpath,
        run: (path, call) => mount.mnt(path, call),
        encode: encodeMntRes,
      }),
      [MountProc.DUMP]: procedure({
        name: "DUMP",
        run: () => mount.list(),
        encode: encodeMountList,
      }),
      [MountProc.UMNT]: procedure({
        name: "UMNT",
        decode: decodeDirpath,
        run: (path, call) => mount.umnt(path, call),
      }),
      [MountProc.UMNTALL]: {
        name: "UMNTALL",
        run: (_args, call) => mount.umntall(call),
      },
      [MountProc.EXPORT]: procedure({
        name: "EXPORT",
        run: () => mount.exports(),
        encode: encodeExports,
      }),
    },
  };
}
