// How CallbackFs calls its handlers: a throw that is not a VfsError becomes
// EIO naming the path, and an absent optional handler answers ENOTSUP.
import { VfsError } from "../errors.ts";
import type { Credentials } from "../types.ts";
import type {
  CallbackContext,
  CallbackHandlers,
  MaybePromise,
} from "./handlers.ts";

/** A handler's failure as a VfsError. */
export function wrap(e: unknown, what: string): VfsError {
  if (e instanceof VfsError) return e;
  return new VfsError(
    "EIO",
    `Handler failed for ${what}: ${(e as Error)?.message ?? e}`,
  );
}

/** Awaits a handler call, its failure wrapped (see wrap). */
export async function call<T>(
  what: string,
  f: () => MaybePromise<T>,
): Promise<T> {
  try {
    return await f();
  } catch (e) {
    throw wrap(e, what);
  }
}

/** The handler `key`, or ENOTSUP when the table has none. */
export function need<O, K extends keyof CallbackHandlers<O>>(
  h: CallbackHandlers<O>,
  key: K,
): NonNullable<CallbackHandlers<O>[K]> {
  const f = h[key];
  if (f === undefined) {
    throw new VfsError(
      "ENOTSUP",
      `Operation not supported: no ${String(key)} handler`,
    );
  }
  return f as NonNullable<CallbackHandlers<O>[K]>;
}

/** The context a handler gets for a call made by `cred`. */
export function context(cred: Credentials): CallbackContext {
  return { cred };
}
