/**
 * State shared by the NFSv3 procedures (named `nfs` where they get it):
 * the export table, transfer sizes, the write verifier, and the handle and
 * attribute helpers every procedure uses.
 *
 * @module
 */

import type { CallContext } from "../../rpc/program.ts";
import {
  type Fattr3,
  Nfs3Status,
  type WccAttr,
  type WccData,
} from "../../proto/nfs3.ts";
import type { Attributes, FileId, FileSystemNow } from "../../vfs/types.ts";
import { VfsError } from "../../vfs/errors.ts";
import { BoundedMap } from "../../collections/_bounded_map.ts";
import type { Export, ExportTable } from "../exports.ts";
import { decodeHandle } from "../handles.ts";
import {
  HandleCache,
  type ResolveFailure,
  resolveHandle,
  type Target,
} from "../_targets.ts";
import { nfs3StatusOf } from "./errors.ts";

export type { Target } from "../_targets.ts";

const RESOLVE_STATUS: Record<ResolveFailure, number> = {
  badhandle: Nfs3Status.BADHANDLE,
  stale: Nfs3Status.STALE,
  acces: Nfs3Status.ACCES,
  perm: Nfs3Status.PERM,
};

/**
 * Options of the NFSv3 program.
 */
export interface Nfs3Options {
  /** The exports. */
  exports: ExportTable;
  /** Largest READ in bytes (FSINFO rtmax and rtpref). Default 1 MiB. */
  rtmax?: number;
  /** Largest WRITE in bytes (FSINFO wtmax and wtpref). Default 1 MiB. */
  wtmax?: number;
  /** Preferred READDIR size in bytes (FSINFO dtpref). Default 64 KiB. */
  dtpref?: number;
  /**
   * The 8-byte write verifier. Default: random per start, so that clients
   * resend UNSTABLE writes a restarted server may have lost.
   */
  writeVerifier?: Uint8Array;
  /** Where unexpected failures are logged. Default `console.error`. */
  log?: (msg: string) => void;
}

/**
 * Largest READDIR / READDIRPLUS reply this server builds, in bytes.
 */
export const MAX_DIR_REPLY = 1 << 20;

/**
 * The shared state of one NFSv3 program instance.
 */
export class Nfs3Context {
  /** The exports. */
  readonly table: ExportTable;
  /** Largest READ. */
  readonly rtmax: number;
  /** Largest WRITE. */
  readonly wtmax: number;
  /** Preferred READDIR size. */
  readonly dtpref: number;
  /** The write verifier of this server instance. */
  readonly writeVerf: Uint8Array;
  /** Logs unexpected failures. */
  readonly log: (msg: string) => void;
  /** EXCLUSIVE create verifiers by "export:fileid", oldest first. */
  readonly createVerifiers: BoundedMap<string, string> = new BoundedMap(
    65536,
  );
  readonly #handles = new HandleCache();

  /** Builds the state from `options`. */
  constructor(options: Nfs3Options) {
    this.table = options.exports;
    this.rtmax = options.rtmax ?? 1 << 20;
    this.wtmax = options.wtmax ?? 1 << 20;
    this.dtpref = options.dtpref ?? 64 << 10;
    const verf = options.writeVerifier ??
      crypto.getRandomValues(new Uint8Array(8));
    if (verf.byteLength !== 8) {
      throw new RangeError(
        `Write verifier must be 8 bytes: ${verf.byteLength}`,
      );
    }
    this.writeVerf = verf;
    this.log = options.log ?? ((m) => console.error(m));
  }

  /**
   * Resolves a handle for a call: BADHANDLE for garbage, STALE for another
   * server instance's handle or an unknown export, ACCES for a client the
   * export does not allow, PERM for an unprivileged port on a secure export.
   */
  resolve(fh: Uint8Array, call: CallContext): Target | number {
    const t = resolveHandle(this.table, decodeHandle(fh), call);
    return typeof t === "string" ? RESOLVE_STATUS[t] : t;
  }

