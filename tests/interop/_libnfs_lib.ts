// Debian's libnfs (libnfs13, the library under libnfs-utils) called through
// Deno's FFI, for what the nfs-ls/nfs-cp/nfs-cat tools cannot show or do:
// the inode number and rdev a client sees (nfs_stat64), MKNOD (nfs_mknod)
// and a MOUNT of any path (nfs_mount). Every call that talks to the server
// is `nonblocking` (it runs on another thread), because the server under
// test runs on this thread's event loop. Needs --allow-ffi.

const SYMBOLS = {
  nfs_init_context: { parameters: [], result: "pointer" },
  nfs_destroy_context: {
    parameters: ["pointer"],
    result: "void",
    nonblocking: true,
  },
  nfs_parse_url_dir: { parameters: ["pointer", "buffer"], result: "pointer" },
  nfs_destroy_url: { parameters: ["pointer"], result: "void" },
  nfs_get_error: { parameters: ["pointer"], result: "pointer" },
  nfs_set_timeout: { parameters: ["pointer", "i32"], result: "void" },
  nfs_set_uid: { parameters: ["pointer", "i32"], result: "void" },
  nfs_set_gid: { parameters: ["pointer", "i32"], result: "void" },
  nfs_mount: {
    parameters: ["pointer", "buffer", "buffer"],
    result: "i32",
    nonblocking: true,
  },
  nfs_stat64: {
    parameters: ["pointer", "buffer", "buffer"],
    result: "i32",
    nonblocking: true,
  },
  nfs_mknod: {
    parameters: ["pointer", "buffer", "i32", "i32"],
    result: "i32",
    nonblocking: true,
  },
  nfs_create: {
    parameters: ["pointer", "buffer", "i32", "i32", "buffer"],
    result: "i32",
    nonblocking: true,
  },
  nfs_write: {
    parameters: ["pointer", "pointer", "u64", "buffer"],
    result: "i32",
    nonblocking: true,
  },
  nfs_close: {
    parameters: ["pointer", "pointer"],
    result: "i32",
    nonblocking: true,
  },
} as const;

/** What `nfs_stat64` fills in that the tests read. */
export interface NfsStat {
  ino: number;
  mode: number;
  rdev: number;
  size: number;
}

/** Where libnfs can be found, or why not (the caller skips with the reason). */
export function libnfsMissing(): string | undefined {
  if (Deno.build.os !== "linux") return "not Linux";
  if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") {
    return "--allow-ffi not granted";
  }
  try {
    Deno.dlopen("libnfs.so.13", {}).close();
    return undefined;
  } catch (e) {
    return `libnfs.so.13 cannot be opened: ${(e as Error).message}`;
  }
}

const cstr = (s: string) => new TextEncoder().encode(s + "\0");

/** One libnfs context mounted on one export path of a server on 127.0.0.1. */
export class LibNfs {
  readonly #lib: Deno.DynamicLibrary<typeof SYMBOLS>;
  readonly #ctx: Deno.PointerObject;

  private constructor(
    lib: Deno.DynamicLibrary<typeof SYMBOLS>,
    ctx: Deno.PointerObject,
  ) {
    this.#lib = lib;
    this.#ctx = ctx;
  }

  /**
   * Mounts `path` (NFSv3 through MOUNT, or NFSv4) from the server on
   * `port`; rejects with libnfs's error message when it cannot.
   */
  static async mount(
    port: number,
    path: string,
    version: 3 | 4 = 3,
    user?: { uid: number; gid: number },
  ): Promise<LibNfs> {
    const lib = Deno.dlopen("libnfs.so.13", SYMBOLS);
    const ctx = lib.symbols.nfs_init_context();
    if (ctx === null) {
      lib.close();
      throw new Error("nfs_init_context failed");
    }
    const nfs = new LibNfs(lib, ctx);
    try {
      const s = lib.symbols;
      s.nfs_set_timeout(ctx, 10_000);
      if (user) {
        s.nfs_set_uid(ctx, user.uid);
        s.nfs_set_gid(ctx, user.gid);
      }
      const url = s.nfs_parse_url_dir(
        ctx,
        cstr(
          `nfs://127.0.0.1/?nfsport=${port}&mountport=${port}&version=${version}`,
        ),
      );
      if (url === null) throw new Error(`Bad URL: ${nfs.#error()}`);
      s.nfs_destroy_url(url);
      const r = await s.nfs_mount(ctx, cstr("127.0.0.1"), cstr(path));
      if (r !== 0) throw new Error(`Mount ${path} failed: ${nfs.#error()}`);
      return nfs;
    } catch (e) {
      await nfs.close();
      throw e;
    }
  }

  #error(): string {
    const p = this.#lib.symbols.nfs_get_error(this.#ctx);
    return p === null ? "(no message)" : Deno.UnsafePointerView.getCString(p);
  }

  /** stat of `path` below the mount, as the client sees it. */
  async stat(path: string): Promise<NfsStat> {
    const buf = new BigUint64Array(17);
    const r = await this.#lib.symbols.nfs_stat64(
      this.#ctx,
      cstr(path),
      new Uint8Array(buf.buffer),
    );
    if (r !== 0) throw new Error(`stat ${path}: ${this.#error()}`);
    // struct nfs_stat_64: dev, ino, mode, nlink, uid, gid, rdev, size, ...
    return {
      ino: Number(buf[1]),
      mode: Number(buf[2]),
      rdev: Number(buf[6]),
      size: Number(buf[7]),
    };
  }

  /** MKNOD of `path`: `mode` with its S_IF* type bits, `dev` as makedev. */
  async mknod(path: string, mode: number, dev: number): Promise<void> {
    const r = await this.#lib.symbols.nfs_mknod(
      this.#ctx,
      cstr(path),
      mode,
      dev,
    );
    if (r !== 0) throw new Error(`mknod ${path}: ${this.#error()}`);
  }

  /**
   * Creates `path` with open(2) `flags` (O_CREAT and the like) and `mode`,
   * writes `data` through that open file, and closes it.
   */
  async createAndWrite(
    path: string,
    flags: number,
    mode: number,
    data: Uint8Array,
  ): Promise<void> {
    const s = this.#lib.symbols;
    const out = new BigUint64Array(1);
    const r = await s.nfs_create(
      this.#ctx,
      cstr(path),
      flags,
      mode,
      new Uint8Array(out.buffer),
    );
    if (r !== 0) throw new Error(`create ${path}: ${this.#error()}`);
    const fh = Deno.UnsafePointer.create(out[0])!;
    try {
      const n = await s.nfs_write(this.#ctx, fh, BigInt(data.length), data);
      if (n !== data.length) {
        throw new Error(`write ${path}: ${n}: ${this.#error()}`);
      }
    } finally {
      await s.nfs_close(this.#ctx, fh);
    }
  }

  /** Frees the context (closing its connection) and the library. */
  async close(): Promise<void> {
    await this.#lib.symbols.nfs_destroy_context(this.#ctx);
    this.#lib.close();
  }
}
