/**
 * What the state operations (clients, sessions, OPEN, LOCK) share: the
 * session's client, the 4.1 current stateid, results whose status field
 * the XDR names otherwise, and NFSv4.0 replies kept for a retransmission.
 *
 * NFSv4.0 replays: the state hands a sequenced operation a ticket; the
 * operation encodes its own result once more into a small buffer and gives
 * those bytes to the ticket, so that a retransmission with the same seqid
 * gets them back ({@link Replayed}) and they are written in place of a
 * result, whatever the rest of the COMPOUND does.
 *
 * @module
 */

import { XdrWriter } from "../../../rpc/xdr.ts";
import { nfsstat4, type stateid4 } from "../../../proto/nfs4/mod.ts";
import type { Nfs4Failure } from "../compound.ts";
import type { CompoundState, Nfs4Server } from "../context.ts";
import { fail } from "../errors.ts";
import type { SeqidTicket, Sequenced } from "../state/seqid.ts";
import type { Session } from "../state/sessions.ts";
import { specialStateid } from "../state/stateids.ts";
import { FileType } from "../../../vfs/types.ts";

/** Throws a state result's failure; after it, the result is a success. */
export function check<T extends { status: number }>(
  r: T,
): asserts r is Extract<T, { status: typeof nfsstat4.NFS4_OK }> {
  if (r.status !== nfsstat4.NFS4_OK) fail(r.status as Nfs4Failure);
}

/**
 * Refuses a delegation stateid (DELEGRETURN, OPEN's delegation claims):
 * none is ever granted, so it is NFS4ERR_BAD_STATEID, or the error its
 * check gives first (stale, old, expired).
 */
export function noDelegation(
  s: stateid4,
  cs: CompoundState,
  nfs: Nfs4Server,
): never {
  if (specialStateid(s, cs.minor) !== undefined) {
    fail(nfsstat4.NFS4ERR_BAD_STATEID);
  }
  check(nfs.state.stateids.check(s, {
    minor: cs.minor,
    clientid: sessionClient(cs),
    kinds: ["deleg"],
  }));
  fail(nfsstat4.NFS4ERR_BAD_STATEID);
}

/** The session of a 4.1 COMPOUND (SEQUENCE came first). */
export function sessionOf(cs: CompoundState): Session {
  if (cs.session === undefined) fail(nfsstat4.NFS4ERR_OP_NOT_IN_SESSION);
  return cs.session;
}

/** 4.1: the client of the session; 4.0: undefined. */
export function sessionClient(cs: CompoundState): bigint | undefined {
  return cs.minor >= 1 ? sessionOf(cs).clientid : undefined;
}

/**
 * A stateid argument with 4.1's current stateid (seqid 1, `other` zeros)
 * replaced by the one the COMPOUND holds: NFS4ERR_BAD_STATEID when it holds
 * none.
 */
export function stateidArg(cs: CompoundState, s: stateid4): stateid4 {
  if (specialStateid(s, cs.minor) !== "current") return s;
  if (cs.currentStateid === undefined) fail(nfsstat4.NFS4ERR_BAD_STATEID);
  return cs.currentStateid;
}

/**
 * An encoder of a result whose status field the XDR names `key` (as
 * `eir_status`), from a result carrying it as `status`, the field the
 * COMPOUND loop reads.
 */
export function statusAs<R>(
  key: string,
  encode: (w: XdrWriter, res: R) => void,
): (w: XdrWriter, res: { status: number }) => void {
  return (w, res) => encode(w, { ...res, [key]: res.status } as R);
}

/** A result answered from an owner's kept reply. */
export interface Replayed {
  /** The status the kept reply starts with. */
  readonly status: number;
  /** The kept result, written as is. */
  readonly replay: Uint8Array;
}

/** The {@link Replayed} result of kept bytes. */
export function replayed(bytes: Uint8Array): Replayed {
  const status = bytes.byteLength >= 4
    ? new DataView(bytes.buffer, bytes.byteOffset, 4).getInt32(0)
    : nfsstat4.NFS4ERR_SERVERFAULT;
  return { status, replay: bytes };
}

/** An encoder that also writes {@link Replayed} results. */
export function orReplay<R>(
  encode: (w: XdrWriter, res: R) => void,
): (w: XdrWriter, res: R | Replayed) => void {
  return (w, res) => {
    if ("replay" in (res as object)) w.fixedOpaque((res as Replayed).replay);
    else encode(w, res as R);
  };
}

/**
 * Hands the encoded `res` to an NFSv4.0 owner's ticket (none in 4.1) and
 * returns the bytes kept.
 */
export function keep<R extends { status: number }>(
  seq: SeqidTicket | undefined,
  encode: (w: XdrWriter, res: R) => void,
  res: R,
): Uint8Array | undefined {
  if (seq === undefined) return undefined;
  const w = keepScratch ??= new XdrWriter({ size: 256 });
  let bytes: Uint8Array;
  try {
    encode(w, res);
    bytes = w.bytes().slice();
  } finally {
    w.reset();
    // A LOCK denial's owner can be 1 KiB; nothing kept grows it far.
    if (w.capacity > 4096) keepScratch = undefined;
  }
  seq.finish(res.status, bytes);
  return bytes;
}

/** The writer {@link keep} encodes into before copying the bytes out. */
let keepScratch: XdrWriter | undefined;

/**
 * The result of a sequenced state operation (OPEN_CONFIRM, CLOSE, LOCK …):
 * a kept reply for a retransmission, else `ok` of the success or the
 * failure, handed to the owner's ticket first. A 4.1 success's stateid
 * becomes the current stateid.
 */
export function settle<
  T extends { status: number },
  R extends { status: number },
>(
  cs: CompoundState,
  r: Sequenced<T>,
  ok: (t: Extract<T, { status: typeof nfsstat4.NFS4_OK }>) => R,
  encode: (w: XdrWriter, res: R) => void,
  failure: (t: T) => R = (t) => ({ status: t.status }) as R,
): R | Replayed {
  if ("replay" in r) return replayed(r.replay);
  const t = r as T & { seq?: SeqidTicket; stateid?: stateid4 };
  const res = t.status === nfsstat4.NFS4_OK
    ? ok(t as Extract<T, { status: typeof nfsstat4.NFS4_OK }>)
    : failure(t);
  keep(t.seq, encode, res);
  if (res.status === nfsstat4.NFS4_OK && t.stateid !== undefined) {
    cs.currentStateid = t.stateid;
  }
  return res;
}

/**
 * Refuses an object OPEN or LOCKT cannot use: a directory is
 * NFS4ERR_ISDIR, a symbolic link NFS4ERR_SYMLINK, anything else but a
 * regular file NFS4ERR_SYMLINK in 4.0 (RFC 7530 section 16.16.6) and
 * NFS4ERR_WRONG_TYPE in 4.1.
 */
export function requireRegular(type: FileType, minor: number): void {
  if (type === FileType.Regular) return;
  if (type === FileType.Directory) fail(nfsstat4.NFS4ERR_ISDIR);
  fail(
    type === FileType.Symlink || minor === 0
      ? nfsstat4.NFS4ERR_SYMLINK
      : nfsstat4.NFS4ERR_WRONG_TYPE,
  );
}
