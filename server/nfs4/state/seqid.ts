/**
 * NFSv4.0 owner sequencing (RFC 7530 section 9.1.7): each open-owner and
 * lock-owner numbers its OPEN, OPEN_CONFIRM, OPEN_DOWNGRADE, CLOSE, LOCK
 * and LOCKU requests, and the server keeps the reply to the last one.
 *
 * A request with the owner's last seqid plus one (modulo 2^32) is new; the
 * first request of an owner the server does not know is new whatever its
 * seqid. One with the last seqid is a retransmission, answered with the
 * kept reply. Anything else is NFS4ERR_BAD_SEQID. The caller runs a new
 * request, encodes its reply and hands both back through the
 * {@link SeqidTicket}; the seqid then advances, unless the request failed
 * with one of the errors after which it must not (the stale, bad-stateid,
 * bad-seqid, bad-XDR, resource, no-filehandle and moved errors).
 *
 * NFSv4.1 sessions replace all of this: its owners have no seqid.
 *
 * @module
 */

import { Nfs4Status } from "./status.ts";
import { fail, type Failure } from "./types.ts";

const NO_ADVANCE: ReadonlySet<number> = new Set([
  Nfs4Status.NFS4ERR_STALE_CLIENTID,
  Nfs4Status.NFS4ERR_STALE_STATEID,
  Nfs4Status.NFS4ERR_BAD_STATEID,
  Nfs4Status.NFS4ERR_BAD_SEQID,
  Nfs4Status.NFS4ERR_BADXDR,
  Nfs4Status.NFS4ERR_RESOURCE,
  Nfs4Status.NFS4ERR_NOFILEHANDLE,
  Nfs4Status.NFS4ERR_MOVED,
]);

/** Hands the reply of a new sequenced request back to its owner. */
export interface SeqidTicket {
  /** Records the request's status and encoded reply. */
  finish(status: number, reply: Uint8Array): void;
}

/** A retransmission: send `replay` again, unchanged. */
export interface Replay {
  /** The kept reply. */
  replay: Uint8Array;
}

/**
 * The result `R` of a sequenced NFSv4.0 operation, or a replay. A result
 * carries the ticket to finish with, except in NFSv4.1 and when it failed
 * before the owner was known.
 */
export type Sequenced<R> = Replay | (R & { seq?: SeqidTicket });

/** The sequence state of one NFSv4.0 owner. */
export class OwnerSeqid {
  #last: number | undefined;
  #reply: Uint8Array | null = null;

  /** The last seqid done, `undefined` before the first. */
  get last(): number | undefined {
    return this.#last;
  }

  /** Decides what a request with `seqid` is. */
  check(seqid: number): { ticket: SeqidTicket } | Replay | Failure {
    seqid >>>= 0;
    if (this.#last === undefined || seqid === ((this.#last + 1) >>> 0)) {
      return {
        ticket: {
          finish: (status, reply) => this.#finish(seqid, status, reply),
        },
      };
    }
    if (seqid === this.#last && this.#reply !== null) {
      return { replay: this.#reply };
    }
    return fail(Nfs4Status.NFS4ERR_BAD_SEQID);
  }

  #finish(seqid: number, status: number, reply: Uint8Array): void {
    if (NO_ADVANCE.has(status)) return;
    this.#last = seqid;
    this.#reply = reply;
  }
}