  /**
   * The handle of object `fileid` in `exp`, shared (callers only encode it;
   * recent ones are cached).
   */
  handle(exp: Export, fileid: FileId): Uint8Array {
    return this.#handles.get(exp, fileid);
  }

  /** {@link Nfs3Context.handle} for one export (a listing's entries). */
  handles(exp: Export): (fileid: FileId) => Uint8Array {
    return this.#handles.of(exp);
  }

  /**
   * Attributes of `id` for a reply, or undefined if they cannot be had.
   * Not an async function: most calls take attributes, and an async frame
   * that waits costs several hundred bytes of garbage more than a `then`.
   */
  attrs(t: Target, id: FileId = t.id): Promise<Fattr3 | undefined> {
    try {
      return t.fs.getattr(t.cred, id).then(fattr, noAttributes);
    } catch {
      return Promise.resolve(undefined);
    }
  }

  /** {@link attrs}, at once, from a file system's `now` (see vfs `nowOf`). */
  attrsNow(now: FileSystemNow, t: Target): Fattr3 | undefined {
    try {
      return fattr(now.getattr(t.cred, t.id));
    } catch {
      return undefined;
    }
  }

  /** The status for a failure; unexpected exceptions are logged. */
  status(e: unknown, what: string): number {
    const s = nfs3StatusOf(e);
    if (!(e instanceof VfsError)) {
      this.log(
        `NFS3 ${what} failed, answering SERVERFAULT: ${
          (e as Error)?.stack ?? e
        }`,
      );
    }
    return s;
  }

  /** Remembers the verifier of an EXCLUSIVE create (bounded, oldest dropped). */
  rememberCreate(exp: Export, fileid: FileId, verf: Uint8Array): void {
    const key = `${exp.id}:${fileid}`;
    this.createVerifiers.delete(key);
    this.createVerifiers.set(key, verfKey(verf));
  }

  /**
   * Forgets the verifier of `fileid`'s EXCLUSIVE create once its attributes
   * are set: the client's SETATTR after the create completes it (RFC 1813),
   * so a later EXCLUSIVE create of the name is another create and gets
   * EXIST, whatever its verifier. Linux's verifier is the jiffies and the
   * pid, which two creates by one process can share (knfsd keeps it in the
   * times the SETATTR overwrites).
   */
  forgetCreate(exp: Export, fileid: FileId): void {
    this.createVerifiers.delete(`${exp.id}:${fileid}`);
  }

  /** Whether `fileid` was made by an EXCLUSIVE create with `verf`. */
  createdWith(exp: Export, fileid: FileId, verf: Uint8Array): boolean {
    return this.createVerifiers.get(`${exp.id}:${fileid}`) === verfKey(verf);
  }
}

/** What a reply carries for attributes that could not be read. */
function noAttributes(): undefined {
  return undefined;
}

function verfKey(v: Uint8Array): string {
  return Array.from(v, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Attributes as sent: a directory never reports fewer than one link (some
 * clients treat nlink 0 on the root as a removed directory), and `fileid`
 * is what clients are shown (`inode` where the file system gives one), so
 * handles are made from the VFS attributes' `fileid`, never from these.
 */
export function fattr(a: Attributes): Fattr3 {
  if (a.inode !== undefined) a = { ...a, fileid: a.inode };
  return a.nlink < 1 && a.type === 2 ? { ...a, nlink: 1 } : a;
}

/**
 * The pre-operation part of wcc data.
 */
export function wccAttr(a: Fattr3 | undefined): WccAttr | undefined {
  return a && { size: a.size, mtime: a.mtime, ctime: a.ctime };
}

/**
 * wcc data from attributes taken before and after an operation.
 */
export function wcc(
  before: Fattr3 | undefined,
  after: Fattr3 | undefined,
): WccData {
  return { before: wccAttr(before), after };
}
