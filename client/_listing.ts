// Paging through a directory listing, for either version: the loop that
// asks for the next page after the last cookie, drops "." and "..", and
// guards against servers that would keep a caller looping: a cookie seen
// twice, or a page with no entries that is not the last, ends the listing
// with an NfsProtocolError.
import { NfsProtocolError } from "./errors.ts";
import type { Listed } from "./_protocol.ts";

/** One page as a version's READDIR (or READDIRPLUS) answered it. */
export interface Page<C> {
  entries: (Listed & { cookie: C })[];
  eof: boolean;
  /** The procedure that answered, for errors. */
  procedure: string;
}

/**
 * Every entry but "." and "..", page by page. `fetch` gets the cookie of
 * the last entry so far (undefined for the first page); `key` makes a
 * cookie comparable.
 */
export async function* pages<C>(
  fetch: (after: C | undefined) => Promise<Page<C>>,
  key: (cookie: C) => bigint | number,
  path: string,
): AsyncIterable<Listed[]> {
  let cookie: C | undefined;
  const seen = new Set<bigint | number>();
  for (;;) {
    const page = await fetch(cookie);
    const out: Listed[] = [];
    for (const e of page.entries) {
      const k = key(e.cookie);
      if (seen.has(k)) {
        throw new NfsProtocolError(
          page.procedure,
          `cookie ${k} repeated in the listing of ${path}`,
        );
      }
      seen.add(k);
      cookie = e.cookie;
      if (e.name === "." || e.name === "..") continue;
      const l: Listed = { name: e.name, fileid: e.fileid };
      if (e.attrs) l.attrs = e.attrs;
      if (e.handle) l.handle = e.handle;
      out.push(l);
    }
    if (out.length > 0) yield out;
    if (page.eof) return;
    if (page.entries.length === 0) {
      throw new NfsProtocolError(
        page.procedure,
        `no entries and no end of directory after cookie ${
          cookie === undefined ? 0 : key(cookie)
        } in ${path}`,
      );
    }
  }
}
