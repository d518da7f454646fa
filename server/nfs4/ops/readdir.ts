/**
 * NFSv4 READDIR, over export directories and pseudo directories.
 *
 * - Cookies: 0 starts; 1 and 2 are reserved (they stood for "." and ".."
 *   in NFSv3) and answer NFS4ERR_BAD_COOKIE; an export's are the file
 *   system's own (at least 3), a pseudo directory's are 3 + the entry's
 *   index. The cookie verifier is the export's handle verifier and is never
 *   checked: a cookie that still resolves is honoured, as in NFSv3.
 * - Paging is exact: entries are added while the encoded READDIR4resok
 *   stays within `maxcount` and the cookies and names within `dircount`
 *   (at least one entry). If not even one fits: NFS4ERR_TOOSMALL.
 * - Each entry carries the requested attributes. One whose attributes
 *   cannot be read (removed meanwhile) gets `rdattr_error` alone when the
 *   client asked for it, and fails the READDIR otherwise.
 * - Junctions: an entry that is an export's root (in a pseudo directory,
 *   or nested under an export's root) shows that root's attributes (its
 *   own fsid, `mounted_on_fileid` the entry's fileid in the parent). A
 *   nested export is listed where the parent export has an entry of that
 *   name, as a mount point covers a directory. Exports the client may not
 *   use are not listed.
 *
 * @module
 */

import {
  bitmapHas,
  encode_READDIR4res,
  type entry4,
  FATTR4_RDATTR_ERROR,
  nfs_opnum4,
  nfsstat4,
  type READDIR4args,
  type READDIR4res,
  ReaddirPage,
} from "../../../proto/nfs4/mod.ts";
import { VfsError } from "../../../vfs/errors.ts";
import { type Attributes, FileType } from "../../../vfs/types.ts";
import type { Export } from "../../exports.ts";
import { AttrReader, readRequest } from "../attrs.ts";
import type { Op } from "../compound.ts";
import type { CompoundState, Nfs4Server } from "../context.ts";
import { fail, nfs4StatusOf } from "../errors.ts";
import type { Nfs4Object, PseudoNode } from "../pseudo.ts";

/** Largest READDIR4resok built, whatever `maxcount` says. */
const MAX_REPLY = 1 << 20;
/** Most entries asked of the file system at once. */
const MAX_BATCH = 1024;
/** A READDIR4resok without entries: verifier, end of list, eof. */
const EMPTY_RESOK = 16;
const ZERO_VERF = new Uint8Array(8);
const enc = new TextEncoder();

/** Builds one READDIR's entries. */
class Listing {
  readonly page: ReaddirPage;
  readonly #reader: AttrReader;
  readonly #nfs: Nfs4Server;
  readonly #rdattrError: boolean;

  constructor(a: READDIR4args, cs: CompoundState, nfs: Nfs4Server) {
    const want = readRequest(a.attr_request, cs.minor);
    this.page = new ReaddirPage(a.dircount, Math.min(a.maxcount, MAX_REPLY));
    this.#reader = new AttrReader(cs, nfs, want);
    this.#nfs = nfs;
    this.#rdattrError = bitmapHas(want, FATTR4_RDATTR_ERROR);
  }

  /** Whether entries need their VFS attributes. */
  get needsAttributes(): boolean {
    return this.#reader.needsAttributes;
  }

