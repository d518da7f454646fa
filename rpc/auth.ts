/**
 * Credentials: AUTH_NONE and AUTH_SYS (RFC 5531 appendix A), and the
 * server's verdict on every other flavour.
 *
 * Flavour policy, decided by {@link checkCredentials}:
 * - AUTH_NONE with an empty body, and AUTH_SYS with a well-formed body
 *   (machine name at most 255 bytes, at most 16 groups, no trailing bytes)
 *   are accepted; both need an AUTH_NONE verifier, else AUTH_BADVERF.
 * - A malformed AUTH_NONE or AUTH_SYS body is AUTH_BADCRED.
 * - AUTH_SHORT is AUTH_REJECTEDCRED: this server never hands out shorthand
 *   credentials, and RFC 5531 appendix A tells a client that gets
 *   AUTH_REJECTEDCRED for a shorthand to fall back to its full AUTH_SYS
 *   credentials.
 * - AUTH_DH, RPCSEC_GSS and unknown flavours are AUTH_BADCRED: the server
 *   cannot validate them at all (what the Linux and BSD servers answer for
 *   a flavour they do not implement). AUTH_TOOWEAK is kept for programs
 *   that refuse a flavour they do understand (an NFS export that requires
 *   AUTH_SYS seeing AUTH_NONE): they throw `RpcReplyError("AUTH_ERROR", …,
 *   AuthStat.AUTH_TOOWEAK)`.
 *
 * @example Build an AUTH_SYS credential and check it as a server would
 * ```ts
 * import {
 *   AUTH_NONE_OPAQUE,
 *   AuthFlavor,
 *   authSysCredential,
 *   checkCredentials,
 * } from "@netfs/netfs/rpc";
 * import assert from "node:assert/strict";
 *
 * const sys = { stamp: 1, machineName: "host", uid: 1000, gid: 1000, gids: [1000, 27] };
 * const cred = authSysCredential(sys);
 * assert.equal(cred.flavor, AuthFlavor.AUTH_SYS);
 * assert.deepEqual(checkCredentials(cred, AUTH_NONE_OPAQUE), { flavor: 1, sys });
 * ```
 *
 * @module
 */

import type { AuthSysParms, CallAuth } from "./program.ts";
import { AuthFlavor, AuthStat, type OpaqueAuth } from "./message.ts";
import { XdrError, XdrReader, XdrWriter } from "./xdr.ts";

/** Longest AUTH_SYS machine name, in bytes. */
export const MAX_MACHINE_NAME = 255;

/** Most supplementary groups in an AUTH_SYS credential. */
export const MAX_AUTH_SYS_GIDS = 16;

/** The decoded AUTH_NONE credential, shared by every such call. */
export const AUTH_NONE: CallAuth = Object.freeze({ flavor: 0 as const });

// Machine names are for logs only: a name that is not valid UTF-8 is shown
// with replacement characters rather than costing the caller its call.
const lenient = new TextDecoder("utf-8");

/**
 * Decodes an AUTH_SYS body (`authsys_parms`). Throws {@link XdrError} for
 * a machine name over 255 bytes, more than 16 groups, a short body or
 * trailing bytes.
 *
 * @example Trailing bytes make the body malformed
 * ```ts
 * import { decodeAuthSys, encodeAuthSys, XdrWriter } from "@netfs/netfs/rpc";
 * import assert from "node:assert/strict";
 *
 * const parms = { stamp: 0, machineName: "m", uid: 1, gid: 2, gids: [] };
 * const w = encodeAuthSys(new XdrWriter(), parms);
 * assert.deepEqual(decodeAuthSys(w.bytes()), parms);
 *
 * w.u32(0); // one word too many
 * assert.throws(() => decodeAuthSys(w.bytes()), {
 *   name: "XdrError",
 *   message: "Trailing data: 4 bytes (field authsys_parms)",
 * });
 * ```
 */
export function decodeAuthSys(body: Uint8Array): AuthSysParms {
  const r = new XdrReader(body);
  const stamp = r.u32("stamp");
  const name = r.opaque(MAX_MACHINE_NAME, "machinename");
  const uid = r.u32("uid");
  const gid = r.u32("gid");
  const gids = r.array(MAX_AUTH_SYS_GIDS, (x) => x.u32("gids"), "gids");
  r.end("authsys_parms");
  return { stamp, machineName: lenient.decode(name), uid, gid, gids };
}

