// NfsProtocol over NFSv2: each method is one procedure, with what version
// 2 lacks made up on the client side:
// - attributes become the NFSv3 shape (the type bits of `mode`, a FIFO sent
//   as NFCHR with rdev all ones, Linux's packed device numbers, `used` from
//   blocks of `blocksize`, microseconds to nanoseconds);
// - READ has no end-of-file flag: the reply's size says where the file ends;
// - WRITE is stored before it is answered, so writes are FILE_SYNC and
//   `commit` only returns the constant verifier (nothing is ever resent);
// - CREATE opens an existing regular file, so an exclusive create LOOKUPs
//   the name first (two clients racing may both succeed: version 2 cannot
//   do better);
// - SYMLINK answers no handle; READDIR has no READDIRPLUS, so the caller
//   LOOKUPs each entry's type;
// - sizes and offsets are 32 bits, and a size of all ones means "unset":
//   a size, or the end of a READ or WRITE, beyond 2^32 − 2 is refused
//   before anything is sent, with a RangeError that says so (`tooLarge`).
import type { Fattr3, Sattr3, SetTime3 } from "../proto/nfs3.ts";
import { Ftype3 } from "../proto/nfs3.ts";
import {
  type createargs,
  decodeDev,
  type fattr,
  FIFO_RDEV,
  ftype,
  NFS_MAXDATA,
  type sattr,
  SERVER_TIME_USEC,
  type timeval,
  typeOfBits,
  UNSET,
} from "../proto/nfs2/mod.ts";
import type { NfsFsStats } from "./file_info.ts";
import type { Nfs2Client } from "./nfs2.ts";
import { UNSET_SATTR } from "./nfs2.ts";
import { pages } from "./_listing.ts";
import {
  AlikeCalls,
  type Found,
  type Limits,
  type Listed,
  type NfsProtocol,
  type Written,
} from "./_protocol.ts";

/** The largest size or offset version 2 can carry (all ones means "unset"). */
export const NFS2_MAX_SIZE = 0xfffffffe;
const VERF = new Uint8Array(8);
const FILE_SYNC = 2;

/**
 * The error for a file, offset or size beyond what version 2 can say.
 *
 * @param path The file.
 * @param what What was out of range, such as "offset 4294967296".
 */
export function tooLarge(path: string, what: string): RangeError {
  return new RangeError(
    `File too large for NFSv2: ${path} (${what}; version 2 sizes end below 4 GiB, use version 3)`,
  );
}

const FTYPE3_OF: Readonly<Record<number, number>> = {
  [ftype.NFREG]: Ftype3.REG,
  [ftype.NFDIR]: Ftype3.DIR,
  [ftype.NFBLK]: Ftype3.BLK,
  [ftype.NFCHR]: Ftype3.CHR,
  [ftype.NFLNK]: Ftype3.LNK,
  [ftype.NFSOCK]: Ftype3.SOCK,
  [ftype.NFFIFO]: Ftype3.FIFO,
};

function typeOf(a: fattr): number {
  if (a.type === ftype.NFCHR && a.rdev === FIFO_RDEV) return Ftype3.FIFO;
  // The mode's type bits are the more precise where the type is NFNON or
  // NFBAD (a server from before sockets and FIFOs had a type).
  return FTYPE3_OF[a.type] ?? typeOfBits(a.mode);
}

function time(t: timeval): { sec: number; nsec: number } {
  return { sec: t.seconds, nsec: Math.min(t.useconds, 999_999) * 1000 };
}

/** A version 2 `fattr` in the NFSv3 shape. */
export function fattr3Of(a: fattr): Fattr3 {
  const type = typeOf(a);
  return {
    type,
    mode: a.mode & 0o7777,
    nlink: a.nlink,
    uid: a.uid,
    gid: a.gid,
    size: a.size,
    used: a.blocks * (a.blocksize || 512),
    rdev: type === Ftype3.BLK || type === Ftype3.CHR
      ? decodeDev(a.rdev)
      : { major: 0, minor: 0 },
    fsid: a.fsid,
    fileid: a.fileid,
    atime: time(a.atime),
    mtime: time(a.mtime),
    ctime: time(a.ctime),
  };
}

function setTime(t: SetTime3 | undefined): timeval {
  if (t === undefined) return UNSET_SATTR.atime;
  if (t === "server") return { seconds: 0, useconds: SERVER_TIME_USEC };
  return { seconds: t.sec >>> 0, useconds: Math.floor(t.nsec / 1000) };
}

/** NFSv3 attributes to set, as a version 2 `sattr`. */
export function sattrOf(s: Sattr3, path: string): sattr {
  if (s.size !== undefined && s.size > NFS2_MAX_SIZE) {
    throw tooLarge(path, `size ${s.size}`);
  }
  return {
    mode: s.mode ?? UNSET,
    uid: s.uid ?? UNSET,
    gid: s.gid ?? UNSET,
    size: s.size ?? UNSET,
    atime: setTime(s.atime),
    mtime: setTime(s.mtime),
  };
}

function found(r: { file: Uint8Array; attributes: fattr }): Found {
  return { handle: r.file, attrs: fattr3Of(r.attributes) };
}