  /** Adds an entry if it fits; false once the page is full. */
  async add(
    name: string,
    cookie: bigint,
    obj: Nfs4Object,
    attrs?: Attributes,
    listed?: { inode?: number },
  ): Promise<boolean> {
    const fh = this.#nfs.fhOf(obj).fh;
    let attributes;
    try {
      attributes = await this.#reader.fattr(obj, fh, attrs, listed);
    } catch (e) {
      if (!this.#rdattrError) throw e;
      const status = nfs4StatusOf(e, this.#nfs.log, "READDIR");
      attributes = this.#reader.encode({ rdattr_error: status });
    }
    const e: entry4 = { cookie, name: enc.encode(name), attrs: attributes };
    return this.page.add(e);
  }

  /** How many entries to ask the file system for next. */
  batch(maxcount: number): number {
    const p = this.page;
    const n = p.entries.length;
    const each = n > 0
      ? (p.size - EMPTY_RESOK) / n
      : this.needsAttributes
      ? 160
      : 48;
    return Math.min(MAX_BATCH, Math.ceil((maxcount - p.size) / each) + 1);
  }
}

async function listPseudo(
  l: Listing,
  node: PseudoNode,
  cookie: bigint,
  cs: CompoundState,
  nfs: Nfs4Server,
): Promise<boolean> {
  const host = cs.call.remote.hostname;
  const entries = nfs.pseudo.entries(node, (e) => e.allows(host));
  const start = cookie === 0n ? 0 : Number(cookie - 2n);
  for (let i = start; i < entries.length; i++) {
    const e = entries[i];
    if (!await l.add(e.name, BigInt(i + 3), e.object)) return false;
  }
  return true;
}

async function listExport(
  l: Listing,
  a: READDIR4args,
  cs: CompoundState,
  nfs: Nfs4Server,
): Promise<boolean> {
  const t = cs.target(nfsstat4.NFS4ERR_NOTDIR);
  const dir = await t.fs.getattr(t.cred, t.id);
  if (dir.type !== FileType.Directory) fail(nfsstat4.NFS4ERR_NOTDIR);
  const nested = t.id === t.exp.root
    ? nfs.pseudo.nestedExports(t.exp)
    : new Map<string, Export>();
  const host = cs.call.remote.hostname;
  const maxcount = Math.min(a.maxcount, MAX_REPLY);
  let next = a.cookie;
  for (;;) {
    let page;
    try {
      page = await t.fs.readdir(t.cred, t.id, {
        cookie: next,
        limit: l.batch(maxcount),
        withAttributes: l.needsAttributes,
      });
    } catch (e) {
      if (e instanceof VfsError && e.code === "EINVAL" && next !== 0n) {
        fail(nfsstat4.NFS4ERR_BAD_COOKIE);
      }
      throw e;
    }
    for (const d of page.entries) {
      const sub = nested.get(d.name);
      const added = sub !== undefined && sub.allows(host)
        ? await l.add(d.name, d.cookie, {
          kind: "export",
          exp: sub,
          fileid: sub.root,
        })
        : await l.add(
          d.name,
          d.cookie,
          {
            kind: "export",
            exp: t.exp,
            fileid: d.fileid,
          },
          d.attrs,
          d,
        );
      if (!added) return false;
      next = d.cookie;
    }
    if (page.eof) return true;
    // A file system making no progress ends the page (TOOSMALL if empty).
    if (page.entries.length === 0) return false;
  }
}

async function readdir(
  a: READDIR4args,
  cs: CompoundState,
  nfs: Nfs4Server,
): Promise<READDIR4res> {
  const fh = cs.current();
  if (a.cookie === 1n || a.cookie === 2n) {
    fail(nfsstat4.NFS4ERR_BAD_COOKIE, `Reserved cookie: ${a.cookie}`);
  }
  const l = new Listing(a, cs, nfs);
  if (a.maxcount < EMPTY_RESOK) fail(nfsstat4.NFS4ERR_TOOSMALL);
  const o = fh.obj;
  const eof = o.kind === "pseudo"
    ? await listPseudo(l, o.node, a.cookie, cs, nfs)
    : await listExport(l, a, cs, nfs);
  if (l.page.entries.length === 0 && !eof) fail(nfsstat4.NFS4ERR_TOOSMALL);
  const verf = o.kind === "pseudo" ? ZERO_VERF : o.exp.verifier;
  return { status: nfsstat4.NFS4_OK, resok4: l.page.resok(verf, eof) };
}

/** READDIR by number. */
export const readdirOps: ReadonlyMap<number, Op> = new Map<number, Op>([
  [nfs_opnum4.OP_READDIR, {
    name: "READDIR",
    encode: encode_READDIR4res,
    run: (a, cs, nfs) => readdir(a, cs, nfs),
  }],
]);
