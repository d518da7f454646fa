// Helpers of the NFSv4.2 protocol tests: a server with a 4.2 session over
// MemFs or LocalFs's native engine (each test runs on both), the
// operations' arguments, and a file system without optional capabilities.
import assert from "node:assert/strict";
import {
  type COMPOUND4res,
  type nfs_argop4,
  nfs_opnum4 as OP,
  nfsstat4,
  type stateid4,
} from "../../../proto/nfs4/mod.ts";
import type { ExportOptions } from "../../../server/exports.ts";
import { LocalFs } from "../../../vfs/localfs.ts";
import { MemFs } from "../../../vfs/memfs.ts";
import { type FileSystem, ROOT } from "../../../vfs/types.ts";
import { chanAttrs, type Session41, session41 } from "./_clients.ts";
import { type Nfs4Harness, start4 } from "./_harness.ts";

export const enc = new TextEncoder();
export const MIB = 1 << 20;

/** The anonymous stateid (all zeros): I/O without an open. */
export const ANON: stateid4 = { seqid: 0, other: new Uint8Array(12) };

/** A stateid the server never handed out. */
export const BOGUS: stateid4 = { seqid: 1, other: new Uint8Array(12).fill(9) };

/** The back ends every 4.2 test runs on. */
export type Backend = "memfs" | "localfs native";

const ffi = Deno.build.os === "linux" &&
  Deno.permissions.querySync({ name: "ffi" }).state === "granted";

/** A live 4.2 server with one session, over one back end. */
export interface V42 {
  h: Nfs4Harness<FileSystem>;
  fs: FileSystem;
  s: Session41;
  backend: Backend;
  /** Sends `ops` after SEQUENCE in a 4.2 COMPOUND. */
  call(ops: nfs_argop4[]): Promise<COMPOUND4res>;
}

/** The file system of a back end, and how to dispose of it. */
async function open(
  backend: Backend,
): Promise<{ fs: FileSystem; dispose(): Promise<void> }> {
  if (backend === "memfs") {
    return { fs: new MemFs(), dispose: () => Promise.resolve() };
  }
  const dir = await Deno.makeTempDir({ prefix: "netfs-v42-" });
  await Deno.chmod(dir, 0o755);
  const fs = await LocalFs.open(dir, { engine: "native", stateDir: false });
  return {
    fs,
    async dispose() {
      await fs.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/**
 * Registers `fn` as one test per back end, named "name (backend)"; the
 * LocalFs one is ignored where the native engine cannot run (not Linux,
 * or no --allow-ffi).
 */
export function test42(
  name: string,
  fn: (v: V42) => Promise<void>,
  options: {
    exports?: Partial<ExportOptions>[];
    /** Serves this instead of the back end itself. */
    wrap?: (fs: FileSystem) => FileSystem;
  } = {},
): void {
  for (const backend of ["memfs", "localfs native"] as const) {
    Deno.test({
      name: `${name} (${backend})`,
      ignore: backend !== "memfs" && !ffi,
      async fn() {
        const made = await open(backend);
        const fs = options.wrap?.(made.fs) ?? made.fs;
        const h = await start4<FileSystem>({
          fs,
          exports: options.exports,
          nfs4: { graceTime: 0 },
        });
        try {
          // Large replies, as Linux asks: the server grants 1 MiB + 4 KiB.
          const fore = {
            ...chanAttrs(),
            ca_maxrequestsize: 2 * MIB,
            ca_maxresponsesize: 2 * MIB,
          };
          const s = await session41(h, "v42", { minor: 2, fore });
          await fn({ h, fs, s, backend, call: (ops) => s.call(ops) });
        } finally {
          await h.close();
          await made.dispose();
        }
      },
    });
  }
}

/** PUTROOTFH and a LOOKUP per component of `path`. */
export function at(path: string): nfs_argop4[] {
  const ops: nfs_argop4[] = [{ argop: OP.OP_PUTROOTFH }];
  for (const name of path.split("/").filter(Boolean)) {
    ops.push({ argop: OP.OP_LOOKUP, oplookup: { objname: enc.encode(name) } });
  }
  return ops;
}

/** Asserts the COMPOUND ended with `status` at its last operation. */
export function expectStatus(
  res: COMPOUND4res,
  status: number,
  what: string,
): void {
  assert.equal(res.status, status, `${what}: status ${res.status}`);
}

/** Bytes of `n` filled with `byte`. */
export function filled(n: number, byte: number): Uint8Array {
  return new Uint8Array(n).fill(byte);
}

/** `n` bytes of a pattern no run of zeros or repeats hides a misplaced byte in. */
export function pattern(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** Creates `name` in the root through the VFS, with `parts` written at offsets. */
export async function makeFile(
  fs: FileSystem,
  name: string,
  parts: [number, Uint8Array][] = [],
  size?: number,
): Promise<number> {
  const cred = { uid: 0, gid: 0, groups: [] };
  const f = await fs.create(cred, fs.root, name, { attrs: { mode: 0o644 } });
  for (const [at, data] of parts) await fs.write(cred, f.fileid, at, data);
  if (size !== undefined) await fs.setattr(cred, f.fileid, { size });
  return f.fileid;
}

/**
 * The objects a test of the wrong kind of file needs, in the root: "f"
 * (10 bytes of 1), the directory "d" and the symlink "l" to "f".
 */
export async function makeKinds(fs: FileSystem): Promise<void> {
  await makeFile(fs, "f", [[0, filled(10, 1)]]);
  await fs.mkdir(ROOT, fs.root, "d");
  await fs.symlink(ROOT, fs.root, "l", "f");
}

/**
 * Asserts that `op` is ISDIR on "d" and SYMLINK on "l" (see
 * {@link makeKinds}); `what` begins the messages.
 */
export async function expectNotRegular(
  v: V42,
  op: nfs_argop4,
  what = "",
): Promise<void> {
  expectStatus(
    await v.call([...at("d"), op]),
    nfsstat4.NFS4ERR_ISDIR,
    `${what}directory`,
  );
  expectStatus(
    await v.call([...at("l"), op]),
    nfsstat4.NFS4ERR_SYMLINK,
    `${what}symlink`,
  );
}

/** A file of 4 MiB: data in [0, 1 MiB) and [3 MiB, 4 MiB), a hole between. */
export function sparseParts(): [number, Uint8Array][] {
  return [[0, filled(MIB, 1)], [3 * MIB, filled(MIB, 3)]];
}

/**
 * `fs` without any optional capability (no seek, allocate, deallocate,
 * copy, clone or xattrs): what a minimal back end offers.
 */
export function plain(fs: FileSystem): FileSystem {
  const hidden = new Set([
    "seek",
    "allocate",
    "deallocate",
    "copy",
    "clone",
    "xattrs",
    "open",
    "release",
  ]);
  return new Proxy(fs, {
    has: (t, p) => !hidden.has(p as string) && Reflect.has(t, p),
    get: (t, p) => {
      if (hidden.has(p as string)) return undefined;
      const v = Reflect.get(t, p);
      return typeof v === "function" ? v.bind(t) : v;
    },
  });
}

export { nfsstat4, OP };
