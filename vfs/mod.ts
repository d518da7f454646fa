/**
 * The file-system layer every netfs server speaks to: the {@link FileSystem}
 * interface, the in-memory {@link MemFs}, and the permission helpers every
 * backend shares.
 *
 * @example Create, write and read a file, as a server would on a caller's behalf
 * ```ts
 * import { MemFs, ROOT } from "@netfs/netfs/vfs";
 * import assert from "node:assert/strict";
 *
 * const fs = new MemFs();
 * // ROOT is the credentials of uid 0; servers pass each caller's own.
 * const file = await fs.create(ROOT, fs.root, "notes.txt");
 * await fs.write(ROOT, file.fileid, 0, new TextEncoder().encode("hello"));
 * const found = await fs.lookup(ROOT, fs.root, "notes.txt");
 * assert.equal(found.fileid, file.fileid);
 * assert.equal(found.size, 5);
 * const { data, eof } = await fs.read(ROOT, file.fileid, 0, 100);
 * assert.equal(new TextDecoder().decode(data), "hello");
 * assert.equal(eof, true);
 * ```
 *
 * @module
 */
export * from "./types.ts";
// Explicit, so the value wins over the type-only re-export in types.ts.
export { isVfsError, VfsError, type VfsErrorCode } from "./errors.ts";
// The require*/check* helpers in access.ts are for the back ends only.
export {
  Access,
  ACCESS_CHANGE_BITS,
  accessBits,
  type AccessOptions,
  hasPermission,
  inGroup,
  modeAfterWrite,
  type Ownership,
  Perm,
  stickyAllows,
} from "./access.ts";
export * from "./memfs.ts";
export * from "./localfs.ts";
export * from "./callback.ts";
export * from "./passthrough.ts";
export * from "./readonly.ts";
export * from "./per_user.ts";
