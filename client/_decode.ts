// One place where a reply's results are decoded, so that whatever a server
// sends, a caller sees either a value or an NfsProtocolError naming the
// procedure: never a bare XdrError, RangeError or TypeError.
import type { XdrReader } from "../rpc/xdr.ts";
import { NfsProtocolError } from "./errors.ts";

/** Decodes `r` with `decode`; any failure becomes an NfsProtocolError. */
export function decodeReply<T>(
  procedure: string,
  r: XdrReader,
  decode: (r: XdrReader) => T,
): T {
  try {
    return decode(r);
  } catch (e) {
    throw new NfsProtocolError(
      procedure,
      e instanceof Error ? e.message : String(e),
    );
  }
}
