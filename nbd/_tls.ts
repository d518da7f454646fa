/**
 * The server side of NBD's in-session TLS upgrade (STARTTLS).
 *
 * Deno's own `Deno.startTls` only plays the client role, and `Deno.listenTls`
 * cannot take over an already accepted TCP connection. `node:tls` can: a
 * `TLSSocket` in server mode runs over any duplex stream, so the accepted
 * `Deno.Conn` is wrapped in one and the TLS socket is wrapped back into the
 * small {@link Stream} interface the NBD loops use.
 *
 * @module
 */

import { Duplex } from "node:stream";
import tls from "node:tls";
import type { Stream } from "./_stream.ts";

/** Performs the server side of a TLS handshake on `conn`; resolves once it is secure. */
export function serverTls(
  conn: Stream,
  options: {
    cert: string;
    key: string;
    leftover?: Uint8Array;
    timeout?: number;
  },
): Promise<Stream> {
  let closed = false;
  let secure = false;
  let abort: (e: Error) => void = () => {};
  const raw = new Duplex({
    read() {
      const buf = new Uint8Array(65536);
      conn.read(buf).then(
        (n) => {
          if (n === null && !secure) {
            abort(new Error("Connection closed during the TLS handshake"));
          }
          this.push(n === null ? null : buf.subarray(0, n));
        },
        (e) => {
          if (!secure) abort(e instanceof Error ? e : new Error(String(e)));
          this.push(null);
        },
      );
    },
    write(chunk: Uint8Array, _enc, cb) {
      (async () => {
        let at = 0;
        while (at < chunk.length) at += await conn.write(chunk.subarray(at));
      })().then(() => cb(), (e) => cb(e));
    },
    final(cb) {
      cb();
    },
    destroy(_e, cb) {
      if (!closed) {
        closed = true;
        try {
          conn.close();
        } catch { /* already closed */ }
      }
      cb(null);
    },
  });
  if (options.leftover?.length) raw.unshift(options.leftover);
  const sock = new tls.TLSSocket(raw as unknown as import("node:net").Socket, {
    isServer: true,
    cert: options.cert,
    key: options.key,
  });
  return new Promise((resolve, reject) => {
    const fail = (e: Error) => {
      if (secure) return;
      secure = true; // settled
      clearTimeout(timer);
      sock.destroy();
      reject(e);
    };
    abort = fail;
    const timer = setTimeout(
      () => fail(new Error("TLS handshake timed out")),
      options.timeout ?? 10000,
    );
    sock.once("error", fail);
    sock.once(
      "close",
      () => fail(new Error("Connection closed during the TLS handshake")),
    );
    sock.once("secure", () => {
      if (secure) return;
      secure = true;
      clearTimeout(timer);
      resolve(wrap(sock));
    });
  });
}

function wrap(sock: tls.TLSSocket): Stream {
  const chunks: Uint8Array[] = [];
  let ended = false;
  let waiter: (() => void) | undefined;
  const wake = () => {
    const w = waiter;
    waiter = undefined;
    w?.();
  };
  sock.on("data", (d: Uint8Array) => {
    chunks.push(d);
    if (chunks.length > 64) sock.pause();
    wake();
  });
  sock.on("end", () => {
    ended = true;
    wake();
  });
  sock.on("close", () => {
    ended = true;
    wake();
  });
  sock.on("error", () => {
    ended = true;
    wake();
  });
  return {
    async read(p: Uint8Array): Promise<number | null> {
      while (chunks.length === 0) {
        if (ended) return null;
        await new Promise<void>((r) => waiter = r);
      }
      const c = chunks[0];
      const n = Math.min(c.length, p.length);
      p.set(c.subarray(0, n));
      if (n === c.length) chunks.shift();
      else chunks[0] = c.subarray(n);
      if (chunks.length < 16) sock.resume();
      return n;
    },
    write(p: Uint8Array): Promise<number> {
      if (ended || sock.destroyed) {
        return Promise.reject(new Error("TLS connection closed"));
      }
      // node copies nothing: hand it a copy since callers reuse their buffers.
      const copy = p.slice();
      return new Promise((resolve, reject) =>
        sock.write(
          copy,
          (e?: Error | null) => e ? reject(e) : resolve(copy.length),
        )
      );
    },
    close(): void {
      if (ended && sock.destroyed) return;
      ended = true;
      // Shut TLS down properly (close_notify) before the TCP connection goes,
      // as the spec asks; destroy anyway if the peer never lets it finish.
      if (!sock.destroyed) {
        const t = setTimeout(() => sock.destroy(), 5000);
        Deno.unrefTimer(t);
        sock.end(() => {
          clearTimeout(t);
          sock.destroy();
        });
      }
      wake();
    },
  };
}
