/**
 * The MOUNT program (100005), versions 3 (for NFSv3) and 1 (for NFSv2):
 * hands out an export's root handle, keeps the list of mounts for DUMP,
 * and lists exports with the clients allowed to mount them. Version 1's
 * MNT answers the 32-byte NFSv2 handle and a UNIX errno number as its
 * status (EIO where version 3 would say NOTSUPP or SERVERFAULT); its
 * other procedures are version 3's.
 *
 * @example Mount an export, then find it in the mount list
 * ```ts
 * import { RpcClient, serveRpc } from "@netfs/netfs/rpc";
 * import { ExportTable, mountProgram } from "@netfs/netfs/server";
 * import { MemFs } from "@netfs/netfs/vfs";
 * import assert from "node:assert/strict";
 *
 * const exports = new ExportTable([{ path: "/data", fs: new MemFs() }]);
 * const server = serveRpc({ port: 0, programs: [mountProgram({ exports })] });
 * const client = await RpcClient.connect({ hostname: "127.0.0.1", port: server.addr.port });
 * // MNT (program 100005 version 3, procedure 1): status, root handle, flavours.
 * const mnt = await client.call(100005, 3, 1, (w) => w.string("/data"));
 * assert.equal(mnt.u32(), 0); // MNT3_OK
 * assert.ok(mnt.opaque(64).length > 0); // the handle NFS calls start from
 * assert.deepEqual(mnt.array(8, (r) => r.u32()), [1]); // AUTH_SYS
 * // DUMP (procedure 2): who mounted what.
 * const dump = await client.call(100005, 3, 2, () => {});
 * assert.equal(dump.bool(), true); // an entry follows
 * assert.deepEqual([dump.string(255), dump.string(1024)], ["127.0.0.1", "/data"]);
 * assert.equal(dump.bool(), false); // the last one
 * client.close();
 * await server.shutdown();
 * ```
 *
 * @module
 */

import {
  type CallContext,
  procedure,
  type RpcProgram,
} from "../rpc/program.ts";
import { encode_fhstatus, type fhstatus } from "../proto/nfs2/mod.ts";
import {
  decodeDirpath,
  encodeExports,
  encodeMntRes,
  encodeMountList,
  type ExportEntry,
  type MntRes,
  MOUNT_PROGRAM,
  MOUNT_V1,
  MOUNT_V3,
  type MountEntry,
  MountProc,
  MountStatus,
} from "../proto/mount.ts";
import { VfsError } from "../vfs/errors.ts";
import {
  type Credentials,
  type FileId,
  type FileSystem,
  FileType,
} from "../vfs/types.ts";
import { BoundedMap } from "../collections/_bounded_map.ts";
import type { ExportTable } from "./exports.ts";
import { encodeHandle, padHandle } from "./handles.ts";

/**
 * Options of {@link mountProgram}.
 *
 * @example Log mounts and unmounts
 * ```ts
 * import { RpcClient, serveRpc } from "@netfs/netfs/rpc";
 * import { ExportTable, mountProgram } from "@netfs/netfs/server";
 * import { MemFs } from "@netfs/netfs/vfs";
 * import assert from "node:assert/strict";
 *
 * const events: string[] = [];
 * const server = serveRpc({
 *   port: 0,
 *   programs: [mountProgram({
 *     exports: new ExportTable([{ path: "/", fs: new MemFs() }]),
 *     onMount: (e) => events.push(`${e.op} ${e.client} ${e.path}`),
 *   })],
 * });
 * const client = await RpcClient.connect({ hostname: "127.0.0.1", port: server.addr.port });
 * await client.call(100005, 3, 1, (w) => w.string("/")); // MNT
 * await client.call(100005, 3, 3, (w) => w.string("/")); // UMNT
 * await client.call(100005, 3, 3, (w) => w.string("/")); // not mounted: no event
 * assert.deepEqual(events, ["mnt 127.0.0.1 /", "umnt 127.0.0.1 /"]);
 * client.close();
 * await server.shutdown();
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

/** Most symlinks followed in one MOUNT path, as Linux's MAXSYMLINKS. */
const MAX_LINKS = 40;