/** CREATE's and MKDIR's arguments: the new name, and its mode alone. */
function made(
  dir: Uint8Array,
  entry: { name: string; mode: number },
): createargs {
  return {
    where: { dir, name: entry.name },
    attributes: { ...UNSET_SATTR, mode: entry.mode & 0o7777 },
  };
}

const cookieKey = (c: Uint8Array) =>
  new DataView(c.buffer, c.byteOffset, 4).getUint32(0);

export class Nfs2Protocol extends AlikeCalls<Nfs2Client>
  implements NfsProtocol {
  readonly version = 2 as const;

  async getattr(fh: Uint8Array, path: string): Promise<Fattr3> {
    return fattr3Of(await this.nfs.getattr(fh, { path }));
  }

  async setattr(fh: Uint8Array, attrs: Sattr3, path: string): Promise<void> {
    const attributes = sattrOf(attrs, path);
    await this.nfs.setattr({ file: fh, attributes }, { path });
  }

  async lookup(dir: Uint8Array, name: string, path: string): Promise<Found> {
    return found(await this.nfs.lookup({ dir, name }, { path }));
  }

  readlink(fh: Uint8Array, path: string): Promise<string> {
    return this.nfs.readlink(fh, { path });
  }

  async read(
    fh: Uint8Array,
    at: { offset: number; count: number },
    path: string,
  ): Promise<{ data: Uint8Array; eof: boolean }> {
    if (at.offset >= NFS2_MAX_SIZE) {
      throw tooLarge(path, `reading at offset ${at.offset}`);
    }
    const count = Math.min(at.count, NFS_MAXDATA, NFS2_MAX_SIZE - at.offset);
    const res = await this.nfs.read(
      { file: fh, offset: at.offset, count, totalcount: 0 },
      { path },
    );
    const end = at.offset + res.data.byteLength;
    return { data: res.data, eof: end >= res.attributes.size };
  }

  async write(
    fh: Uint8Array,
    at: { offset: number; data: Uint8Array; stable: boolean },
    path: string,
  ): Promise<Written> {
    const data = at.data.subarray(0, NFS_MAXDATA);
    if (at.offset + data.byteLength > NFS2_MAX_SIZE) {
      throw tooLarge(path, `writing to offset ${at.offset + data.byteLength}`);
    }
    await this.nfs.write({
      file: fh,
      beginoffset: 0,
      offset: at.offset,
      totalcount: 0,
      data,
    }, { path });
    return { count: data.byteLength, committed: FILE_SYNC, verf: VERF };
  }

  commit(): Promise<Uint8Array> {
    return Promise.resolve(VERF);
  }

  async create(
    dir: Uint8Array,
    entry: { name: string; mode: number; exclusive: boolean },
    path: string,
  ): Promise<Found> {
    if (entry.exclusive) {
      const there = await this.lookup(dir, entry.name, path).catch((e) => {
        if (e instanceof Deno.errors.NotFound) return undefined;
        throw e;
      });
      if (there) throw new Deno.errors.AlreadyExists(`File exists: ${path}`);
    }
    return found(await this.nfs.create(made(dir, entry), { path }));
  }

  async mkdir(
    dir: Uint8Array,
    entry: { name: string; mode: number },
    path: string,
  ): Promise<Found> {
    return found(await this.nfs.mkdir(made(dir, entry), { path }));
  }

  async symlink(
    dir: Uint8Array,
    entry: { name: string; target: string },
    path: string,
  ): Promise<void> {
    await this.nfs.symlink({
      from: { dir, name: entry.name },
      to: entry.target,
      attributes: { ...UNSET_SATTR, mode: 0o777 },
    }, { path });
  }

  async rename(
    from: { dir: Uint8Array; name: string },
    to: { dir: Uint8Array; name: string },
    path: string,
  ): Promise<void> {
    await this.nfs.rename({ from, to }, { path });
  }

  async link(
    fh: Uint8Array,
    to: { dir: Uint8Array; name: string },
    path: string,
  ): Promise<void> {
    await this.nfs.link({ from: fh, to }, { path });
  }

  list(dir: Uint8Array, path: string): AsyncIterable<Listed[]> {
    return pages(
      async (after: Uint8Array | undefined) => {
        const res = await this.nfs.readdir({
          dir,
          cookie: after ?? new Uint8Array(4),
          count: NFS_MAXDATA,
        }, { path });
        return { ...res, procedure: "READDIR" };
      },
      cookieKey,
      path,
    );
  }

  async statfs(fh: Uint8Array, path: string): Promise<NfsFsStats> {
    const s = await this.nfs.statfs(fh, { path });
    // Version 2 counts blocks only; it says nothing of file slots.
    return {
      totalBytes: s.blocks * s.bsize,
      freeBytes: s.bfree * s.bsize,
      availableBytes: s.bavail * s.bsize,
      totalFiles: 0,
      freeFiles: 0,
      availableFiles: 0,
    };
  }

  limits(): Promise<Limits> {
    return Promise.resolve({
      rsize: NFS_MAXDATA,
      wsize: NFS_MAXDATA,
      dirSize: NFS_MAXDATA,
      maxFileSize: NFS2_MAX_SIZE,
    });
  }
}
