// Attribute changes of MemFs: setattr's checks (all made, through
// ../access.ts, before anything changes), then size, mode, owner and times in
// that order, with the set-id bits a chown or a non-root truncate clears.
// Reading attributes is the inode table's (./_nodes.ts `attrs`).
import { checkSetattr, modeAfterWrite } from "../access.ts";
import {
  type Attributes,
  type Credentials,
  type FileId,
  FileType,
  type SetAttributes,
} from "../types.ts";
import type { FileData } from "./_data.ts";
import { describe, type Inodes, type Node, settle } from "./_nodes.ts";

const S_ISUID = 0o4000;
const S_ISGID = 0o2000;

/** setattr, and the same changes for a create that opens an existing file. */
export class AttrChanges {
  readonly #t: Inodes;
  readonly #data: FileData;

  /** `data` truncates and extends files for a size change. */
  constructor(table: Inodes, data: FileData) {
    this.#t = table;
    this.#data = data;
  }

  /** Changes attributes with POSIX ownership rules; returns the new attributes. */
  setattr(
    cred: Credentials,
    id: FileId,
    attrs: SetAttributes,
  ): Promise<Attributes> {
    return settle(() => {
      const node = this.#t.node(id);
      this.apply(cred, node, attrs);
      return this.#t.attrs(node);
    });
  }

  /** Checks then applies `attrs` to `node`; nothing changes when a check fails. */
  apply(cred: Credentials, node: Node, attrs: SetAttributes): void {
    const t = this.#t;
    // Validate everything before changing anything.
    const mode = checkSetattr(node, cred, attrs, {
      what: describe(node),
      maxFileSize: t.limits.maxFileSize,
    });
    const atime = attrs.atime === undefined ? undefined : t.time(attrs.atime);
    const mtime = attrs.mtime === undefined ? undefined : t.time(attrs.mtime);

    let touched = false;
    if (attrs.size !== undefined) {
      if (attrs.size !== node.size) {
        this.#data.truncate(node, attrs.size);
        t.modified(node);
      }
      // A non-root truncate clears setuid, and setgid when group-executable.
      node.mode = modeAfterWrite(node.mode, cred);
      touched = true;
    }
    if (mode !== undefined) {
      node.mode = mode;
      touched = true;
    }
    const chown = (attrs.uid !== undefined && attrs.uid !== node.uid) ||
      (attrs.gid !== undefined && attrs.gid !== node.gid);
    if (attrs.uid !== undefined) node.uid = attrs.uid;
    if (attrs.gid !== undefined) node.gid = attrs.gid;
    if (attrs.uid !== undefined || attrs.gid !== undefined) touched = true;
    if (chown && node.type !== FileType.Directory) {
      // chown drops set-id bits so a changed owner cannot inherit privilege.
      node.mode &= ~S_ISUID;
      if ((node.mode & 0o010) !== 0) node.mode &= ~S_ISGID;
    }
    if (atime !== undefined) {
      node.atime = atime;
      touched = true;
    }
    if (mtime !== undefined) {
      node.mtime = mtime;
      touched = true;
    }
    if (touched) t.changed(node);
  }
}
