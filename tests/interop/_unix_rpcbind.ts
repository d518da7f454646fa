// A stand-in rpcbind for nfs-ganesha in tests and benchmarks (_ganesha.ts
// starts it): it listens only on a unix socket (inside a private mount
// namespace, so the machine's rpcbind and port 111 are never touched) and
// answers every call "accepted, TRUE", which is all ganesha needs to
// register its programs.
//
//   deno run --allow-read --allow-write --allow-net=unix:/run/rpcbind.sock tests/interop/_unix_rpcbind.ts /run/rpcbind.sock
const path = Deno.args[0] ?? "/run/rpcbind.sock";
try {
  Deno.removeSync(path);
} catch { /* not there */ }
const listener = Deno.listen({ transport: "unix", path });
Deno.chmodSync(path, 0o666);

async function serve(conn: Deno.Conn): Promise<void> {
  const buf = new Uint8Array(65536);
  let have = 0;
  try {
    while (true) {
      const n = await conn.read(buf.subarray(have));
      if (n === null) return;
      have += n;
      // Answer each complete single-fragment record; rpcbind calls are small.
      while (have >= 4) {
        const mark = new DataView(buf.buffer).getUint32(0);
        const len = mark & 0x7fffffff;
        if (len > buf.length - 4) return;
        if (have < 4 + len) break;
        const reply = new Uint8Array(4 + 28);
        const v = new DataView(reply.buffer);
        v.setUint32(0, 0x80000000 | 28);
        reply.set(buf.subarray(4, 8), 4); // xid
        v.setUint32(8, 1); // REPLY
        // MSG_ACCEPTED, AUTH_NONE verifier, SUCCESS are zeros; then TRUE.
        v.setUint32(28, 1);
        await conn.write(reply);
        buf.copyWithin(0, 4 + len, have);
        have -= 4 + len;
      }
    }
  } catch {
    /* peer went away */
  } finally {
    try {
      conn.close();
    } catch { /* already closed */ }
  }
}

for await (const conn of listener) serve(conn);
