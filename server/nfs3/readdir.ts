/**
 * NFSv3 READDIR and READDIRPLUS.
 *
 * Cookies: 1 and 2 are the synthesized "." and "..", larger ones are the
 * file system's own (at least 3). The cookie verifier is constant per
 * export and never checked: a cookie that still resolves is always honoured
 * (RFC 1813 allows the server to ignore the verifier), so clients are never
 * sent back to the start of a large directory.
 *
 * Paging is exact: entries are added while the encoded READDIR3resok /
 * READDIRPLUS3resok stays within `count` / `maxcount`, and the names,
 * cookies and file ids within `dircount` (at least one entry, since
 * `dircount` is a hint). If not even one entry fits, the answer is
 * NFS3ERR_TOOSMALL.
 *
 * A cookie the file system no longer knows is NFS3ERR_BAD_COOKIE, a handle
 * that is not a directory NFS3ERR_NOTDIR; both carry the directory's
 * attributes.
 *
 * @module
 */

import {
  decodeReaddirArgs,
  decodeReaddirplusArgs,
  encodeReaddirplusRes,
  encodeReaddirRes,
  type Entry3,
  entry3Size,
  entryplus3Size,
  FATTR3_SIZE,
  Nfs3Proc,
  Nfs3Status,
  type ReaddirRes,
  utf8Length,
} from "../../proto/nfs3.ts";
import { VfsError } from "../../vfs/errors.ts";
import type { Attributes } from "../../vfs/types.ts";
import { HANDLE_SIZE } from "../handles.ts";
import {
  fattr,
  MAX_DIR_REPLY,
  type Nfs3Context,
  type Target,
} from "./context.ts";
import { type Nfs3Procedure, nfs3Procedure } from "./procedure.ts";

/** status + post_op_attr + cookieverf + end of list + eof, as in a reply. */
const HEADER = 4 + 4 + FATTR3_SIZE + 8 + 4 + 4;
const MAX_PAGE = 4096;

interface Limits {
  /** Bytes for the whole resok. */
  max: number;
  /** Bytes of names, cookies and ids (READDIRPLUS only). */
  dir: number;
}

async function listing(
  nfs: Nfs3Context,
  t: Target,
  cookie: bigint,
  plus: boolean,
  limits: Limits,
): Promise<ReaddirRes> {
  const dir = await t.fs.getattr(t.cred, t.id);
  const dirAttrs = fattr(dir);
  if (dirAttrs.type !== 2) {
    return { status: Nfs3Status.NOTDIR, dirAttrs };
  }
  const max = Math.min(limits.max, MAX_DIR_REPLY);
  const entries: Entry3[] = [];
  let used = HEADER;
  let dirUsed = 0;
  let full = false;
  // Adds an entry if it fits; false once the reply is full.
  const add = (e: Entry3): boolean => {
    const n = utf8Length(e.name);
    const dsize = entry3Size(n);
    const size = plus
      ? entryplus3Size(n, e.attrs !== undefined, e.handle?.byteLength)
      : dsize;
    if (
      used + size > max ||
      (plus && entries.length > 0 && dirUsed + dsize > limits.dir)
    ) {
      full = true;
      return false;
    }
    used += size;
    dirUsed += dsize;
    entries.push(e);
    return true;
  };
  if (used > max) full = true;
  if (!full && cookie === 0n) {
    add(
      plus
        ? {
          fileid: dirAttrs.fileid,
          name: ".",
          cookie: 1n,
          attrs: dirAttrs,
          handle: nfs.handle(t.exp, t.id),
        }
        : { fileid: dirAttrs.fileid, name: ".", cookie: 1n },
    );
  }
  if (!full && cookie <= 1n) {
    const parent = await parentOf(t, dir);
    const attrs = fattr(parent);
    add(
      plus
        ? {
          fileid: attrs.fileid,
          name: "..",
          cookie: 2n,
          attrs,
          handle: nfs.handle(t.exp, parent.fileid),
        }
        : { fileid: attrs.fileid, name: "..", cookie: 2n },
    );
  }
  let eof = false;
  let next = cookie >= 3n ? cookie : 0n;
  const handleOf = plus ? nfs.handles(t.exp) : undefined;
  while (!full) {
    const room = max - used;
    const limit = Math.min(
      MAX_PAGE,
      Math.ceil(room / (plus ? 24 + 8 + FATTR3_SIZE + HANDLE_SIZE : 24)) + 1,
    );
    let page;
    try {
      page = await t.fs.readdir(t.cred, t.id, {
        cookie: next,
        limit,
        withAttributes: plus,
      });
    } catch (e) {
      if (e instanceof VfsError && e.code === "EINVAL" && next >= 3n) {
        return { status: Nfs3Status.BAD_COOKIE, dirAttrs };
      }
      throw e;
    }
    for (const d of page.entries) {
      let e: Entry3;
      if (plus) {
        let attrs = d.attrs && fattr(d.attrs);
        if (attrs === undefined) {
          attrs = await nfs.attrs(t, d.fileid);
        }
        e = {
          fileid: attrs?.fileid ?? d.inode ?? d.fileid,
          name: d.name,
          cookie: d.cookie,
          attrs,
          handle: handleOf!(d.fileid),
        };
      } else {
        e = { fileid: d.inode ?? d.fileid, name: d.name, cookie: d.cookie };
      }
      if (!add(e)) break;
      next = d.cookie;
    }
    if (full) break;
    if (page.eof) {
      eof = true;
      break;
    }
    if (page.entries.length === 0) break; // a file system making no progress
  }
  if (entries.length === 0 && !eof) {
    return { status: Nfs3Status.TOOSMALL, dirAttrs };
  }
  return {
    status: 0,
    dirAttrs,
    cookieverf: t.exp.verifier,
    entries,
    eof,
  };
}

/**
 * The attributes of a directory's parent (the directory itself for an
 * export's root, or when the parent cannot be read), for "..".
 */
export async function parentOf(
  t: Target,
  dir: Attributes,
): Promise<Attributes> {
  if (t.id === t.exp.root) return dir;
  try {
    return await t.fs.lookup(t.cred, t.id, "..");
  } catch {
    return dir;
  }
}

/** The `fail` of both: the directory's attributes as they are now. */
async function failed(
  status: number,
  t: Target,
  nfs: Nfs3Context,
): Promise<ReaddirRes> {
  return { status, dirAttrs: await nfs.attrs(t) };
}

/**
 * The READDIR and READDIRPLUS procedures.
 */
export const readdirProcedures: Record<number, Nfs3Procedure<any, any>> = {
  [Nfs3Proc.READDIR]: nfs3Procedure({
    name: "READDIR",
    borrowsArgs: true, // a handle, a cookie and its verifier: none kept
    decode: decodeReaddirArgs,
    encode: encodeReaddirRes,
    fh: (a) => a.dir,
    run: (a, t, nfs) => {
      // READDIR3resok excludes the status word the sizes above count.
      const max = a.count + 4;
      return listing(nfs, t, a.cookie, false, { max, dir: max });
    },
    fail: failed,
  }),
  [Nfs3Proc.READDIRPLUS]: nfs3Procedure({
    name: "READDIRPLUS",
    borrowsArgs: true, // a handle, a cookie and its verifier: none kept
    decode: decodeReaddirplusArgs,
    encode: encodeReaddirplusRes,
    fh: (a) => a.dir,
    run: (a, t, nfs) =>
      listing(nfs, t, a.cookie, true, {
        max: a.maxcount + 4,
        dir: a.dircount,
      }),
    fail: failed,
  }),
};
