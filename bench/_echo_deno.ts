// A bare Deno TCP echo server for bench/rtt_bench.ts: what a round trip
// costs in Deno with nothing of netfs in it (one read, one write per call).
//
//   deno run --allow-net=127.0.0.1 bench/_echo_deno.ts PORT
const listener = Deno.listen({
  hostname: "127.0.0.1",
  port: Number(Deno.args[0]),
});
for await (const conn of listener) {
  conn.setNoDelay(true);
  void (async () => {
    const buf = new Uint8Array(65536);
    try {
      for (;;) {
        const n = await conn.read(buf);
        if (n === null) break;
        let at = 0;
        while (at < n) at += await conn.write(buf.subarray(at, n));
      }
    } catch { /* the client hung up */ }
    conn.close();
  })();
}
