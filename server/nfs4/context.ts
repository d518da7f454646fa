/**
 * The state of the NFSv4 program (`nfs`, one per server) and of one
 * COMPOUND (`cs`, one per call): the current and saved filehandles, the
 * minor version, the session slot of a 4.1 request and the caller's
 * credentials per export.
 *
 * A filehandle names either a pseudo directory or an object of an export
 * ({@link Nfs4Object}); operations that need a file system call
 * {@link CompoundState.target}, which answers NFS4ERR_NOFILEHANDLE without a
 * current filehandle and resolves a pseudo directory only where the
 * operation accepts one.
 *
 * @module
 */

import type { CallContext } from "../../rpc/program.ts";
import type { XdrWriter } from "../../rpc/xdr.ts";
import { nfsstat4, type stateid4 } from "../../proto/nfs4/mod.ts";
import type { Export, ExportTable } from "../exports.ts";
import { decodeHandle } from "../handles.ts";
import { HandleCache } from "../_targets.ts";
import type {
  Attributes,
  Credentials,
  FileId,
  FileSystem,
} from "../../vfs/types.ts";
import { fail } from "./errors.ts";
import { type Nfs4IdMapping, OwnerNames } from "./idmap.ts";
import { type Nfs4Object, PseudoFs } from "./pseudo.ts";
import { Nfs4State } from "./state/state.ts";
import { FsOpens } from "./fs_opens.ts";
import type { StableStorage } from "./state/leases.ts";
import type { Session } from "./state/sessions.ts";

/** Options of the NFSv4 program. */
export interface Nfs4Options {
  /** The exports, shared with NFSv3 and MOUNT. */
  exports: ExportTable;
  /** The minor versions served. Default [0, 1, 2]. */
  minorVersions?: readonly number[];
  /** Lease time in seconds. Default 90. */
  leaseTime?: number;
  /**
   * Grace period after a start, in seconds, during which clients reclaim
   * their opens and locks and new ones wait. Default: the lease time; 0
   * starts without grace, and so does a stable storage that lists no
   * client.
   */
  graceTime?: number;
  /** Largest READ and WRITE (maxread, maxwrite). Default 1 MiB. */
  maxIo?: number;
  /** The 8-byte write verifier. Default: random per start. */
  writeVerifier?: Uint8Array;
  /** Where unexpected failures are reported. Default `console.error`. */
  log?: (message: string) => void;
  /** The clock in milliseconds (for tests). Default `Date.now`. */
  now?: () => number;
  /**
   * What survives a restart to decide reclaims (the clients that held
   * state). Default: in memory, so a restarted server has no grace to give.
   */
  stableStorage?: StableStorage;
  /**
   * How `owner` and `owner_group` map to `user@domain` names. Default:
   * numeric strings ("1000") both ways.
   */
  idMapping?: Nfs4IdMapping;
}

/** Operations per COMPOUND in 4.0 before NFS4ERR_RESOURCE. */
export const MAX_OPS_40 = 128;

/** A current or saved filehandle: the object and its wire handle. */
export interface Fh {
  /** The object. */
  readonly obj: Nfs4Object;
  /** The handle the client sees. */
  readonly fh: Uint8Array;
}

/** An export object resolved for the caller. */
export interface Target {
  /** The export. */
  readonly exp: Export;
  /** The export's file system as the caller sees it. */
  readonly fs: FileSystem;
  /** The caller's credentials after squashing. */
  readonly cred: Credentials;
  /** The object. */
  readonly id: FileId;
}

/** What the NFSv4 program keeps for the life of the server. */
export class Nfs4Server {
  /** The export table. */
  readonly table: ExportTable;
  /** The exports as one tree. */
  readonly pseudo: PseudoFs;
  /** Minor versions served. */
  readonly minors: ReadonlySet<number>;
  /** Lease time in seconds. */
  readonly leaseTime: number;
  /** Grace period in seconds. */
  readonly graceTime: number;
  /** maxread and maxwrite. */
  readonly maxIo: number;
  /** The write verifier (changes on restart). */
  readonly writeVerf: Uint8Array;
  /** Failure reports. */
  readonly log: (message: string) => void;
  /** The clock in milliseconds. */
  readonly now: () => number;
  /** Clients, sessions, opens, locks, leases and grace. */
  readonly state: Nfs4State;
  /** The file systems' open hooks under the opens. */
  readonly fsOpens: FsOpens;
  /** The owner strings of uids and gids, both ways. */
  readonly owners: OwnerNames;
  readonly #handles = new HandleCache();
  #leaseTimer: ReturnType<typeof setTimeout> | undefined;

