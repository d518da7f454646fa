/**
 * What the NFS client verbs share: reading an `nfs://` argument (a usage
 * error naming what is wrong), connecting to the deepest directory of the
 * URL that exists, showing a path inside it as a whole URL again, and
 * turning a server's refusal into the one-line message of exit status 1.
 *
 * Why connect to the deepest existing directory: `NfsClient.connect` wants
 * a directory, but a verb's URL may name a file (`cat`, `stat`) or
 * something not made yet (`mkdir -p`, a `cp` destination). Each step up is
 * another MNT, so a file costs one connect more than a directory.
 *
 * @module
 */

import { NfsClient } from "../../client/nfs_client.ts";
import { NfsError } from "../../client/errors.ts";
import { parseNfsUrl } from "../../client/url.ts";
import { logFormat, logLevel, parse, UsageError } from "../_args.ts";
import { type Need, netNeed } from "../_runtime.ts";

/** A checked `nfs://` argument. */
export interface NfsArg {
  /** The URL as given (query kept). */
  readonly url: URL;
  /** The server. */
  readonly hostname: string;
  /** The path components of the URL. */
  readonly parts: readonly string[];
}

/**
 * Parses a verb's arguments (see `parse`), checking the global log flags
 * too: the client verbs log nothing, but a bad value is still an error.
 */
export function parseVerb<O extends Parameters<typeof parse>[2]>(
  verb: string,
  args: string[],
  options: O,
): ReturnType<typeof parse<O>> {
  const parsed = parse(verb, args, options);
  const v = parsed.values as Record<string, string | undefined>;
  logLevel(v["log-level"]);
  logFormat(v["log-format"]);
  return parsed;
}

/** Whether `s` is meant as an NFS URL. */
export function isNfsUrl(s: string): boolean {
  return /^nfs:\/\//i.test(s);
}

/** Parses an `nfs://` argument of `verb`; a usage error says what is wrong. */
export function nfsArg(verb: string, s: string | undefined): NfsArg {
  if (s === undefined) {
    throw new UsageError(`Missing URL (see: netfs ${verb} --help)`);
  }
  if (!isNfsUrl(s)) {
    throw new UsageError(
      `Not an NFS URL: ${s} (expected nfs://HOST[:PORT]/EXPORT/PATH)`,
    );
  }
  let url: URL;
  try {
    url = new URL(s);
  } catch {
    throw new UsageError(`Invalid NFS URL: ${s}`);
  }
  try {
    const u = parseNfsUrl(url);
    return {
      url,
      hostname: u.hostname,
      parts: u.path.split("/").filter((p) => p !== ""),
    };
  } catch (e) {
    throw new UsageError(`${(e as Error).message} (in ${s})`);
  }
}

/** The permission an NFS verb needs: the network, to any port of the host. */
export function nfsNeed(a: NfsArg): Need {
  return netNeed(a.hostname, 0);
}

/** Fails when a verb got more positional arguments than it takes. */
export function atMost(positionals: string[], n: number): void {
  if (positionals.length > n) {
    throw new UsageError(
      `Too many arguments: ${positionals.slice(n).join(" ")}`,
    );
  }
}

/** A connection to the deepest existing directory of a URL. */
export interface Located extends AsyncDisposable {
  readonly nfs: NfsClient;
  /** The URL's path below the connected directory: "/" or "/a/b". */
  readonly path: string;
  /** A path of `nfs` as the whole URL, for messages. */
  show(path: string): string;
  close(): Promise<void>;
}

function withParts(url: URL, parts: readonly string[]): URL {
  const u = new URL(url.href);
  u.pathname = "/" + parts.map(encodeURIComponent).join("/");
  return u;
}

/** Whether a failed connect may succeed one directory higher. */
function notThere(e: unknown): boolean {
  return (e instanceof Deno.errors.NotFound ||
    e instanceof Deno.errors.NotADirectory) &&
    !(e instanceof NfsError && e.program === "MOUNT");
}

/**
 * Connects to the deepest directory on the way to the URL's path that
 * exists; the rest of the path is `path`. When none does, the error is the
 * one for the whole URL.
 */
export async function locate(
  a: NfsArg,
  parts: readonly string[] = a.parts,
): Promise<Located> {
  let first: unknown;
  for (let k = parts.length; k >= 0; k--) {
    const base = withParts(a.url, parts.slice(0, k));
    let nfs: NfsClient;
    try {
      nfs = await NfsClient.connect(base, { retries: 1 });
    } catch (e) {
      first ??= e;
      if (notThere(e) && k > 0) continue;
      throw urlError(first, a);
    }
    const rest = parts.slice(k);
    const prefix = base.href.replace(/[?#].*$/, "").replace(/\/+$/, "");
    const query = a.url.search;
    return {
      nfs,
      path: "/" + rest.join("/"),
      show: (p) => `${prefix}${p !== "/" ? p : k === 0 ? "/" : ""}${query}`,
      close: () => nfs.close(),
      [Symbol.asyncDispose]: () => nfs.close(),
    };
  }
  throw urlError(first, a);
}

/** A failed connect's error, its path shown as the URL given. */
function urlError(e: unknown, a: NfsArg): unknown {
  if (e instanceof NfsError && e.path !== "" && e.message.endsWith(e.path)) {
    e.message = e.message.slice(0, -e.path.length) + a.url.href;
  }
  return e;
}

/** `dir` + `/` + `name` for the slash-separated paths of NFS. */
export function joinPath(dir: string, name: string): string {
  return dir === "/" ? `/${name}` : `${dir}/${name}`;
}

/** The last component of a path (or URL path); "" for the root. */
export function baseName(path: string): string {
  return path.replace(/\/+$/, "").split("/").pop() ?? "";
}

/**
 * An error from the server with the path as the whole URL: the message of
 * exit status 1.
 */
export function shown(e: unknown, at: Located | undefined): Error {
  if (!(e instanceof Error)) return new Error(String(e));
  if (at && e instanceof NfsError && e.path !== "") {
    const head = e.message.endsWith(`: ${e.path}`)
      ? e.message.slice(0, -(e.path.length + 2))
      : e.message;
    e.message = `${head}: ${at.show(e.path)}`;
  }
  return e;
}

/**
 * Runs `f` on the located URL (or on `parts` of its path) and closes the
 * connection; errors name the whole URL.
 */
export async function withLocated<T>(
  a: NfsArg,
  f: (at: Located) => Promise<T>,
  parts: readonly string[] = a.parts,
): Promise<T> {
  const at = await locate(a, parts);
  try {
    return await f(at);
  } catch (e) {
    throw shown(e, at);
  } finally {
    await at.close();
  }
}

/**
 * Maps `f` over `items` with at most `limit` calls in flight, keeping the
 * order of the results.
 */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  f: (item: T) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  let failed = false;
  const worker = async () => {
    // After a failure, no new item starts.
    while (next < items.length && !failed) {
      const i = next++;
      try {
        out[i] = await f(items[i]);
      } catch (e) {
        failed = true;
        throw e;
      }
    }
  };
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, worker),
  );
  return out;
}
