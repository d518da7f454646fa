// NfsProtocol over NFSv3: each method is one procedure, except `list`
// (READDIRPLUS pages, falling back to READDIR for good when the server
// refuses it) and `create` without a handle in the reply (then LOOKUP).
//
// Listings are guarded against servers that would keep a caller looping
// (_listing.ts).
import {
  CreateMode,
  type Fattr3,
  Nfs3Status,
  type Sattr3,
  StableHow,
} from "../proto/nfs3.ts";
import { RpcAcceptError } from "../rpc/client.ts";
import { AcceptStat } from "../rpc/message.ts";
import { NfsError } from "./errors.ts";
import { pages } from "./_listing.ts";
import type { NfsFsStats } from "./file_info.ts";
import type { Nfs3Client } from "./nfs3.ts";
import {
  AlikeCalls,
  type Found,
  type Limits,
  type Listed,
  type NfsProtocol,
  type Written,
} from "./_protocol.ts";

const ZERO_VERF = new Uint8Array(8);
/** READDIRPLUS sizes: names and cookies per page, and the whole reply. */
const DIRCOUNT = 64 * 1024;
const MAXCOUNT = 512 * 1024;
/** Largest transfer asked for, whatever the server offers. */
const MAX_TRANSFER = 1024 * 1024;

export class Nfs3Protocol extends AlikeCalls<Nfs3Client>
  implements NfsProtocol {
  readonly version = 3 as const;
  #plus = true;
  #dirSize = 64 * 1024;

  getattr(fh: Uint8Array, path: string): Promise<Fattr3> {
    return this.nfs.getattr(fh, { path });
  }

  async setattr(fh: Uint8Array, attrs: Sattr3, path: string): Promise<void> {
    await this.nfs.setattr({ object: fh, attrs }, { path });
  }

  async lookup(dir: Uint8Array, name: string, path: string): Promise<Found> {
    const res = await this.nfs.lookup({ dir, name }, { path });
    return found(res.object, res.objAttrs);
  }

  async readlink(fh: Uint8Array, path: string): Promise<string> {
    return (await this.nfs.readlink(fh, { path })).target;
  }

  async read(
    fh: Uint8Array,
    at: { offset: number; count: number },
    path: string,
  ): Promise<{ data: Uint8Array; eof: boolean }> {
    const res = await this.nfs.read({ file: fh, ...at }, { path });
    return { data: res.data, eof: res.eof };
  }

  async write(
    fh: Uint8Array,
    at: { offset: number; data: Uint8Array; stable: boolean },
    path: string,
  ): Promise<Written> {
    const res = await this.nfs.write({
      file: fh,
      offset: at.offset,
      count: at.data.byteLength,
      stable: at.stable ? StableHow.FILE_SYNC : StableHow.UNSTABLE,
      data: at.data,
    }, { path });
    return { count: res.count, committed: res.committed, verf: res.verf };
  }

  async commit(fh: Uint8Array, path: string): Promise<Uint8Array> {
    return (await this.nfs.commit({ file: fh, offset: 0, count: 0 }, { path }))
      .verf;
  }

  async create(
    dir: Uint8Array,
    entry: { name: string; mode: number; exclusive: boolean },
    path: string,
  ): Promise<Found> {
    const res = await this.nfs.create({
      dir,
      name: entry.name,
      mode: entry.exclusive ? CreateMode.GUARDED : CreateMode.UNCHECKED,
      attrs: { mode: entry.mode },
    }, { path });
    return res.object
      ? found(res.object, res.attrs)
      : await this.lookup(dir, entry.name, path);
  }

  async mkdir(
    dir: Uint8Array,
    entry: { name: string; mode: number },
    path: string,
  ): Promise<Found> {
    const res = await this.nfs.mkdir({
      dir,
      name: entry.name,
      attrs: { mode: entry.mode },
    }, { path });
    return res.object
      ? found(res.object, res.attrs)
      : await this.lookup(dir, entry.name, path);
  }

  async symlink(
    dir: Uint8Array,
    entry: { name: string; target: string },
    path: string,
  ): Promise<void> {
    await this.nfs.symlink({ dir, ...entry, attrs: {} }, { path });
  }

  async rename(
    from: { dir: Uint8Array; name: string },
    to: { dir: Uint8Array; name: string },
    path: string,
  ): Promise<void> {
    await this.nfs.rename({
      fromDir: from.dir,
      fromName: from.name,
      toDir: to.dir,
      toName: to.name,
    }, { path });
  }

  async link(
    fh: Uint8Array,
    to: { dir: Uint8Array; name: string },
    path: string,
  ): Promise<void> {
    await this.nfs.link({ file: fh, ...to }, { path });
  }

  list(dir: Uint8Array, path: string): AsyncIterable<Listed[]> {
    let cookieverf: Uint8Array = ZERO_VERF;
    return pages(
      async (after: bigint | undefined) => {
        const page = await this.#page(dir, after ?? 0n, cookieverf, path);
        cookieverf = page.cookieverf;
        return page;
      },
      (c) => c,
      path,
    );
  }

  async #page(
    dir: Uint8Array,
    cookie: bigint,
    cookieverf: Uint8Array,
    path: string,
  ) {
    if (this.#plus) {
      try {
        const res = await this.nfs.readdirplus({
          dir,
          cookie,
          cookieverf,
          dircount: DIRCOUNT,
          maxcount: MAXCOUNT,
        }, { path });
        return { ...res, procedure: "READDIRPLUS" };
      } catch (e) {
        if (!refusesPlus(e)) throw e;
        this.#plus = false;
      }
    }
    const res = await this.nfs.readdir({
      dir,
      cookie,
      cookieverf,
      count: this.#dirSize,
    }, { path });
    return { ...res, procedure: "READDIR" };
  }

  async statfs(fh: Uint8Array, path: string): Promise<NfsFsStats> {
    const s = await this.nfs.fsstat(fh, { path });
    return {
      totalBytes: s.tbytes,
      freeBytes: s.fbytes,
      availableBytes: s.abytes,
      totalFiles: s.tfiles,
      freeFiles: s.ffiles,
      availableFiles: s.afiles,
    };
  }

  async limits(root: Uint8Array): Promise<Limits> {
    const i = await this.nfs.fsinfo(root, { path: "/" });
    const size = (pref: number, max: number) =>
      Math.max(512, Math.min(pref || max || 32768, max || pref, MAX_TRANSFER));
    this.#dirSize = Math.max(4096, Math.min(i.dtpref || 65536, 65536));
    return {
      rsize: size(i.rtpref, i.rtmax),
      wsize: size(i.wtpref, i.wtmax),
      dirSize: this.#dirSize,
      maxFileSize: i.maxfilesize,
    };
  }
}

function found(handle: Uint8Array, attrs: Fattr3 | undefined): Found {
  return attrs ? { handle, attrs } : { handle };
}

/** Whether a READDIRPLUS failure means "use READDIR instead". */
function refusesPlus(e: unknown): boolean {
  if (e instanceof NfsError) return e.status === Nfs3Status.NOTSUPP;
  return e instanceof RpcAcceptError &&
    e.status === AcceptStat.PROC_UNAVAIL;
}
