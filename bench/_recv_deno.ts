// A bare Deno receiver of RPC records for bench/seqio_bench.ts --floor:
// each record is read whole into one reused buffer (with one read when the
// client has sent it all) and answered with an empty record. What
// receiving a 1 MiB WRITE costs in Deno with nothing of netfs in it.
//
//   deno run --allow-net=127.0.0.1 bench/_recv_deno.ts --port PORT
import { parseArgs } from "node:util";

const { values } = parseArgs({
  args: Deno.args,
  options: { port: { type: "string", default: "11111" } },
});
const listener = Deno.listen({
  hostname: "127.0.0.1",
  port: Number(values.port),
});
const EMPTY_RECORD = new Uint8Array([0x80, 0, 0, 0]);
for await (const conn of listener) {
  conn.setNoDelay(true);
  void (async () => {
    const buf = new Uint8Array(8 << 20);
    const view = new DataView(buf.buffer);
    let have = 0;
    try {
      for (;;) {
        while (have < 4 || have < 4 + (view.getUint32(0) & 0x7fffffff)) {
          const n = await conn.read(buf.subarray(have));
          if (n === null) return;
          have += n;
        }
        // One call at a time: nothing follows the record.
        have = 0;
        await conn.write(EMPTY_RECORD);
      }
    } catch { /* the client hung up */ }
  })();
}
