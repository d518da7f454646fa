/**
 * NFSv2 CREATE, MKDIR and SYMLINK.
 *
 * Each answers NFSERR_ROFS on a read-only export without changing
 * anything; CREATE and MKDIR answer the new object's handle and
 * attributes, SYMLINK its status alone.
 *
 * CREATE makes what the file type bits of the `sattr` mode ask for, as
 * Linux's client and server agree (version 2 has no MKNOD):
 * - none, or a regular file: a regular file. A regular file that exists
 *   already is opened, as `creat()` does: of the attributes only the size
 *   is applied (to truncate it); anything else by that name is
 *   NFSERR_EXIST.
 * - a character or block device, with the device number in `size`; a
 *   character device without a size is a FIFO (Sun's convention from
 *   before FIFOs had a type of their own);
 * - a FIFO or a socket.
 * A directory or symbolic link type is NFSERR_INVAL: MKDIR and SYMLINK
 * make those.
 *
 * @module
 */

import {
  type createargs,
  decode_createargs,
  decode_symlinkargs,
  type diropres,
  encode_diropres,
  NFSPROC_CREATE,
  NFSPROC_MKDIR,
  NFSPROC_SYMLINK,
  nfsstat,
} from "../../proto/nfs2/mod.ts";
import {
  type Attributes,
  FileType,
  type SetAttributes,
} from "../../vfs/types.ts";
import { isVfsError, VfsError } from "../../vfs/errors.ts";
import { findName } from "../../vfs/_find.ts";
import type { Target } from "../_targets.ts";
import {
  decodeDev,
  fattrOf,
  S_IF,
  S_IFMT,
  setAttributesOf,
  UNSET,
} from "./convert.ts";
import {
  encodeStatus,
  type Nfs2Context,
  type Nfs2Procedure,
  nfs2Procedure,
  type StatusRes,
} from "./context.ts";

/**
 * Runs one creating operation with what CREATE and MKDIR share: refuse
 * on a read-only export, answer the new handle and attributes.
 */
async function creating(
  t: Target,
  nfs: Nfs2Context,
  op: () => Promise<Attributes>,
): Promise<diropres> {
  if (t.exp.readOnly) return { status: nfsstat.NFSERR_ROFS };
  const attrs = await op();
  return {
    status: nfsstat.NFS_OK,
    diropres: {
      file: nfs.handle(t.exp, attrs.fileid),
      attributes: fattrOf(attrs),
    },
  };
}

/** The special file a CREATE's mode and size ask for; undefined: regular. */
function specialOf(
  mode: number,
  size: number,
): { type: FileType; rdev?: { major: number; minor: number } } | undefined {
  switch (mode === UNSET ? 0 : mode & S_IFMT) {
    case 0:
    case S_IF.REG:
      return undefined;
    case S_IF.CHR:
      return size === UNSET
        ? { type: FileType.Fifo }
        : { type: FileType.Char, rdev: decodeDev(size) };
    case S_IF.BLK:
      return {
        type: FileType.Block,
        rdev: decodeDev(size === UNSET ? 0 : size),
      };
    case S_IF.FIFO:
      return { type: FileType.Fifo };
    case S_IF.SOCK:
      return { type: FileType.Socket };
    default:
      throw new VfsError(
        "EINVAL",
        `CREATE cannot make this type: mode ${mode.toString(8)}`,
      );
  }
}

/** A regular file, or the one that exists by that name (see above). */
async function createRegular(
  t: Target,
  a: createargs,
  attrs: SetAttributes,
): Promise<Attributes> {
  const { fs, cred, id } = t;
  const name = a.where.name;
  let existing = await findName(fs, cred, id, name);
  if (existing === undefined) {
    try {
      return await fs.create(cred, id, name, { attrs, exclusive: true });
    } catch (e) {
      // Made by someone else since the lookup: open it after all.
      if (!isVfsError(e, "EEXIST")) throw e;
      existing = await fs.lookup(cred, id, name);
    }
  }
  if (existing.type !== FileType.Regular) {
    throw new VfsError("EEXIST", `File exists: ${name}`);
  }
  if (attrs.size === undefined) return existing;
  return await fs.setattr(cred, existing.fileid, { size: attrs.size });
}

/**
 * The CREATE, MKDIR and SYMLINK procedures.
 */
export const createProcedures: Record<number, Nfs2Procedure<any, any>> = {
  [NFSPROC_CREATE]: nfs2Procedure({
    name: "CREATE",
    cached: true,
    decode: decode_createargs,
    encode: encode_diropres,
    fh: (a) => a.where.dir,
    run: (a, t, nfs) =>
      creating(t, nfs, () => {
        const s = a.attributes;
        const special = specialOf(s.mode, s.size);
        if (special === undefined) {
          return createRegular(t, a, setAttributesOf(s));
        }
        return t.fs.mknod(t.cred, t.id, a.where.name, {
          ...special,
          attrs: setAttributesOf(s, false),
        });
      }),
  }),
  [NFSPROC_MKDIR]: nfs2Procedure({
    name: "MKDIR",
    cached: true,
    decode: decode_createargs,
    encode: encode_diropres,
    fh: (a) => a.where.dir,
    run: (a, t, nfs) =>
      creating(
        t,
        nfs,
        () =>
          t.fs.mkdir(
            t.cred,
            t.id,
            a.where.name,
            setAttributesOf(a.attributes, false),
          ),
      ),
  }),
  [NFSPROC_SYMLINK]: nfs2Procedure({
    name: "SYMLINK",
    cached: true,
    decode: decode_symlinkargs,
    encode: encodeStatus,
    fh: (a) => a.from.dir,
    run: async (a, t): Promise<StatusRes> => {
      if (t.exp.readOnly) return { status: nfsstat.NFSERR_ROFS };
      await t.fs.symlink(
        t.cred,
        t.id,
        a.from.name,
        a.to,
        setAttributesOf(a.attributes, false),
      );
      return { status: nfsstat.NFS_OK };
    },
  }),
};
