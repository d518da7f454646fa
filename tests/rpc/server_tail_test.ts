import assert from "node:assert/strict";
import { RpcClient } from "../../rpc/client.ts";
import { decodeReplyHeader } from "../../rpc/message.ts";
import { procedure } from "../../rpc/program.ts";
import { serveRpc } from "../../rpc/server.ts";
import { XdrReader } from "../../rpc/xdr.ts";
import { callRecord, RawConn, TEST_PROG, testProgram } from "./_helpers.ts";

// Replies whose data a handler passes to opaqueRef go out as two writes
// (the reply buffer, then the data where it lies): every byte must arrive
// whole, in order, between small replies that are joined into batches.

function pattern(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 13 + seed) & 0xff;
  return out;
}

const BIG = 1 << 20;
const blobs = [0, 1, 2, 3].map((s) => pattern(BIG, s));

function program() {
  return testProgram(1, {
    // A row whose encode passes the data by reference, as READ's does.
    5: procedure({
      name: "BLOB",
      decode: (args) => ({ which: args.u32(), size: args.u32() }),
      run: async ({ which, size }) => {
        await new Promise((r) => setTimeout(r, which % 3));
        return { which, data: blobs[which % 4].subarray(0, size) };
      },
      encode: (reply, res) => void reply.u32(res.which).opaqueRef(res.data),
    }),
    // The raw escape hatch does the same by hand.
    6: {
      name: "BLOB_ONCE",
      cached: true,
      handler: (args, reply) => {
        const size = args.u32();
        reply.opaqueRef(blobs[1].subarray(0, size));
      },
    },
  });
}

Deno.test("server: large opaqueRef replies arrive whole among small ones", async () => {
  const server = serveRpc({ port: 0, log: () => {}, programs: [program()] });
  const client = await RpcClient.connect({
    hostname: "127.0.0.1",
    port: server.addr.port,
  });
  try {
    const calls: Promise<void>[] = [];
    // Sizes above and below the by-reference threshold, aligned or not.
    const sizes = [BIG, 65536, 65537, 4096, 200_000, 3, 0, BIG - 4];
    for (let i = 0; i < 64; i++) {
      const size = sizes[i % sizes.length];
      calls.push(
        client.call(TEST_PROG, 1, 5, (w) => w.u32(i).u32(size)).then((r) => {
          assert.equal(r.u32(), i);
          const got = r.opaque(BIG);
          r.end();
          assert.equal(got.length, size);
          assert.deepEqual(got, blobs[i % 4].subarray(0, size), `call ${i}`);
        }),
      );
      calls.push(
        client.call(TEST_PROG, 1, 2, (w) => w.u32(0).u32(1000 + i)).then(
          (r) => assert.equal(r.u32(), 1000 + i),
        ),
      );
    }
    await Promise.all(calls);
  } finally {
    client.close();
    await client.closed;
    await server.shutdown();
  }
});

Deno.test("server: the duplicate-request cache replays an opaqueRef reply whole", async () => {
  const server = serveRpc({ port: 0, log: () => {}, programs: [program()] });
  const c = await RawConn.open(server.addr);
  try {
    const size = 128 * 1024;
    const replies: Uint8Array[] = [];
    for (let i = 0; i < 2; i++) {
      await c.send(callRecord({ xid: 42, procedure: 6 }, (w) => w.u32(size)));
      const rec = await c.next();
      assert.ok(rec);
      replies.push(rec);
    }
    assert.deepEqual(replies[1], replies[0], "the replay is the same record");
    const r = new XdrReader(replies[1]);
    assert.equal(decodeReplyHeader(r).xid, 42);
    assert.deepEqual(r.opaque(BIG), blobs[1].subarray(0, size));
    r.end();
  } finally {
    c.close();
    await server.shutdown();
  }
});
