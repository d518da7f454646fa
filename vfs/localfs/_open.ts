// How a LocalFs is opened, before any call: which engine runs, the
// export's real path and root, and what the facade prepares once for the
// engine (the FileId journal, the hidden state folder, the ownership
// policy). A missing Deno permission becomes one line naming the flag to
// give, not an uncaught NotCapable.
import { VfsError } from "../errors.ts";
import type { Engine, EngineSetup } from "./_engine.ts";
import { IdIndex } from "./_id_index.ts";
import type { Libc } from "./_libc.ts";
import { PortableEngine } from "./_portable.ts";
import type { LocalFsEngine, LocalFsOptions } from "./mod.ts";
import { NativeEngine, openNative } from "./native/mod.ts";

/** The largest file size either engine serves. */
export const MAX_FILE_SIZE = Number.MAX_SAFE_INTEGER;

/** Deno's NotCapable as a one-line VfsError saying which flag to give. */
function permissionError(e: unknown, path: string, kind: LocalFsEngine): never {
  if (!(e instanceof Deno.errors.NotCapable)) throw e;
  if (/all access/.test(e.message)) {
    const way = kind === "native"
      ? "or keep the FileId journal outside /dev (stateDir, or false)"
      : "or --allow-ffi for the native engine with the FileId journal outside /dev (stateDir, or false)";
    throw new VfsError(
      "EACCES",
      `Deno's permissions cannot reach ${path} with scoped flags (paths under /dev need --allow-all): run with --allow-all, ${way}`,
    );
  }
  throw new VfsError(
    "EACCES",
    `Deno permission missing for ${path}: run with --allow-read=${path} --allow-write=${path}`,
  );
}

/** The engine `options` ask for, opened on `root`. */
export async function openEngine(
  root: string,
  options: LocalFsOptions,
): Promise<Engine> {
  const want = options.engine ?? "auto";
  let lib: Libc | undefined;
  if (want !== "portable") {
    const native = openNative();
    if (typeof native !== "string") lib = native;
    else if (want === "native") {
      throw new VfsError("ENOTSUP", `Native engine unavailable: ${native}`);
    }
  }
  const kind: LocalFsEngine = lib !== undefined ? "native" : "portable";
  let rootPath: string;
  let rootSt: Deno.FileInfo | undefined;
  let rootFd = -1;
  try {
    if (lib !== undefined) {
      ({ rootPath, fd: rootFd } = NativeEngine.openRoot(lib, root));
    } else {
      rootPath = await Deno.realPath(root);
      rootSt = Deno.lstatSync(rootPath);
      if (!rootSt.isDirectory) {
        throw new VfsError("ENOTDIR", `Not a directory: ${root}`);
      }
    }
  } catch (e) {
    lib?.release();
    permissionError(e, root, kind);
  }
  let setup: EngineSetup;
  try {
    setup = engineSetup(rootPath, options, lib);
  } catch (e) {
    if (lib !== undefined) {
      lib.close(rootFd);
      lib.release();
    }
    permissionError(e, rootPath, kind);
  }
  try {
    return lib !== undefined
      ? NativeEngine.create(setup, lib, rootFd)
      : new PortableEngine(setup, rootSt!);
  } catch (e) {
    setup.index.close(); // Its share, so that no LocalFs inherits it.
    throw e;
  }
}

/** The journal, the hidden state folder and the ownership policy. */
function engineSetup(
  rootPath: string,
  options: LocalFsOptions,
  lib: Libc | undefined,
): EngineSetup {
  let hidden: string | undefined;
  let journal: string | undefined;
  // LocalFs instances on the same root and journal (or on the same root
  // without one) share one index.
  let sharedAs = `${rootPath}:memory`;
  if (options.stateDir !== false) {
    const dir = options.stateDir ?? `${rootPath}/.netfs`;
    try {
      Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
      journal = `${dir}/ids.jsonl`;
      const real = Deno.realPathSync(dir);
      sharedAs = `${rootPath}:${real}/ids.jsonl`;
      const slash = real.lastIndexOf("/");
      if (real.slice(0, slash) === rootPath) hidden = real.slice(slash + 1);
    } catch (e) {
      // A read-only export still serves; FileIds then rely on inode walks.
      // A missing Deno permission is the user's to fix, not to hide.
      if (
        options.stateDir !== undefined ||
        e instanceof Deno.errors.NotCapable
      ) throw e;
    }
  }
  // Shared with the other LocalFs instances on this journal (./_id_index.ts).
  const index = IdIndex.open(journal, options.generations ?? true, sharedAs);
  let chown = options.chownToCaller;
  if (chown === undefined) {
    try {
      chown = (lib !== undefined ? lib.geteuid() : Deno.uid()) === 0;
    } catch {
      chown = false;
    }
  }
  return {
    rootPath,
    index,
    hidden,
    scanLimit: options.scanLimit ?? 100_000,
    openFiles: options.openFiles ?? 128,
    fsid: options.fsid,
    chown,
    maxFileSize: MAX_FILE_SIZE,
  };
}
