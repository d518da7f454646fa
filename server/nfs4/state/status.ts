/**
 * The nfsstat4 values (RFC 7530 section 13, RFC 5661 section 15, RFC 7862
 * and RFC 8276 for the last few) that the NFSv4 state machines answer with.
 *
 * It is the generated enum of the NFSv4 codecs under the name the state
 * machines use.
 *
 * @module
 */

import { nfsstat4 } from "../../../proto/nfs4/mod.ts";

/** nfsstat4: each status by its RFC name. */
export const Nfs4Status: typeof nfsstat4 = nfsstat4;

/** Any nfsstat4 value. */
export type Nfs4Stat = nfsstat4;

/** A failure status. */
export type Nfs4Error = Exclude<Nfs4Stat, 0>;
