/**
 * The file-system layer every netfs server speaks to: the {@link FileSystem}
 * interface, the in-memory {@link MemFs}, and the permission helpers every
 * backend shares.
 *
 * @example
 * ```ts
 * import { MemFs, ROOT } from "@netfs/netfs/vfs";
 * const fs = new MemFs();
 * const file = await fs.create(ROOT, fs.root, "notes.txt");
 * console.log(file.fileid > 0);
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
