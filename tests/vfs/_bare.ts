import {
  type Attributes,
  CallbackFs,
  type Credentials,
  type FileId,
  type FileSystem,
  FileType,
  MemFs,
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

/** A MemFs that counts which of `lookup` and `find` it is asked. */
export class Counted extends MemFs {
  lookups = 0;
  finds = 0;
  override lookup(c: Credentials, d: FileId, n: string): Promise<Attributes> {
    this.lookups++;
    return super.lookup(c, d, n);
  }
  override find(
    c: Credentials,
    d: FileId,
    n: string,
  ): Promise<Attributes | undefined> {
    this.finds++;
    return super.find(c, d, n);
  }
}
