/**
 * NFSv4.2 READ_PLUS (RFC 7862 section 15.10): READ that answers the holes
 * of a sparse file by their extent instead of their zeros.
 *
 * The checks are READ's, in READ's order (the stateid, then the type: a
 * pseudo directory or a directory is NFS4ERR_ISDIR, a symbolic link
 * NFS4ERR_SYMLINK, anything else NFS4ERR_WRONG_TYPE), and so is the size
 * of the answer: at most `maxIo` bytes and what fits in the session's
 * largest reply. An offset at or past the end of file is NFS4_OK with
 * `rpr_eof` and no contents.
 *
 * The contents cover the range from the offset without a gap, in file
 * order, alternating data and holes as the file system's `seek` finds
 * them (a file system without `seek` is all data: one data segment, what
 * READ would send). Every segment lies within the range asked for and the
 * end of file, so a client that zero-fills holes gets exactly READ's
 * bytes. The segments' encoded size (data plus 16 bytes per data segment,
 * 20 per hole) stays within the count, except that the first segment is
 * always sent so a reply never comes back empty short of the end of file;
 * a reply stops early (without `rpr_eof`) at that budget or at
 * {@link MAX_SEGMENTS}, and the client asks again for the rest. Data goes
 * out uncopied when READ_PLUS ends the COMPOUND, as READ's does
 * (`proto/nfs4/read.ts`); a file changed between the segments' reads shows
 * each segment as it was read.
 *
 * @module
 */

import {
  data_content4,
  encode_READ_PLUS4res,
  nfs_opnum4,
  nfsstat4,
  type read_plus_content,
} from "../../../proto/nfs4/mod.ts";
import { VfsError } from "../../../vfs/errors.ts";
import type { ReadResult } from "../../../vfs/types.ts";
import type { Op } from "../compound.ts";
import type { Nfs4Server, Target } from "../context.ts";
import type { OpenState } from "../state/opens.ts";
import { statusAs } from "./_state.ts";
import { checkStateid, readCount, requireRegular } from "./io.ts";

/** Bytes a data segment takes besides its data: arm, offset, length. */
const DATA_HEAD = 4 + 8 + 4;
/**
 * READ_PLUS's result before the first segment's data
 * (opnum, status, eof, count, the segment's head).
 */
const READ_PLUS_HEAD = 16 + DATA_HEAD;
/** Bytes a hole segment takes: arm, offset, length. */
const HOLE_SIZE = 4 + 8 + 8;
/** Most segments in one reply: bounds the seeks and reads one call makes. */
export const MAX_SEGMENTS = 256;

/** The segments of `[offset, end)` and where they stopped. */
interface Contents {
  contents: read_plus_content[];
  /** The first byte not covered. */
  pos: number;
  /** A read met the end of file (the file may have shrunk). */
  eof: boolean;
}

/** The next data or hole at `pos`; undefined when the file has shrunk below it. */
async function seekAt(
  t: Target,
  pos: number,
  what: "data" | "hole",
): Promise<{ offset: number; eof: boolean } | undefined> {
  try {
    return await t.fs.seek!(t.cred, t.id, pos, what);
  } catch (e) {
    if (e instanceof VfsError && e.code === "ENXIO") return undefined;
    throw e;
  }
}

/**
 * Data and holes of `[offset, end)` in at most `budget` encoded bytes
 * (the first segment regardless).
 */
async function segments(
  t: Target,
  read: (at: number, n: number) => Promise<ReadResult>,
  offset: number,
  end: number,
  budget: number,
): Promise<Contents> {
  const contents: read_plus_content[] = [];
  let pos = offset;
  let room = budget;
  while (pos < end && contents.length < MAX_SEGMENTS) {
    const first = contents.length === 0;
    const hole = t.fs.seek === undefined
      ? { offset: end, eof: false }
      : await seekAt(t, pos, "hole");
    if (hole === undefined) return { contents, pos, eof: true };
    if (hole.offset > pos) {
      let n = Math.min(hole.offset, end) - pos;
      if (!first) n = Math.min(n, room - DATA_HEAD);
      if (n <= 0) break;
      const r = await read(pos, n);
      if (r.data.byteLength === 0) return { contents, pos, eof: true };
      contents.push({
        rpc_content: data_content4.NFS4_CONTENT_DATA,
        rpc_data: { d_offset: pos, d_data: r.data },
      });
      room -= DATA_HEAD + r.data.byteLength;
      pos += r.data.byteLength;
      if (r.data.byteLength < n) return { contents, pos, eof: r.eof };
      continue;
    }
    if (!first && room < HOLE_SIZE) break;
    const data = await seekAt(t, pos, "data");
    if (data === undefined) return { contents, pos, eof: true };
    const stop = data.eof ? end : Math.min(data.offset, end);
    if (stop <= pos) break; // a file system contradicting itself
    contents.push({
      rpc_content: data_content4.NFS4_CONTENT_HOLE,
      rpc_hole: { di_offset: pos, di_length: stop - pos },
    });
    room -= HOLE_SIZE;
    pos = stop;
  }
  return { contents, pos, eof: false };
}

/** READ_PLUS by number. */
export const readPlusOps: ReadonlyMap<number, Op> = new Map<number, Op>([
  [nfs_opnum4.OP_READ_PLUS, {
    name: "READ_PLUS",
    encode: statusAs("rp_status", encode_READ_PLUS4res),
    run: async (a, cs, nfs: Nfs4Server) => {
      const t = cs.target(nfsstat4.NFS4ERR_ISDIR);
      const open: OpenState | undefined = checkStateid(
        cs,
        nfs,
        t,
        a.rpa_stateid,
        "read",
      );
      const attrs = await t.fs.getattr(t.cred, t.id);
      requireRegular(attrs.type, cs.minor);
      const offset: number = a.rpa_offset;
      const count = readCount(cs, nfs, a.rpa_count, READ_PLUS_HEAD);
      const end = Math.min(offset + count, attrs.size);
      const read = (at: number, n: number) =>
        nfs.fsOpens.withContext(
          open,
          (context) => t.fs.read(t.cred, t.id, at, n, context),
        );
      const r = offset < end
        ? await segments(t, read, offset, end, count)
        : { contents: [], pos: offset, eof: false };
      // As READ: data that may be a view of the file goes out as it is
      // only when no later operation of the COMPOUND could change it.
      if (cs.index !== cs.opCount - 1) {
        for (const c of r.contents) {
          if (c.rpc_content === data_content4.NFS4_CONTENT_DATA) {
            c.rpc_data.d_data = c.rpc_data.d_data.slice();
          }
        }
      }
      return {
        status: nfsstat4.NFS4_OK,
        rp_resok4: {
          rpr_eof: r.eof || r.pos >= attrs.size,
          rpr_contents: r.contents,
        },
      };
    },
  }],
]);
