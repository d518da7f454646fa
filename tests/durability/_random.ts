// Random test data for the durability tests.

/** `n` random bytes (getRandomValues fills at most 64 KiB a call). */
export function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let at = 0; at < n; at += 65536) {
    crypto.getRandomValues(out.subarray(at, Math.min(n, at + 65536)));
  }
  return out;
}

/**
 * Asserts that `got` equals `want`, naming the first differing byte: a
 * failing `deepEqual` on large arrays spends minutes building its diff.
 */
export function assertBytes(
  got: Uint8Array,
  want: Uint8Array,
  what: string,
): void {
  let at = got.byteLength === want.byteLength ? -1 : 0;
  for (let i = 0; at === -1 && i < want.byteLength; i++) {
    if (got[i] !== want[i]) at = i;
  }
  if (at !== -1) {
    throw new Error(
      `${what}: bytes differ from byte ${at} (got ${got.byteLength} bytes, want ${want.byteLength})`,
    );
  }
}
