/**
 * netfs clients: `NfsClient` (files on an NFS server through Deno's file
 * API, over NFSv3 or NFSv2), the protocol clients it stands on
 * (`Nfs3Client`, `Nfs2Client`, `MountClient`, `PortmapClient`), and the
 * codecs' types and constants they use. The RPC
 * client underneath is in `@netfs/netfs/rpc`.
 *
 * @example Read a file from an NFS server
 * ```ts
 * import { NfsClient } from "@netfs/netfs/client";
 * import { serveNfs } from "@netfs/netfs/server";
 * import { MemFs } from "@netfs/netfs/vfs";
 * import assert from "node:assert/strict";
 *
 * const fs = new MemFs({ rootMode: 0o1777 }); // anyone may write
 * const server = serveNfs({ port: 0, quiet: true, exports: [{ path: "/data", fs }] });
 * // Port given, mountport not: netfs serves MOUNT on its NFS port.
 * await using nfs = await NfsClient.connect(`nfs://127.0.0.1:${server.addr.port}/data`);
 * await nfs.writeTextFile("/hello.txt", "hi");
 * assert.equal(await nfs.readTextFile("/hello.txt"), "hi");
 * assert.equal(nfs.info.exportPath, "/data");
 * await nfs.close();
 * await server.shutdown();
 * ```
 *
 * @example Ask a server's portmapper where NFS listens
 * ```ts
 * import { PortmapClient } from "@netfs/netfs/client";
 * import { serveNfs } from "@netfs/netfs/server";
 * import { MemFs } from "@netfs/netfs/vfs";
 * import assert from "node:assert/strict";
 *
 * // A netfs server answers portmap queries on its own port.
 * const server = serveNfs({ port: 0, quiet: true, exports: [{ path: "/", fs: new MemFs({ rootMode: 0o1777 }) }] });
 * const pm = await PortmapClient.connect({ hostname: "127.0.0.1", port: server.addr.port });
 * assert.equal(await pm.getPort({ program: 100003, version: 3 }), server.addr.port);
 * assert.equal(await pm.getPort({ program: 100021, version: 4 }), 0); // no lock manager
 * pm.close();
 * await server.shutdown();
 * ```
 *
 * @module
 */
export * from "./nfs_client.ts";
export * from "./nfs_options.ts";
export * from "./nfs_file.ts";
export * from "./file_info.ts";
export * from "./url.ts";
export * from "./errors.ts";
export * from "./nfs3.ts";
export * from "./nfs2.ts";
export * from "./mount.ts";
export * from "./caller.ts";
export * from "./portmap.ts";
export * from "../proto/portmap.ts";
// The NFSv3 and MOUNT types and constants the clients' signatures use.
export {
  Access3,
  type AccessArgs,
  type AccessRes,
  type CommitArgs,
  type CommitRes,
  type CreateArgs,
  CreateMode,
  type CreateRes,
  type DirOpArgs,
  type Entry3,
  type Fattr3,
  FsfProps,
  type FsinfoRes,
  type FsstatRes,
  Ftype3,
  type LinkArgs,
  type LinkRes,
  type LookupRes,
  type MkdirArgs,
  type MknodArgs,
  Nfs3Proc,
  Nfs3Status,
  nfs3StatusName,
  type PathconfRes,
  type ReadArgs,
  type ReaddirArgs,
  type ReaddirplusArgs,
  type ReaddirRes,
  type ReadlinkRes,
  type ReadRes,
  type RenameArgs,
  type RenameRes,
  type Sattr3,
  type SetattrArgs,
  type SetTime3,
  StableHow,
  type SymlinkArgs,
  type Time3,
  type WccAttr,
  type WccData,
  type WriteArgs,
  type WriteRes,
} from "../proto/nfs3.ts";
export {
  type ExportEntry,
  type MountEntry,
  MountProc,
  MountStatus,
  mountStatusName,
} from "../proto/mount.ts";
// The NFSv2 types and constants Nfs2Client's signatures use (RFC 1094's
// names).
export {
  type createargs,
  type diropargs,
  type diropokres,
  type entry,
  type fattr,
  type fhandle,
  type filename,
  ftype,
  type linkargs,
  NFS_MAXDATA,
  type nfscookie,
  type nfsdata,
  nfsstat,
  type path,
  type readargs,
  type readdirargs,
  type readdirok,
  type readokres,
  type renameargs,
  type sattr,
  type sattrargs,
  type statfsokres,
  type symlinkargs,
  type timeval,
  type writeargs,
} from "../proto/nfs2/nfs2_gen.ts";
export { MOUNT_V1, MOUNT_V3 } from "../proto/mount.ts";
