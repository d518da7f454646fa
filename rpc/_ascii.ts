/**
 * Short ASCII strings without the UTF-8 decoder: most names on the wire
 * (file names, machine names) are ASCII, and the call into `TextDecoder`
 * was half of decoding an NFSv3 `diropargs3` (0.43–0.48 µs with it,
 * 0.22–0.37 µs without, a 32-byte handle and a 12-byte name, measured).
 *
 * @module
 */

/** Longest string {@link ascii} decodes (an `apply` takes one argument per byte). */
const SHORT = 255;

/** `raw` as a string when it is short and all ASCII; else `undefined`. */
export function ascii(raw: Uint8Array): string | undefined {
  if (raw.length > SHORT) return undefined;
  for (let i = 0; i < raw.length; i++) if (raw[i] >= 0x80) return undefined;
  return String.fromCharCode.apply(null, raw as unknown as number[]);
}