  /** The program state over `options.exports`. */
  constructor(options: Nfs4Options) {
    this.table = options.exports;
    this.pseudo = new PseudoFs(options.exports);
    this.minors = new Set(options.minorVersions ?? [0, 1, 2]);
    this.leaseTime = options.leaseTime ?? 90;
    this.graceTime = options.graceTime ?? this.leaseTime;
    this.maxIo = options.maxIo ?? 1 << 20;
    const verf = options.writeVerifier ??
      crypto.getRandomValues(new Uint8Array(8));
    if (verf.byteLength !== 8) {
      throw new RangeError(
        `Write verifier must be 8 bytes: ${verf.byteLength}`,
      );
    }
    this.writeVerf = verf;
    this.log = options.log ?? ((m) => console.error(m));
    this.now = options.now ?? Date.now;
    this.owners = new OwnerNames(options.idMapping);
    this.fsOpens = new FsOpens(this.log);
    this.state = new Nfs4State({
      now: this.now(),
      // Random, not the start time: a server restarted within the same
      // second must still answer the old instance's ids as stale.
      boot: crypto.getRandomValues(new Uint32Array(1))[0],
      leaseSeconds: this.leaseTime,
      graceSeconds: this.graceTime,
      storage: options.stableStorage,
      onRelease: (open) => this.fsOpens.released(open),
      // A READ or WRITE of maxIo bytes and its COMPOUND around it fit a
      // session (a client asks for maxIo plus its own estimate of that);
      // never below 1 MiB, which other replies (READDIR) may fill.
      sessions: {
        maxRequestSize: Math.max(this.maxIo, 1 << 20) + SESSION_OVERHEAD,
        maxResponseSize: Math.max(this.maxIo, 1 << 20) + SESSION_OVERHEAD,
      },
    });
  }

