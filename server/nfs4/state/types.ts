/**
 * The small types every NFSv4 state module shares: stateids, state owners,
 * principals and the result shape.
 *
 * Results are discriminated on `status`: `NFS4_OK` carries the fields of
 * the success, any other status carries nothing more (except where a type
 * says so, as LOCK's denial does). The state machines never throw for
 * anything a client can send; they answer an nfsstat4.
 *
 * @module
 */

import type { CallAuth } from "../../../rpc/program.ts";
import { type Nfs4Error, Nfs4Status } from "./status.ts";

/** A stateid4: a 32-bit seqid and 12 opaque bytes naming the state. */
export interface Stateid {
  /** Changes each time the state it names changes. */
  seqid: number;
  /** Names the state: 12 bytes. */
  other: Uint8Array;
}

/** An open-owner or lock-owner: the client and the client's opaque name. */
export interface StateOwner {
  /** The client the owner belongs to. */
  clientid: bigint;
  /** The client's name for the owner (at most 1024 bytes on the wire). */
  owner: Uint8Array;
}

/**
 * Who sent a request, as far as the state rules care: `sys:UID@MACHINE`
 * for AUTH_SYS, `none` for AUTH_NONE. Two requests come from the same
 * principal exactly when these strings are equal.
 */
export type Principal = string;

/** The failure half of every result. */
export interface Failure {
  /** Why the operation failed. */
  status: Nfs4Error;
}

/** A success with the fields `T`, or a failure. */
export type Result<T = unknown> =
  | ({ status: typeof Nfs4Status.NFS4_OK } & T)
  | Failure;

/** Largest unsigned 64-bit value: a lock length meaning "to the end". */
export const ALL_ONES_64 = 0xffff_ffff_ffff_ffffn;

/** A failure with `status`. */
export function fail(status: Nfs4Error): Failure {
  return { status };
}

/** A success with `fields`. */
export function ok<T extends object>(
  fields: T,
): { status: typeof Nfs4Status.NFS4_OK } & T {
  return { status: Nfs4Status.NFS4_OK, ...fields };
}

/** The principal of a call's credentials. */
export function principalOf(auth: CallAuth): Principal {
  return auth.flavor === 1
    ? `sys:${auth.sys.uid}@${auth.sys.machineName}`
    : "none";
}

/** Whether two byte strings are equal. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const HEX: readonly string[] = Array.from(
  { length: 256 },
  (_, b) => b.toString(16).padStart(2, "0"),
);

/** A map key for bytes: lower-case hex. */
export function hexKey(bytes: Uint8Array): string {
  // A table and an indexed loop: every SEQUENCE and stateid check makes
  // one of these, and formatting each byte showed in profiles.
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += HEX[bytes[i]];
  return s;
}

/** A map key for a state owner. */
export function ownerKey(o: StateOwner): string {
  return `${o.clientid}:${hexKey(o.owner)}`;
}

/** A copy of a stateid that the caller may keep or change freely. */
export function copyStateid(s: Stateid): Stateid {
  return { seqid: s.seqid, other: s.other.slice() };
}
