/**
 * MOUNT version 3 (RFC 1813 appendix I): constants, types and XDR codecs
 * in both directions.
 *
 * @example Round-trip an MNT reply
 * ```ts
 * import { XdrReader, XdrWriter } from "../rpc/xdr.ts";
 * import { decodeMntRes, encodeMntRes, MountStatus } from "./mount.ts";
 * const w = new XdrWriter();
 * encodeMntRes(w, { status: MountStatus.OK, handle: new Uint8Array(20), flavors: [1] });
 * console.log(decodeMntRes(new XdrReader(w.bytes())).flavors); // [1]
 * ```
 *
 * @module
 */

import type { XdrReader, XdrWriter } from "../rpc/xdr.ts";

/**
 * The MOUNT program number.
 *
 * @example
 * ```ts
 * import { MOUNT_PROGRAM } from "./mount.ts";
 * console.log(MOUNT_PROGRAM); // 100005
 * ```
 */
export const MOUNT_PROGRAM = 100005;
/**
 * The MOUNT version this module speaks.
 *
 * @example
 * ```ts
 * import { MOUNT_V3 } from "./mount.ts";
 * console.log(MOUNT_V3); // 3
 * ```
 */
export const MOUNT_V3 = 3;
/**
 * Longest export path in bytes.
 *
 * @example
 * ```ts
 * import { MNTPATHLEN } from "./mount.ts";
 * console.log(MNTPATHLEN); // 1024
 * ```
 */
export const MNTPATHLEN = 1024;
/**
 * Longest host or group name in bytes.
 *
 * @example
 * ```ts
 * import { MNTNAMLEN } from "./mount.ts";
 * console.log(MNTNAMLEN); // 255
 * ```
 */
export const MNTNAMLEN = 255;
/**
 * Largest version 3 file handle in bytes.
 *
 * @example
 * ```ts
 * import { FHSIZE3 } from "./mount.ts";
 * console.log(FHSIZE3); // 64
 * ```
 */
export const FHSIZE3 = 64;

/**
 * MOUNT v3 procedure numbers.
 *
 * @example
 * ```ts
 * import { MountProc } from "./mount.ts";
 * console.log(MountProc.MNT); // 1
 * ```
 */
export const MountProc = {
  NULL: 0,
  MNT: 1,
  DUMP: 2,
  UMNT: 3,
  UMNTALL: 4,
  EXPORT: 5,
} as const;

/**
 * `mountstat3` values.
 *
 * @example
 * ```ts
 * import { MountStatus } from "./mount.ts";
 * console.log(MountStatus.NOENT); // 2
 * ```
 */
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

/**
 * The MNT reply.
 *
 * @example
 * ```ts
 * import type { MntRes } from "./mount.ts";
 * const ok: MntRes = { status: 0, handle: new Uint8Array(20), flavors: [1] };
 * console.log(ok.flavors);
 * ```
 */
export interface MntRes {
  /** A {@link MountStatus} value. */
  status: number;
  /** The root handle of the export (OK). */
  handle?: Uint8Array;
  /** Auth flavours the server accepts (OK), such as `[1]` for AUTH_SYS. */
  flavors?: number[];
}

/**
 * One entry of the DUMP reply.
 *
 * @example
 * ```ts
 * import type { MountEntry } from "./mount.ts";
 * const e: MountEntry = { hostname: "127.0.0.1", directory: "/" };
 * console.log(e);
 * ```
 */
export interface MountEntry {
  /** The client's host name or address. */
  hostname: string;
  /** The export it mounted. */
  directory: string;
}

/**
 * One entry of the EXPORT reply.
 *
 * @example
 * ```ts
 * import type { ExportEntry } from "./mount.ts";
 * const e: ExportEntry = { dir: "/data", groups: ["10.0.0.0/8"] };
 * console.log(e);
 * ```
 */
export interface ExportEntry {
  /** The export path. */
  dir: string;
  /** Host names, addresses or networks allowed to mount it. */
  groups: string[];
}

