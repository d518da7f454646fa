/**
 * NFSv2 READDIR.
 *
 * Cookies are 4 bytes (cookies.ts): 1 and 2 follow the synthesized "."
 * and "..", small file-system cookies go out as they are, larger ones
 * through the program's cookie table. A cookie that table no longer has
 * is NFSERR_STALE (version 2 has no BAD_COOKIE), and so is one the file
 * system no longer knows.
 *
 * Paging is exact: entries are added while the encoded `readdirok` (the
 * entries, the end of the list and eof) stays within the client's
 * `count`, capped at 1 MiB. If not even one entry fits, the answer is
 * NFSERR_INVAL. A handle that is not a directory is NFSERR_NOTDIR.
 *
 * @module
 */

import {
  decode_readdirargs,
  EMPTY_READDIROK,
  encode_readdirres,
  type entry,
  entrySize,
  NFSPROC_READDIR,
  nfsstat,
  type readdirres,
} from "../../proto/nfs2/mod.ts";
import { utf8Length } from "../../proto/nfs3.ts";
import { isVfsError } from "../../vfs/errors.ts";
import { FileType } from "../../vfs/types.ts";
import type { Target } from "../_targets.ts";
import { fattr, MAX_DIR_REPLY } from "../nfs3/context.ts";
import { parentOf } from "../nfs3/readdir.ts";
import { fold32 } from "./convert.ts";
import {
  type Nfs2Context,
  type Nfs2Procedure,
  nfs2Procedure,
} from "./context.ts";

/** Entries asked of the file system at a time, at most. */
const MAX_PAGE = 4096;
/** The smallest entry: a name of at most 4 bytes. */
const MIN_ENTRY = entrySize(0);

function cookieBytes(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n);
  return b;
}

async function listing(
  nfs: Nfs2Context,
  t: Target,
  start: number,
  count: number,
): Promise<readdirres> {
  const dir = await t.fs.getattr(t.cred, t.id);
  if (dir.type !== FileType.Directory) {
    return { status: nfsstat.NFSERR_NOTDIR };
  }
  let next = 0n;
  if (start >= 3) {
    const c = nfs.cookies.cookie(t.exp.id, t.id, start);
    if (c === undefined) return { status: nfsstat.NFSERR_STALE };
    next = c;
  }
  const max = Math.min(count, MAX_DIR_REPLY);
  const entries: entry[] = [];
  let used = EMPTY_READDIROK;
  let full = used > max;
  // Makes room for an entry named `name`; false once the reply is full.
  const room = (name: string): boolean => {
    const size = entrySize(utf8Length(name));
    if (used + size > max) {
      full = true;
      return false;
    }
    used += size;
    return true;
  };
  const add = (fileid: number, name: string, cookie: number): void => {
    entries.push({ fileid: fold32(fileid), name, cookie: cookieBytes(cookie) });
  };
  if (!full && start === 0 && room(".")) add(fattr(dir).fileid, ".", 1);
  if (!full && start <= 1 && room("..")) {
    add(fattr(await parentOf(t, dir)).fileid, "..", 2);
  }
  let eof = false;
  while (!full) {
    const limit = Math.min(MAX_PAGE, Math.ceil((max - used) / MIN_ENTRY) + 1);
    let page;
    try {
      page = await t.fs.readdir(t.cred, t.id, { cookie: next, limit });
    } catch (e) {
      if (isVfsError(e, "EINVAL") && next >= 3n) {
        return { status: nfsstat.NFSERR_STALE };
      }
      throw e;
    }
    for (const d of page.entries) {
      if (!room(d.name)) break;
      add(
        d.inode ?? d.fileid,
        d.name,
        nfs.cookies.wire(t.exp.id, t.id, d.cookie),
      );
      next = d.cookie;
    }
    if (full) break;
    if (page.eof) {
      eof = true;
      break;
    }
    if (page.entries.length === 0) break; // a file system making no progress
  }
  if (entries.length === 0 && !eof) return { status: nfsstat.NFSERR_INVAL };
  return { status: nfsstat.NFS_OK, readdirok: { entries, eof } };
}

/**
 * The READDIR procedure.
 */
export const readdirProcedures: Record<number, Nfs2Procedure<any, any>> = {
  [NFSPROC_READDIR]: nfs2Procedure({
    name: "READDIR",
    decode: decode_readdirargs,
    encode: encode_readdirres,
    fh: (a) => a.dir,
    run: (a, t, nfs) => {
      const view = new DataView(
        a.cookie.buffer,
        a.cookie.byteOffset,
        a.cookie.byteLength,
      );
      return listing(nfs, t, view.getUint32(0), a.count);
    },
  }),
};
