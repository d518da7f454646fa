/**
 * NBD wire format: the constants of the fixed newstyle handshake and the
 * transmission phase, and small pure codecs for options, option replies,
 * requests, simple, structured and extended replies.
 *
 * Every decoder is total: it returns a value or throws {@link NbdProtocolError}
 * for malformed input, never reads past the bytes it was given, and never
 * allocates for a length it has not checked. 64-bit offsets and lengths are
 * decoded to `number` (two `getUint32`, no `BigInt`); values above 2^53 lose
 * precision but stay larger than any export, so bounds checks still refuse
 * them.
 *
 * The parts live in private files by responsibility: the numbers
 * (`_constants.ts`), the bounded reader and writer every codec uses with the
 * string rules and the error type (`_wire.ts`), the handshake's messages
 * (`_option_codec.ts`) and the transmission's (`_request_codec.ts`).
 *
 * @example Encode a request and decode it again
 * ```ts
 * import assert from "node:assert/strict";
 * import { Cmd, decodeRequest, encodeRequest } from "@netfs/netfs/nbd";
 * const bytes = encodeRequest({ type: Cmd.READ, flags: 0, cookie: 7, offset: 4096, length: 512 });
 * assert.deepEqual(decodeRequest(bytes, false), {
 *   flags: 0, type: Cmd.READ, cookieHi: 0, cookieLo: 7, offset: 4096, length: 512,
 * });
 * ```
 *
 * @module
 */

export * from "./_constants.ts";
export {
  decodeString,
  encodeString,
  MAX_STRING,
  NbdProtocolError,
} from "./_wire.ts";
export * from "./_option_codec.ts";
export * from "./_request_codec.ts";
