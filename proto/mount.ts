/**
 * MOUNT version 3 (RFC 1813 appendix I): constants, types and XDR codecs
 * in both directions (server/mount.ts decodes calls and encodes replies;
 * client/mount.ts does the opposite). `client/mod.ts` re-exports the types
 * and constants `MountClient` uses; the codec functions stay internal.
 *
 * Version 1 (RFC 1094 appendix A) has the same procedures, path argument
 * and DUMP and EXPORT replies, so these codecs serve it too; only its MNT
 * reply differs (`fhstatus`: a status and a 32-byte handle, no auth
 * flavours), generated with NFSv2 in `proto/nfs2/nfs2_gen.ts`.
 *
 * Every decoder throws `XdrError` for malformed input and is bounded
 * before it allocates: paths at most {@link MNTPATHLEN} bytes, host and
 * group names at most {@link MNTNAMLEN}, the root handle at most
 * {@link FHSIZE3}, 64 auth flavours, and the DUMP and EXPORT lists by the
 * bytes left in the reply (each entry takes at least 8).
 *
 * @module
 */

import type { XdrReader, XdrWriter } from "../rpc/xdr.ts";

/** The MOUNT program number. */
export const MOUNT_PROGRAM = 100005;
/** MOUNT version 3, for NFSv3. */
export const MOUNT_V3 = 3;
/** MOUNT version 1, for NFSv2. */
export const MOUNT_V1 = 1;
/** Longest export path in bytes. */
export const MNTPATHLEN = 1024;
/** Longest host or group name in bytes. */
export const MNTNAMLEN = 255;
/** Largest version 3 file handle in bytes. */
export const FHSIZE3 = 64;

/** MOUNT procedure numbers (the same in versions 1 and 3). */
export const MountProc = {
  NULL: 0,
  MNT: 1,
  DUMP: 2,
  UMNT: 3,
  UMNTALL: 4,
  EXPORT: 5,
} as const;

/** `mountstat3` values. */
export const MountStatus = {
  OK: 0,
  PERM: 1,
  NOENT: 2,
  IO: 5,
  ACCES: 13,
  NOTDIR: 20,
  INVAL: 22,
  NAMETOOLONG: 63,
  NOTSUPP: 10004,
  SERVERFAULT: 10006,
} as const;

/** The name of a `mountstat3` value, such as "MNT3ERR_NOENT". */
export function mountStatusName(status: number): string {
  for (const [k, v] of Object.entries(MountStatus)) {
    if (v === status) return status === 0 ? "MNT3_OK" : `MNT3ERR_${k}`;
  }
  return `mountstat3 ${status}`;
}

/** The MNT reply. */
export interface MntRes {
  /** A {@link MountStatus} value. */
  status: number;
  /** The root handle of the export (OK). */
  handle?: Uint8Array;
  /** Auth flavours the server accepts (OK), such as `[1]` for AUTH_SYS. */
  flavors?: number[];
}

/** One entry of the DUMP reply. */
export interface MountEntry {
  /** The client's host name or address. */
  hostname: string;
  /** The export it mounted. */
  directory: string;
}

/** One entry of the EXPORT reply. */
export interface ExportEntry {
  /** The export path. */
  dir: string;
  /** Host names, addresses or networks allowed to mount it. */
  groups: string[];
}

/** Encodes a `dirpath` (MNT and UMNT arguments). */
export function encodeDirpath(w: XdrWriter, path: string): void {
  w.string(path);
}

/** Decodes a `dirpath`, at most {@link MNTPATHLEN} bytes. */
export function decodeDirpath(r: XdrReader): string {
  return r.string(MNTPATHLEN, "dirpath");
}

/** Encodes the MNT reply. */
export function encodeMntRes(w: XdrWriter, res: MntRes): void {
  w.u32(res.status);
  if (res.status !== 0) return;
  w.opaque(res.handle ?? new Uint8Array(0));
  w.array(res.flavors ?? [], (w, f) => w.u32(f));
}

/** Decodes the MNT reply. */
export function decodeMntRes(r: XdrReader): MntRes {
  const status = r.u32("mountstat3");
  if (status !== 0) return { status };
  const handle = r.opaque(FHSIZE3, "fhandle3");
  const flavors = r.array(64, (r) => r.u32("auth_flavors"), "auth_flavors");
  return { status, handle, flavors };
}

/** Encodes the DUMP reply (a `mountlist`). */
export function encodeMountList(
  w: XdrWriter,
  entries: readonly MountEntry[],
): void {
  for (const e of entries) {
    w.u32(1);
    w.string(e.hostname);
    w.string(e.directory);
  }
  w.u32(0);
}

/** Decodes the DUMP reply. */
export function decodeMountList(r: XdrReader): MountEntry[] {
  return r.list(r.remaining >>> 3, (r) => {
    const hostname = r.string(MNTNAMLEN, "ml_hostname");
    const directory = r.string(MNTPATHLEN, "ml_directory");
    return { hostname, directory };
  }, "mountlist");
}

/** Encodes the EXPORT reply (an `exports` list with its groups). */
export function encodeExports(
  w: XdrWriter,
  entries: readonly ExportEntry[],
): void {
  for (const e of entries) {
    w.u32(1);
    w.string(e.dir);
    for (const g of e.groups) {
      w.u32(1);
      w.string(g);
    }
    w.u32(0);
  }
  w.u32(0);
}

/** Decodes the EXPORT reply. */
export function decodeExports(r: XdrReader): ExportEntry[] {
  return r.list(r.remaining >>> 3, (r) => {
    const dir = r.string(MNTPATHLEN, "ex_dir");
    const groups = r.list(
      r.remaining >>> 3,
      (r) => r.string(MNTNAMLEN, "gr_name"),
      "groups",
    );
    return { dir, groups };
  }, "exports");
}
