// What the conformance suite's case modules share: the subject and feature
// types of conformance.ts, two callers, and small assertions and builders
// (outcome is used by the LocalFs tests too).
import assert from "node:assert/strict";
import {
  type Attributes,
  type Credentials,
  type FileId,
  type FileSystem,
  isVfsError,
  ROOT,
  type VfsErrorCode,
} from "../../vfs/mod.ts";

/** A backend under test. */
export interface Subject {
  /** The file system to test. */
  fs: FileSystem;
  /** For read-only wrappers: the writable file system underneath, to build the tree. */
  setup?: FileSystem;
  /** Releases everything (temp dirs, timers). */
  close(): Promise<void>;
}

/** What a backend can do; absent means yes unless said otherwise. */
export interface Features {
  /** Every change fails with EROFS. */
  readOnly?: boolean;
  /** New objects belong to the caller and chown works (false: host user owns all). */
  ownership?: boolean;
  /** mknod works for fifos and sockets. */
  mknod?: boolean;
  /** mknod works for block and char devices (as root). */
  devices?: boolean;
  /** Hard links share one FileId (false: skip the hard-link tests). */
  hardLinks?: boolean;
  /** Sparse files use less than their size. */
  sparse?: boolean;
  /** A factory for a file system with a small capacity in bytes: test ENOSPC. */
  capacity?: { bytes: number; factory: () => Promise<Subject> };
  /** Directories count subdirectories in nlink. */
  dirNlink?: boolean;
  /** The file system has the open/release hooks (absent means no). */
  openHooks?: boolean;
}

/** Registers one case, given a fresh file system. */
export type Test = (
  label: string,
  fn: (fs: FileSystem) => Promise<void>,
) => void;

export const USER: Credentials = { uid: 1000, gid: 1000, groups: [] };
export const OTHER: Credentials = { uid: 1001, gid: 1001, groups: [] };
export const enc = new TextEncoder();
export const dec = new TextDecoder();

export async function rejects(
  p: Promise<unknown>,
  code: VfsErrorCode | VfsErrorCode[],
): Promise<void> {
  const codes = Array.isArray(code) ? code : [code];
  try {
    await p;
  } catch (e) {
    if (isVfsError(e) && codes.includes(e.code)) return;
    throw new assert.AssertionError({
      message: `Expected ${codes.join("|")}, got: ${
        isVfsError(e) ? e.code : String(e)
      } (${(e as Error).message})`,
    });
  }
  throw new assert.AssertionError({
    message: `Expected ${codes.join("|")}, but it succeeded`,
  });
}

/** "ok", or the VfsError's code; anything else fails the test. */
export async function outcome(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "ok";
  } catch (e) {
    if (isVfsError(e)) return e.code;
    throw e;
  }
}

export async function text(fs: FileSystem, id: FileId): Promise<string> {
  return dec.decode((await fs.read(ROOT, id, 0, 1 << 20)).data);
}

export async function put(
  fs: FileSystem,
  dir: FileId,
  name: string,
  body: string,
): Promise<Attributes> {
  const a = await fs.create(ROOT, dir, name);
  if (body) await fs.write(ROOT, a.fileid, 0, enc.encode(body), "file");
  return await fs.getattr(ROOT, a.fileid);
}

export async function names(fs: FileSystem, dir: FileId): Promise<string[]> {
  const out: string[] = [];
  let cookie = 0n;
  for (;;) {
    const page = await fs.readdir(ROOT, dir, { cookie, limit: 7 });
    for (const e of page.entries) out.push(e.name);
    if (page.eof) break;
    assert.ok(page.entries.length > 0, "non-eof page must not be empty");
    cookie = page.entries[page.entries.length - 1].cookie;
  }
  return out.sort();
}

export function after(a: { sec: number; nsec: number }, b: typeof a): boolean {
  return a.sec > b.sec || (a.sec === b.sec && a.nsec > b.nsec);
}