/**
 * Encodes `authsys_parms`. Throws {@link XdrError} when the machine name or
 * group list is over its limit, so a client never sends what a server
 * must refuse.
 *
 * @example A credential a server would refuse is never encoded
 * ```ts
 * import { encodeAuthSys, XdrWriter } from "@netfs/netfs/rpc";
 * import assert from "node:assert/strict";
 *
 * const gids = Array.from({ length: 17 }, (_, i) => 100 + i);
 * assert.throws(
 *   () => encodeAuthSys(new XdrWriter(), { stamp: 0, machineName: "h", uid: 1, gid: 1, gids }),
 *   { name: "XdrError", message: "Too many groups: 17, maximum 16 (field gids)" },
 * );
 * ```
 */
export function encodeAuthSys(w: XdrWriter, parms: AuthSysParms): XdrWriter {
  const name = new TextEncoder().encode(parms.machineName);
  if (name.byteLength > MAX_MACHINE_NAME) {
    throw new XdrError(
      `Machine name too long: ${name.byteLength} bytes, maximum ${MAX_MACHINE_NAME}`,
      "machinename",
    );
  }
  if (parms.gids.length > MAX_AUTH_SYS_GIDS) {
    throw new XdrError(
      `Too many groups: ${parms.gids.length}, maximum ${MAX_AUTH_SYS_GIDS}`,
      "gids",
    );
  }
  w.u32(parms.stamp).opaque(name).u32(parms.uid).u32(parms.gid);
  return w.array(parms.gids, (x, g) => x.u32(g));
}

/**
 * The `opaque_auth` for AUTH_SYS credentials, ready for a call header.
 */
export function authSysCredential(parms: AuthSysParms): OpaqueAuth {
  const w = new XdrWriter({ size: 64 });
  encodeAuthSys(w, parms);
  return { flavor: AuthFlavor.AUTH_SYS, body: w.bytes().slice() };
}

/**
 * Judges a call's credential and verifier: the decoded {@link CallAuth}, or
 * the `auth_stat` to reject the call with (see the module doc for the
 * flavour policy).
 *
 * @example The verdict on flavours the server does not accept
 * ```ts
 * import {
 *   AUTH_NONE_OPAQUE,
 *   AuthFlavor,
 *   AuthStat,
 *   authSysCredential,
 *   checkCredentials,
 * } from "@netfs/netfs/rpc";
 * import assert from "node:assert/strict";
 *
 * const gss = { flavor: AuthFlavor.RPCSEC_GSS, body: new Uint8Array(8) };
 * assert.equal(checkCredentials(gss, AUTH_NONE_OPAQUE), AuthStat.AUTH_BADCRED);
 *
 * const short = { flavor: AuthFlavor.AUTH_SHORT, body: new Uint8Array(4) };
 * assert.equal(checkCredentials(short, AUTH_NONE_OPAQUE), AuthStat.AUTH_REJECTEDCRED);
 *
 * const sys = authSysCredential({ stamp: 0, machineName: "h", uid: 1, gid: 1, gids: [] });
 * assert.equal(checkCredentials(sys, sys), AuthStat.AUTH_BADVERF); // verifier must be AUTH_NONE
 * ```
 */
export function checkCredentials(
  cred: OpaqueAuth,
  verf: OpaqueAuth,
): CallAuth | number {
  switch (cred.flavor) {
    case AuthFlavor.AUTH_NONE:
      if (cred.body.byteLength !== 0) return AuthStat.AUTH_BADCRED;
      if (!isNoneVerifier(verf)) return AuthStat.AUTH_BADVERF;
      return AUTH_NONE;
    case AuthFlavor.AUTH_SYS: {
      let sys: AuthSysParms;
      try {
        sys = decodeAuthSys(cred.body);
      } catch {
        return AuthStat.AUTH_BADCRED;
      }
      if (!isNoneVerifier(verf)) return AuthStat.AUTH_BADVERF;
      return { flavor: 1, sys };
    }
    case AuthFlavor.AUTH_SHORT:
      return AuthStat.AUTH_REJECTEDCRED;
    default:
      return AuthStat.AUTH_BADCRED;
  }
}

function isNoneVerifier(verf: OpaqueAuth): boolean {
  return verf.flavor === AuthFlavor.AUTH_NONE && verf.body.byteLength === 0;
}