/**
 * The object `names` leads to from the export's root, following symlinks
 * on the way whose targets stay inside the export (a relative target is
 * read from the link's directory; ".." above the root leaves the export).
 * An absolute target names a host path, which the file system does not
 * see: it counts as leaving. "ACCES" for a path that leaves, "INVAL" after
 * too many links; lookups throw as they do.
 */
async function walk(
  fs: FileSystem,
  cred: Credentials,
  root: FileId,
  names: string[],
): Promise<FileId | "ACCES" | "INVAL"> {
  const dirs = [root];
  const todo = names.toReversed();
  let links = 0;
  while (todo.length > 0) {
    const name = todo.pop()!;
    if (name === "" || name === ".") continue;
    if (name === "..") {
      if (dirs.length === 1) return "ACCES";
      dirs.pop();
      continue;
    }
    const a = await fs.lookup(cred, dirs.at(-1)!, name);
    if (a.type !== FileType.Symlink) {
      dirs.push(a.fileid);
      continue;
    }
    if (++links > MAX_LINKS) return "INVAL";
    const target = await fs.readlink(cred, a.fileid);
    if (target.startsWith("/")) return "ACCES";
    todo.push(...target.split("/").reverse());
  }
  return dirs.at(-1)!;
}

/** The state of one MOUNT program: the exports and who mounted what. */
class MountState {
  readonly #table: ExportTable;
  readonly #onMount: MountOptions["onMount"];
  /** "client\0path" -> entry, in mount order; the oldest go past the bound. */
  readonly #mounts = new BoundedMap<string, MountEntry>(MAX_MOUNTS);

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
    if (m.rest.includes("..")) return { status: MountStatus.INVAL };
    const cred = exp.credentials(call.auth);
    const fs = exp.fsFor(cred);
    let id: FileId;
    try {
      const found = await walk(fs, cred, exp.root, m.rest);
      if (typeof found === "string") return { status: MountStatus[found] };
      id = found;
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
 * over-long component, MNT3ERR_INVAL for a path with "..". The root handle
 * comes with AUTH_SYS as the flavour.
 *
 * A symlink on the way is followed (as mountd resolves a path on the host)
 * when its target stays inside the export: a relative target, read from the
 * link's directory, that never climbs above the export's root. One that
 * does, or an absolute target (a host path, which the file system does not
 * see), is MNT3ERR_ACCES; more than 40 links, MNT3ERR_INVAL.
 *
 * @example What MNT answers for paths it cannot mount
 * ```ts
 * import { RpcClient, serveRpc } from "@netfs/netfs/rpc";
 * import { ExportTable, mountProgram } from "@netfs/netfs/server";
 * import { MemFs, ROOT } from "@netfs/netfs/vfs";
 * import assert from "node:assert/strict";
 *
 * const fs = new MemFs();
 * await fs.create(ROOT, fs.root, "notes.txt");
 * await fs.mkdir(ROOT, fs.root, "real");
 * await fs.symlink(ROOT, fs.root, "link", "real"); // stays inside
 * await fs.symlink(ROOT, fs.root, "up", "real/../.."); // climbs out
 * const exports = new ExportTable([
 *   { path: "/", fs },
 *   { path: "/lan", fs: new MemFs(), clients: ["192.0.2.0/24"] },
 * ]);
 * const server = serveRpc({ port: 0, programs: [mountProgram({ exports })] });
 * const client = await RpcClient.connect({ hostname: "127.0.0.1", port: server.addr.port });
 * const mnt = async (path: string) =>
 *   (await client.call(100005, 3, 1, (w) => w.string(path))).u32();
 * assert.equal(await mnt("/"), 0); // MNT3_OK
 * assert.equal(await mnt("/missing"), 2); // MNT3ERR_NOENT
 * assert.equal(await mnt("/notes.txt"), 20); // MNT3ERR_NOTDIR
 * assert.equal(await mnt("/lan"), 13); // MNT3ERR_ACCES: we are not on that network
 * assert.equal(await mnt("/link"), 0); // through a symlink inside the export
 * assert.equal(await mnt("/up"), 13); // MNT3ERR_ACCES: the link leaves it
 * client.close();
 * await server.shutdown();
 * ```
 */
export function mountProgram(options: MountOptions): RpcProgram {
  return programOf(new MountState(options), MOUNT_V3);
}

/**
 * Options of {@link mountPrograms}.
 */
export interface MountProgramsOptions extends MountOptions {
  /** The MOUNT versions to build: 1 (for NFSv2), 3 (for NFSv3). Default both. */
  versions?: readonly (1 | 3)[];
}

/**
 * Builds MOUNT programs of several versions over one list of mounts, so
 * that DUMP lists the mounts made through either: version 1 for NFSv2
 * clients, version 3 for NFSv3 clients. Version 1's MNT answers the
 * 32-byte handle NFSv2 uses.
 *
 * @example Mount through version 1, find it through version 3's DUMP
 * ```ts
 * import { RpcClient, serveRpc } from "@netfs/netfs/rpc";
 * import { ExportTable, mountPrograms } from "@netfs/netfs/server";
 * import { MemFs } from "@netfs/netfs/vfs";
 * import assert from "node:assert/strict";
 *
 * const exports = new ExportTable([{ path: "/data", fs: new MemFs() }]);
 * const server = serveRpc({ port: 0, programs: mountPrograms({ exports }) });
 * const client = await RpcClient.connect({ hostname: "127.0.0.1", port: server.addr.port });
 * const mnt = await client.call(100005, 1, 1, (w) => w.string("/data")); // MNT v1
 * assert.equal(mnt.u32(), 0); // success
 * assert.equal(mnt.fixedOpaque(32).length, 32); // an NFSv2 handle, no flavours
 * const missing = await client.call(100005, 1, 1, (w) => w.string("/nope"));
 * assert.equal(missing.u32(), 2); // ENOENT
 * const dump = await client.call(100005, 3, 2, () => {}); // DUMP v3
 * assert.equal(dump.bool(), true);
 * assert.deepEqual([dump.string(255), dump.string(1024)], ["127.0.0.1", "/data"]);
 * client.close();
 * await server.shutdown();
 * ```
 */
export function mountPrograms(options: MountProgramsOptions): RpcProgram[] {
  const versions: (1 | 3)[] = [
    ...new Set(options.versions ?? [MOUNT_V1, MOUNT_V3] as const),
  ];
  if (versions.length === 0 || versions.some((v) => v !== 1 && v !== 3)) {
    throw new RangeError(
      `MOUNT versions must be 1 and/or 3: ${versions.join(",")}`,
    );
  }
  const mount = new MountState(options);
  return versions.map((v) => programOf(mount, v));
}

/** MOUNT v1's MNT reply for a v3 one: the padded handle, errno statuses. */
function fhstatusOf(res: MntRes): fhstatus {
  if (res.status === MountStatus.OK) {
    return { status: 0, directory: padHandle(res.handle!) };
  }
  // NOTSUPP and SERVERFAULT are no errno numbers.
  return { status: res.status >= 10000 ? MountStatus.IO : res.status };
}

function programOf(mount: MountState, version: 1 | 3): RpcProgram {
  const mnt = version === MOUNT_V3
    ? procedure({
      name: "MNT",
      decode: decodeDirpath,
      run: (path, call) => mount.mnt(path, call),
      encode: encodeMntRes,
    })
    : procedure({
      name: "MNT",
      decode: decodeDirpath,
      run: async (path, call) => fhstatusOf(await mount.mnt(path, call)),
      encode: encode_fhstatus,
    });
  return {
    program: MOUNT_PROGRAM,
    version,
    name: "mountd",
    procedures: {
      [MountProc.NULL]: { name: "NULL", run: () => {} },
      [MountProc.MNT]: mnt,
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
