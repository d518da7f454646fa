// Extended attributes of MemFs: a name-to-value map per node, made on first
// set. Names and values count against the capacity (`used`) like file data;
// reading or listing needs read permission on the object, setting or
// removing write permission (../access.ts), as Linux asks for user.* names.
import { Perm, requirePermission } from "../access.ts";
import { VfsError } from "../errors.ts";
import type { Credentials, FileId, XattrOps } from "../types.ts";
import { describe, type Inodes, settle } from "./_nodes.ts";

const MAX_XATTR_NAME = 255;
const MAX_XATTR_VALUE = 65536;

function checkXattrName(name: string): void {
  if (name === "" || name.includes("\0")) {
    throw new VfsError(
      "EINVAL",
      `Invalid xattr name: ${JSON.stringify(name)}`,
    );
  }
  if (name.length > MAX_XATTR_NAME) {
    throw new VfsError("ERANGE", `Xattr name too long: ${name.length}`);
  }
}

/** The `xattrs` capability of a MemFs. */
export class Xattrs implements XattrOps {
  readonly #t: Inodes;

  constructor(table: Inodes) {
    this.#t = table;
  }

  /** A copy of the value of `name`; ENODATA when unset. */
  getxattr(cred: Credentials, id: FileId, name: string): Promise<Uint8Array> {
    return settle(() => {
      const node = this.#t.node(id);
      checkXattrName(name);
      requirePermission(
        node,
        cred,
        Perm.R,
        `cannot read xattrs of ${describe(node)}`,
      );
      const v = node.xattrs?.get(name);
      if (v === undefined) {
        throw new VfsError("ENODATA", `No such xattr: ${name}`);
      }
      return v.slice();
    });
  }

  /** Sets `name` to a copy of `value`; `mode` may insist it is new or present. */
  setxattr(
    cred: Credentials,
    id: FileId,
    name: string,
    value: Uint8Array,
    mode: "either" | "create" | "replace" = "either",
  ): Promise<void> {
    return settle(() => {
      const t = this.#t;
      const node = t.node(id);
      checkXattrName(name);
      if (value.length > MAX_XATTR_VALUE) {
        throw new VfsError("E2BIG", `Xattr value too large: ${value.length}`);
      }
      requirePermission(
        node,
        cred,
        Perm.W,
        `cannot set xattrs of ${describe(node)}`,
      );
      const old = node.xattrs?.get(name);
      if (mode === "create" && old !== undefined) {
        throw new VfsError("EEXIST", `Xattr exists: ${name}`);
      }
      if (mode === "replace" && old === undefined) {
        throw new VfsError("ENODATA", `No such xattr: ${name}`);
      }
      const delta = value.length + (old === undefined ? name.length : 0) -
        (old?.length ?? 0);
      t.reserve(delta);
      node.xattrs ??= new Map();
      node.xattrs.set(name, value.slice());
      t.charge(node, delta);
      t.changed(node);
    });
  }

  /** The names set on `id`. */
  listxattrs(cred: Credentials, id: FileId): Promise<string[]> {
    return settle(() => {
      const node = this.#t.node(id);
      requirePermission(
        node,
        cred,
        Perm.R,
        `cannot list xattrs of ${describe(node)}`,
      );
      return [...(node.xattrs?.keys() ?? [])];
    });
  }

  /** Removes `name`; ENODATA when unset. */
  removexattr(cred: Credentials, id: FileId, name: string): Promise<void> {
    return settle(() => {
      const t = this.#t;
      const node = t.node(id);
      checkXattrName(name);
      requirePermission(
        node,
        cred,
        Perm.W,
        `cannot remove xattrs of ${describe(node)}`,
      );
      const old = node.xattrs?.get(name);
      if (old === undefined) {
        throw new VfsError("ENODATA", `No such xattr: ${name}`);
      }
      node.xattrs!.delete(name);
      t.charge(node, -(old.length + name.length));
      t.changed(node);
    });
  }
}