/**
 * Encodes a `dirpath` (MNT and UMNT arguments).
 *
 * @example
 * ```ts
 * import { XdrWriter } from "../rpc/xdr.ts";
 * import { encodeDirpath } from "./mount.ts";
 * encodeDirpath(new XdrWriter(), "/");
 * ```
 */
export function encodeDirpath(w: XdrWriter, path: string): void {
  w.string(path);
}

/**
 * Decodes a `dirpath`, at most {@link MNTPATHLEN} bytes.
 *
 * @example
 * ```ts
 * import { XdrReader, XdrWriter } from "../rpc/xdr.ts";
 * import { decodeDirpath } from "./mount.ts";
 * console.log(decodeDirpath(new XdrReader(new XdrWriter().string("/data").bytes())));
 * ```
 */
export function decodeDirpath(r: XdrReader): string {
  return r.string(MNTPATHLEN, "dirpath");
}

/**
 * Encodes the MNT reply.
 *
 * @example
 * ```ts
 * import { XdrWriter } from "../rpc/xdr.ts";
 * import { encodeMntRes } from "./mount.ts";
 * encodeMntRes(new XdrWriter(), { status: 2 });
 * ```
 */
export function encodeMntRes(w: XdrWriter, res: MntRes): void {
  w.u32(res.status);
  if (res.status !== 0) return;
  w.opaque(res.handle ?? new Uint8Array(0));
  w.array(res.flavors ?? [], (w, f) => w.u32(f));
}

/**
 * Decodes the MNT reply.
 *
 * @example
 * ```ts
 * import { XdrReader, XdrWriter } from "../rpc/xdr.ts";
 * import { decodeMntRes } from "./mount.ts";
 * console.log(decodeMntRes(new XdrReader(new XdrWriter().u32(13).bytes())).status); // 13
 * ```
 */
export function decodeMntRes(r: XdrReader): MntRes {
  const status = r.u32("mountstat3");
  if (status !== 0) return { status };
  const handle = r.opaque(FHSIZE3, "fhandle3");
  const flavors = r.array(64, (r) => r.u32("auth_flavors"), "auth_flavors");
  return { status, handle, flavors };
}

/**
 * Encodes the DUMP reply (a `mountlist`).
 *
 * @example
 * ```ts
 * import { XdrWriter } from "../rpc/xdr.ts";
 * import { encodeMountList } from "./mount.ts";
 * encodeMountList(new XdrWriter(), [{ hostname: "127.0.0.1", directory: "/" }]);
 * ```
 */
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

/**
 * Decodes the DUMP reply.
 *
 * @example
 * ```ts
 * import { XdrReader, XdrWriter } from "../rpc/xdr.ts";
 * import { decodeMountList } from "./mount.ts";
 * console.log(decodeMountList(new XdrReader(new XdrWriter().u32(0).bytes()))); // []
 * ```
 */
export function decodeMountList(r: XdrReader): MountEntry[] {
  return r.list(r.remaining >>> 3, (r) => {
    const hostname = r.string(MNTNAMLEN, "ml_hostname");
    const directory = r.string(MNTPATHLEN, "ml_directory");
    return { hostname, directory };
  }, "mountlist");
}

/**
 * Encodes the EXPORT reply (an `exports` list with its groups).
 *
 * @example
 * ```ts
 * import { XdrWriter } from "../rpc/xdr.ts";
 * import { encodeExports } from "./mount.ts";
 * encodeExports(new XdrWriter(), [{ dir: "/", groups: ["127.0.0.0/8"] }]);
 * ```
 */
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

/**
 * Decodes the EXPORT reply.
 *
 * @example
 * ```ts
 * import { XdrReader, XdrWriter } from "../rpc/xdr.ts";
 * import { decodeExports } from "./mount.ts";
 * console.log(decodeExports(new XdrReader(new XdrWriter().u32(0).bytes()))); // []
 * ```
 */
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
