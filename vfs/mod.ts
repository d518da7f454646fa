/**
 * The file-system layer every netfs server speaks to.
 *
 * @example
 * ```ts
 * import { ROOT, VfsError } from "@netfs/netfs/vfs";
 * console.log(ROOT.uid, new VfsError("ENOENT", "No such file: x").code);
 * ```
 *
 * @module
 */
export * from "./types.ts";
export * from "./errors.ts";
