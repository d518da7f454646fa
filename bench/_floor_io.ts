// The socket plumbing the bare Deno floor servers share
// (bench/_nbd_floor_deno.ts, bench/_nfs_floor_deno.ts): nothing of netfs,
// only reading and writing whole buffers and a listener on 127.0.0.1.

/** Reads exactly `into.length` bytes, or answers false at end of stream. */
export async function readFull(
  conn: Deno.Conn,
  into: Uint8Array,
): Promise<boolean> {
  let at = 0;
  while (at < into.length) {
    const n = await conn.read(into.subarray(at));
    if (n === null) return false;
    at += n;
  }
  return true;
}

/** Writes all of `bytes`. */
export async function writeAll(
  conn: Deno.Conn,
  bytes: Uint8Array,
): Promise<void> {
  let at = 0;
  while (at < bytes.length) at += await conn.write(bytes.subarray(at));
}

/**
 * Listens on 127.0.0.1:`port` and runs `serve` on each connection, closing
 * it when `serve` ends or throws. Never returns.
 */
export async function serveEach(
  port: number,
  serve: (conn: Deno.TcpConn) => Promise<void>,
): Promise<void> {
  for await (const conn of Deno.listen({ hostname: "127.0.0.1", port })) {
    serve(conn).catch(() => {}).finally(() => {
      try {
        conn.close();
      } catch { /* closed */ }
    });
  }
}
