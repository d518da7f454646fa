/**
 * A name that may be absent, on any file system: `find` where the file
 * system has it, `lookup` with ENOENT caught where it does not (see
 * `FileSystem.find`). The servers' lookups and lookups-before-create go
 * through here. {@link found} is the other way round, for the back ends
 * that make `lookup` out of their `find`.
 *
 * @module
 */

import { isVfsError, VfsError } from "./errors.ts";
import type { Attributes, Credentials, FileId, FileSystem } from "./types.ts";

/** `name` in `dir`, or `undefined` where `lookup` would answer ENOENT. */
export function findName(
  fs: FileSystem,
  cred: Credentials,
  dir: FileId,
  name: string,
): Promise<Attributes | undefined> {
  return fs.find !== undefined && findAgrees(fs)
    ? fs.find(cred, dir, name)
    : findByLookup(fs, cred, dir, name);
}

/** Per prototype: whether {@link findAgrees} holds for its instances. */
const agrees = new WeakMap<object, boolean>();

/**
 * Whether `fs.find` can stand for `fs.lookup`: not when a subclass
 * overrides `lookup` below the class that defines `find` (a MemFs subclass
 * that hides names in its `lookup`, say), since the inherited `find` would
 * not hide them. Walks the prototype chain once per class.
 */
function findAgrees(fs: FileSystem): boolean {
  const own = Object.hasOwn(fs, "find") || Object.hasOwn(fs, "lookup");
  const proto = Object.getPrototypeOf(fs);
  if (!own && proto !== null) {
    const known = agrees.get(proto);
    if (known !== undefined) return known;
  }
  let answer = true;
  for (let o: object | null = fs; o !== null; o = Object.getPrototypeOf(o)) {
    if (Object.hasOwn(o, "find")) break;
    if (Object.hasOwn(o, "lookup")) {
      answer = false;
      break;
    }
  }
  if (!own && proto !== null) agrees.set(proto, answer);
  return answer;
}

/** `fs.lookup`, an ENOENT turned into `undefined`. */
export async function findByLookup(
  fs: FileSystem,
  cred: Credentials,
  dir: FileId,
  name: string,
): Promise<Attributes | undefined> {
  try {
    return await fs.lookup(cred, dir, name);
  } catch (e) {
    if (isVfsError(e, "ENOENT")) return undefined;
    throw e;
  }
}

/** `value`, or the ENOENT `lookup` answers for `name` when it is absent. */
export function found<T>(name: string, value: T | undefined): T {
  if (value === undefined) {
    throw new VfsError("ENOENT", `No such file or directory: ${name}`);
  }
  return value;
}
