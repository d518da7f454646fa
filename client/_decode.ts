// One place where a reply's results are decoded, so that whatever a server
// sends, a caller sees either a value or an NfsProtocolError naming the
// procedure: never a bare XdrError, RangeError or TypeError. And the one
// place where a protocol client's per-call options become the caller's.
import type { AuthSysParms } from "../rpc/program.ts";
import type { XdrReader } from "../rpc/xdr.ts";
import type { CallerOptions } from "./caller.ts";
import { NfsProtocolError } from "./errors.ts";

/** The caller's options for one call with `options` (timeout, credentials). */
export function callerOptions(
  options: { timeoutMs?: number; auth?: AuthSysParms | "none" },
  idempotent: boolean,
): CallerOptions {
  const out: CallerOptions = { idempotent };
  if (options.timeoutMs !== undefined) out.timeoutMs = options.timeoutMs;
  if (options.auth !== undefined) out.auth = options.auth;
  return out;
}

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
