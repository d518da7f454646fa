// A path-keyed store with the full CallbackFs handler set, as a user of
// CallbackFs would write it: the callback tests and the wrapper tests that
// need a file system with the open/release hooks build on it.
import type { CallbackHandlers, CallbackStat } from "../../vfs/callback.ts";
import { FileType, type Time, VfsError } from "../../vfs/mod.ts";

/** One object of the in-test store; hard links share it. */
interface Inode {
  type: FileType;
  mode: number;
  uid: number;
  gid: number;
  data: Uint8Array;
  target: string;
  atime: Time;
  mtime: Time;
  ctime: Time;
}

let clockNs = 1_700_000_000_000_000_000n;
function now(): Time {
  clockNs += 1000n;
  return {
    sec: Number(clockNs / 1_000_000_000n),
    nsec: Number(clockNs % 1_000_000_000n),
  };
}

/**
 * A small path-keyed store with the handler set, as a user of CallbackFs
 * would write it: it knows paths, not inodes.
 */
export function store(
  events: string[] = [],
): CallbackHandlers<{ path: string }> {
  const t = now();
  const paths = new Map<string, Inode>([["/", {
    type: FileType.Directory,
    mode: 0o755,
    uid: 0,
    gid: 0,
    data: new Uint8Array(0),
    target: "",
    atime: t,
    mtime: t,
    ctime: t,
  }]]);
  const parentOf = (p: string) => p.slice(0, p.lastIndexOf("/")) || "/";
  const get = (p: string) => {
    const i = paths.get(p);
    if (i === undefined) throw new VfsError("ENOENT", `No such path: ${p}`);
    return i;
  };
  const touchDir = (p: string) => {
    const d = get(parentOf(p));
    d.mtime = d.ctime = now();
  };
  const children = (p: string) =>
    [...paths.keys()].filter((k) => k !== "/" && parentOf(k) === p);
  const add = (
    p: string,
    type: FileType,
    o: { mode: number; uid: number; gid: number },
  ) => {
    if (paths.has(p)) throw new VfsError("EEXIST", `Exists: ${p}`);
    const n = now();
    paths.set(p, {
      type,
      mode: o.mode,
      uid: o.uid,
      gid: o.gid,
      data: new Uint8Array(0),
      target: "",
      atime: n,
      mtime: n,
      ctime: n,
    });
    touchDir(p);
    return paths.get(p)!;
  };
  return {
    getAttr(path): CallbackStat | undefined {
      const i = paths.get(path);
      if (i === undefined) return undefined;
      let nlink = 0;
      for (const v of paths.values()) if (v === i) nlink++;
      if (i.type === FileType.Directory) {
        nlink = 2 +
          children(path).filter((c) =>
            paths.get(c)!.type === FileType.Directory
          )
            .length;
      }
      return {
        type: i.type,
        mode: i.mode,
        uid: i.uid,
        gid: i.gid,
        nlink,
        size: i.type === FileType.Symlink ? i.target.length : i.data.length,
        atime: i.atime,
        mtime: i.mtime,
        ctime: i.ctime,
      };
    },
    readDir(path, fill) {
      for (const c of children(path)) {
        if (!fill(c.slice(c.lastIndexOf("/") + 1))) break;
      }
    },
    open(path, options) {
      events.push(`open ${path} ${options.write ? "rw" : "r"}`);
      return { path };
    },
    close(path) {
      events.push(`close ${path}`);
    },
    read(path, _o, offset, length) {
      return get(path).data.slice(offset, offset + length);
    },
    write(path, _o, offset, data) {
      const i = get(path);
      if (offset + data.length > i.data.length) {
        const grown = new Uint8Array(offset + data.length);
        grown.set(i.data);
        i.data = grown;
      }
      i.data.set(data, offset);
      i.mtime = i.ctime = now();
      return data.length;
    },
    commit(path) {
      events.push(`commit ${path}`);
    },
    create(path, o) {
      add(path, FileType.Regular, o);
    },
    mkDir(path, o) {
      add(path, FileType.Directory, o);
    },
    createLink(path, target, o) {
      if (o.symbolic) {
        add(path, FileType.Symlink, { ...o, mode: 0o777 }).target = target;
      } else {
        if (paths.has(path)) throw new VfsError("EEXIST", `Exists: ${path}`);
        const i = get(target);
        paths.set(path, i);
        i.ctime = now();
        touchDir(path);
      }
    },
    readLink(path) {
      return get(path).target;
    },
    unlink(path) {
      get(path);
      paths.delete(path);
      touchDir(path);
    },
    rmDir(path) {
      if (children(path).length) throw new VfsError("ENOTEMPTY", path);
      paths.delete(path);
      touchDir(path);
    },
    rename(from, to) {
      const moving = [...paths.keys()].filter((k) =>
        k === from || k.startsWith(from + "/")
      );
      const items = moving.map((k) => [k, paths.get(k)!] as const);
      paths.delete(to);
      for (const [k] of items) paths.delete(k);
      for (const [k, v] of items) paths.set(to + k.slice(from.length), v);
      get(to).ctime = now();
      touchDir(from);
      touchDir(to);
    },
    chmod(path, mode) {
      const i = get(path);
      i.mode = mode;
      i.ctime = now();
    },
    chown(path, uid, gid) {
      const i = get(path);
      i.uid = uid;
      i.gid = gid;
      i.ctime = now();
    },
    truncate(path, size) {
      const i = get(path);
      const d = new Uint8Array(size);
      d.set(i.data.subarray(0, size));
      i.data = d;
      i.mtime = i.ctime = now();
    },
    utime(path, atime, mtime) {
      const i = get(path);
      i.atime = atime;
      i.mtime = mtime;
      i.ctime = now();
    },
  };
}

/**
 * The store's handlers with the open-related ones traced: each open gets
 * the context "#n" (n counting from 1), and every open, read, write,
 * commit and close is logged with its path and context, a client's open
 * also with its share bits ("open /a #1 client access 3 deny 0") and the
 * adapter's own with "own".
 */
export function traced(events: string[]): CallbackHandlers<string> {
  const h = store();
  let opens = 0;
  return {
    ...h,
    open(path, o) {
      const ctx = `#${++opens}`;
      const who = o.client ? "client" : "own";
      events.push(
        `open ${path} ${ctx} ${who} access ${o.access} deny ${o.deny}`,
      );
      return ctx;
    },
    close(path, ctx) {
      events.push(`close ${path} ${ctx}`);
    },
    read(path, ctx, offset, length, c) {
      events.push(`read ${path} ${ctx}`);
      return h.read!(path, { path }, offset, length, c);
    },
    write(path, ctx, offset, data, c) {
      events.push(`write ${path} ${ctx}`);
      return h.write!(path, { path }, offset, data, c);
    },
    commit(path, ctx) {
      events.push(`commit ${path} ${ctx}`);
    },
  };
}
