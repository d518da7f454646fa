import {
  CallbackFs,
  type FileId,
  type FileSystem,
  FileType,
} from "../../vfs/mod.ts";

/** The optional capabilities of a FileSystem. */
export const OPTIONAL = [
  "xattrs",
  "allocate",
  "deallocate",
  "seek",
  "copy",
] as const;

/** A file system with no optional capability at all: an empty root. */
export function bare(): FileSystem {
  return new CallbackFs({
    getAttr: (p) =>
      p === "/" ? { type: FileType.Directory, mode: 0o755 } : undefined,
    readDir: () => {},
  });
}

/** `fs` with `root` answered as `root` and nothing else changed. */
export function withRoot(fs: FileSystem, root: FileId): FileSystem {
  return new Proxy(fs, {
    get: (t, p) => p === "root" ? root : Reflect.get(t, p),
  });
}

/** `fs` without `find`, as a file system written before it existed. */
export function withoutFind<F extends FileSystem>(fs: F): F {
  return new Proxy(fs, {
    get: (t, p) => {
      if (p === "find") return undefined;
      const v = Reflect.get(t, p);
      return typeof v === "function" ? v.bind(t) : v;
    },
    has: (t, p) => p !== "find" && Reflect.has(t, p),
  });
}