  /**
   * Arms the lease timer, when it is not armed and some client holds a
   * lease: at the earliest lease end it sweeps, so an idle client's opens
   * and locks go even when no request comes to sweep them. The timer does
   * not keep the process alive; {@link Nfs4Server.close} clears it.
   */
  watchLeases(): void {
    if (this.#leaseTimer !== undefined) return;
    const next = this.state.nextSweep;
    if (!Number.isFinite(next)) return;
    // At least 100 ms apart, and never past what setTimeout can take.
    const delay = Math.min(Math.max(next - this.now(), 100), 0x7fffffff);
    const timer = setTimeout(() => {
      this.#leaseTimer = undefined;
      this.state.tick(this.now());
      this.watchLeases();
    }, delay);
    Deno.unrefTimer(timer);
    this.#leaseTimer = timer;
  }

  /** Clears the lease timer (the server stopped); a later request re-arms it. */
  close(): Promise<void> {
    clearTimeout(this.#leaseTimer);
    this.#leaseTimer = undefined;
    return this.fsOpens.releaseAll();
  }

  /** The handle of object `fileid` of `exp` (shared: callers only encode it). */
  handle(exp: Export, fileid: FileId): Uint8Array {
    return this.#handles.get(exp, fileid);
  }

  /** The {@link Fh} of an object. */
  fhOf(obj: Nfs4Object): Fh {
    return {
      obj,
      fh: obj.kind === "pseudo"
        ? obj.node.fh
        : this.handle(obj.exp, obj.fileid),
    };
  }

  /**
   * The object a wire handle names: NFS4ERR_BADHANDLE for garbage,
   * NFS4ERR_STALE for an export or pseudo directory that is gone.
   */
  decodeFh(fh: Uint8Array): Fh {
    if (PseudoFs.isPseudoHandle(fh)) {
      const node = this.pseudo.decode(fh);
      if (node === "badhandle") fail(nfsstat4.NFS4ERR_BADHANDLE);
      if (node === "stale") fail(nfsstat4.NFS4ERR_STALE);
      return { obj: { kind: "pseudo", node }, fh: node.fh };
    }
    const h = decodeHandle(fh);
    if (h === undefined) fail(nfsstat4.NFS4ERR_BADHANDLE);
    const exp = this.table.byId(h.exportId);
    if (
      exp === undefined || exp.verfHi !== h.verfHi || exp.verfLo !== h.verfLo
    ) {
      fail(nfsstat4.NFS4ERR_STALE);
    }
    return { obj: { kind: "export", exp, fileid: h.fileid }, fh };
  }
}

/**
 * The largest 4.1 request and reply go this far past `maxIo`: room for
 * the RPC header and the operations around a full-size READ or WRITE.
 */
const SESSION_OVERHEAD = 4096;

/**
 * Bytes of a 4.1 reply that an operation with a variable-size result
 * (READ, READ_PLUS, GETXATTR, LISTXATTRS) leaves for the operations after
 * it in the COMPOUND, such as a GETATTR after a READ.
 */
export const LATER_OPS_RESERVE = 1024;

/** What one COMPOUND keeps while its operations run. */
export class CompoundState {
  /** The RPC call. */
  readonly call: CallContext;
  /** The minor version. */
  readonly minor: number;
  /** The current filehandle. */
  cfh: Fh | undefined;
  /** The saved filehandle. */
  sfh: Fh | undefined;
  /** The current stateid (4.1), set by operations that return one. */
  currentStateid: stateid4 | undefined;
  /** The saved stateid (4.1), saved and restored with the filehandle. */
  savedStateid: stateid4 | undefined;
  /**
   * The attributes LOOKUP found for the current filehandle while only GETFH
   * and GETATTR have run since (the COMPOUND loop clears it before any
   * other operation): GETATTR answers from them instead of asking the file
   * system again, as NFSv3's LOOKUP returns the attributes it found.
   */
  lookedUp: { fh: Fh; attrs: Attributes } | undefined = undefined;
  /** Operations in the COMPOUND (SEQUENCE checks the session's limit). */
  opCount = 0;
  /** The position of the operation running (0-based). */
  index = 0;
  /** 4.1: the session SEQUENCE found (undefined before it). */
  session: Session | undefined = undefined;
  /** 4.1: the largest reply the session allows, set by SEQUENCE. */
  maxResponse: number | undefined = undefined;
  /**
   * The encoded size of the reply so far: the COMPOUND4res header and the
   * results of the operations before the running one (set by the COMPOUND
   * loop; nothing for a state built by hand).
   */
  replied: () => number = () => 0;
  /** 4.1: whether the client asked for the reply to be cached. */
  cacheThis = false;
  /**
   * 4.1: called with the finished reply (in `w` from offset `start`), so
   * SEQUENCE can keep it in its slot for a retry.
   */
  finish: ((w: XdrWriter, start: number) => void) | undefined = undefined;
  readonly #creds = new Map<Export, Credentials>();

  /** A COMPOUND of minor version `minor` for `call`. */
  constructor(call: CallContext, minor: number) {
    this.call = call;
    this.minor = minor;
  }

  /**
   * 4.1: how many bytes of the session's reply budget are left for the
   * running operation's result past its first `fixed` bytes: the largest
   * reply less what is already encoded, less {@link LATER_OPS_RESERVE}
   * when operations follow. Infinity without a session limit (4.0).
   */
  replyRoom(fixed: number): number {
    if (this.maxResponse === undefined) return Infinity;
    const later = this.index < this.opCount - 1 ? LATER_OPS_RESERVE : 0;
    return this.maxResponse - this.replied() - fixed - later;
  }

  /** The current filehandle, or NFS4ERR_NOFILEHANDLE. */
  current(): Fh {
    if (this.cfh === undefined) fail(nfsstat4.NFS4ERR_NOFILEHANDLE);
    return this.cfh;
  }

  /** The saved filehandle, or NFS4ERR_NOFILEHANDLE (4.0: RESTOREFH). */
  saved(): Fh {
    if (this.sfh === undefined) fail(nfsstat4.NFS4ERR_NOFILEHANDLE);
    return this.sfh;
  }

  /**
   * The key the NFSv4 state knows the object behind `fh` by (default: the
   * current filehandle): OPEN, LOCK and the stateid checks of READ, WRITE
   * and SETATTR must all use it.
   */
  stateFile(fh: Fh = this.current()): string {
    const o = fh.obj;
    return o.kind === "pseudo"
      ? `pseudo:${o.node.fileid}`
      : `${o.exp.id}:${o.fileid}`;
  }

  /**
   * Whether the client may use `exp`: NFS4ERR_ACCESS when its address is
   * not allowed, NFS4ERR_PERM from an unprivileged port of a secure export.
   */
  admit(exp: Export): void {
    if (!exp.allows(this.call.remote.hostname)) fail(nfsstat4.NFS4ERR_ACCESS);
    if (exp.secure && this.call.remote.port >= 1024) {
      fail(nfsstat4.NFS4ERR_PERM);
    }
  }

  /** The caller's credentials for `exp`, squashed as the export says. */
  credentials(exp: Export): Credentials {
    let cred = this.#creds.get(exp);
    if (cred === undefined) {
      cred = exp.credentials(this.call.auth);
      this.#creds.set(exp, cred);
    }
    return cred;
  }

  /**
   * The export object behind `fh` (default: the current filehandle), or
   * `pseudoStatus` for a pseudo directory (most operations: NFS4ERR_ROFS
   * or NFS4ERR_INVAL, as each operation's section says).
   */
  target(
    pseudoStatus: Exclude<nfsstat4, typeof nfsstat4.NFS4_OK>,
    fh: Fh = this.current(),
  ): Target {
    const o = fh.obj;
    if (o.kind === "pseudo") fail(pseudoStatus);
    const cred = this.credentials(o.exp);
    return { exp: o.exp, fs: o.exp.fsFor(cred), cred, id: o.fileid };
  }
}
