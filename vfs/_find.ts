/**
 * A name that may be absent, on any file system: `find` where the file
 * system has it, `lookup` with ENOENT caught where it does not (see
 * `FileSystem.find`). The servers' lookups and lookups-before-create go
 * through here. {@link found} is the other way round, for the back ends
 * that make `lookup` out of their `find`. {@link nowOf} is the same care
 * for `FileSystem.now`.
 *
 * @module
 */

import { isVfsError, VfsError } from "./errors.ts";
import type {
  Attributes,
  Credentials,
  FileId,
  FileSystem,
  FileSystemNow,
} from "./types.ts";

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

/**
 * Whether the member `key` of `fs` stands for the calls `mirrors`: not when
 * a subclass overrides one of them below the class that defines `key` (a
 * MemFs subclass that hides names in its `lookup`, say), since the
 * inherited member would not do what the override does. Walks the
 * prototype chain once per class and key.
 */
function agrees(fs: FileSystem, key: string, mirrors: string[]): boolean {
  const own = Object.hasOwn(fs, key) || ownsAny(fs, mirrors);
  const proto = Object.getPrototypeOf(fs);
  const cache = own || proto === null ? undefined : known(key);
  const seen = cache?.get(proto);
  if (seen !== undefined) return seen;
  let answer = true;
  for (let o: object | null = fs; o !== null; o = Object.getPrototypeOf(o)) {
    if (Object.hasOwn(o, key)) break;
    if (ownsAny(o, mirrors)) {
      answer = false;
      break;
    }
  }
  cache?.set(proto, answer);
  return answer;
}

/** Whether `o` has one of `keys` as its own (a loop: no closure per call). */
function ownsAny(o: object, keys: string[]): boolean {
  for (let i = 0; i < keys.length; i++) {
    if (Object.hasOwn(o, keys[i])) return true;
  }
  return false;
}

/** Per key, per prototype: what {@link agrees} answered for its instances. */
const answers = new Map<string, WeakMap<object, boolean>>();

function known(key: string): WeakMap<object, boolean> {
  let m = answers.get(key);
  if (m === undefined) answers.set(key, m = new WeakMap());
  return m;
}

const FIND_MIRRORS = ["lookup"];
const NOW_MIRRORS = [
  "getattr",
  "find",
  "lookup",
  "create",
  "remove",
  "read",
  "write",
];

/** Whether `fs.find` can stand for `fs.lookup` (see {@link agrees}). */
function findAgrees(fs: FileSystem): boolean {
  return agrees(fs, "find", FIND_MIRRORS);
}

/**
 * `fs.now` (`FileSystemNow`) where it answers as the object's own async
 * calls would, or undefined: absent, or a subclass overrides `getattr`,
 * `find`, `lookup`, `create`, `remove`, `read` or `write` below the class
 * that defines `now`.
 */
export function nowOf(fs: FileSystem): FileSystemNow | undefined {
  const now = fs.now;
  return now !== undefined && agrees(fs, "now", NOW_MIRRORS) ? now : undefined;
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
