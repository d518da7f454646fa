// Test data: random bytes and their checksum for the transfer tests, and
// the attributes of a file as an NFSv2 server sends them.
import { type fattr, ftype } from "../../proto/nfs2/mod.ts";

/** `n` random bytes (getRandomValues fills at most 64 KiB a call). */
export function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) {
    crypto.getRandomValues(out.subarray(i, Math.min(n, i + 65536)));
  }
  return out;
}

/** The SHA-256 of `data`, in hex. */
export async function sha256(data: Uint8Array): Promise<string> {
  const d = new Uint8Array(
    await crypto.subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>),
  );
  return Array.from(d, (b) => b.toString(16).padStart(2, "0")).join("");
}

const T = { seconds: 1, useconds: 0 };

/** A version 2 `fattr`: a regular file of 10 bytes, fileid 2. */
export const FILE_FATTR: fattr = {
  type: ftype.NFREG,
  mode: 0o100644,
  nlink: 1,
  uid: 0,
  gid: 0,
  size: 10,
  blocksize: 512,
  rdev: 0,
  blocks: 1,
  fsid: 1,
  fileid: 2,
  atime: T,
  mtime: T,
  ctime: T,
};
