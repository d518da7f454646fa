// The duplicate-request cache as a state machine, and through the RPC server
// over real sockets: a retransmission on a NEW connection from the same
// client address gets the original reply.
import assert from "node:assert/strict";
import { DuplicateRequestCache } from "../../rpc/drc.ts";
import { RpcClient } from "../../rpc/client.ts";
import { serveRpc } from "../../rpc/server.ts";
import { TEST_PROG, testProgram } from "./_helpers.ts";

const call = (xid: number, args: number[] = [1, 2, 3, 4], procedure = 8) => ({
  xid,
  program: 100003,
  version: 3,
  procedure,
  args: new Uint8Array(args),
});
const local = (port: number) => ({ hostname: "127.0.0.1", port });

Deno.test("drc key: the client's port is not part of a call's identity", () => {
  assert.equal(
    DuplicateRequestCache.key(local(700), call(1)),
    DuplicateRequestCache.key(local(41000), call(1)),
    "a client resends from a new connection, hence a new port",
  );
});

Deno.test("drc key: address, xid, procedure and arguments each tell calls apart", () => {
  const base = DuplicateRequestCache.key(local(700), call(1));
  const others = [
    DuplicateRequestCache.key({ hostname: "127.0.0.2", port: 700 }, call(1)),
    DuplicateRequestCache.key(local(700), call(2)),
    DuplicateRequestCache.key(local(700), call(1, [1, 2, 3, 4], 12)),
    DuplicateRequestCache.key(local(700), call(1, [1, 2, 3, 5])),
    DuplicateRequestCache.key(local(700), call(1, [1, 2, 3, 4, 0, 0, 0, 0])),
    DuplicateRequestCache.key(local(700), call(1, [])),
  ];
  for (const k of others) {
    assert.notEqual(k, base, `${k} must differ from ${base}`);
  }
  assert.equal(new Set(others).size, others.length, "all pairwise distinct");
});

Deno.test("drc follow: a retransmission from another origin gets the reply when it is done", async () => {
  const drc = new DuplicateRequestCache();
  assert.equal(drc.begin("k", 0, 1), undefined);
  assert.equal(drc.begin("k", 1, 2), null, "still running");
  assert.equal(drc.follow("k", 1), undefined, "same origin: dropped");
  const later = drc.follow("k", 2);
  assert.ok(later instanceof Promise, "another origin waits");
  const reply = new Uint8Array([7]);
  drc.finish("k", reply);
  assert.equal(await later, reply);
  assert.equal(
    drc.follow("k", 3),
    undefined,
    "done: begin answers, not follow",
  );
  assert.equal(drc.follow("absent", 3), undefined);
});

Deno.test("drc follow: forgetting, evicting or expiring a running call answers undefined", async () => {
  const drc = new DuplicateRequestCache({ entries: 1, ttlMs: 100 });
  drc.begin("a", 0, 1);
  const forgotten = drc.follow("a", 2)!;
  drc.forget("a");
  assert.equal(await forgotten, undefined);
  drc.begin("b", 0, 1);
  const evicted = drc.follow("b", 2)!;
  drc.begin("c", 0, 1); // one entry only: "b" goes
  assert.equal(await evicted, undefined);
  const expired = drc.follow("c", 2)!;
  drc.begin("d", 100, 1); // "c" is 100 ms old
  assert.equal(await expired, undefined);
  assert.equal(drc.size, 1);
});

/** A server whose procedure 7 counts its runs, waiting at `gate` if set. */
function counting() {
  let runs = 0;
  let gate: Promise<void> | null = null;
  const server = serveRpc({
    port: 0,
    log: () => {},
    programs: [testProgram(1, {
      7: {
        name: "CREATE",
        cached: true,
        handler: async (args, reply) => {
          const tag = args.u32();
          const n = ++runs;
          if (gate !== null) await gate;
          reply.u32(tag);
          reply.u32(n);
        },
      },
    })],
  });
  const connect = () =>
    RpcClient.connect({ hostname: "127.0.0.1", port: server.addr.port });
  const create = async (c: RpcClient, xid: number, tag: number) => {
    const r = await c.call(TEST_PROG, 1, 7, (w) => w.u32(tag), { xid });
    return [r.u32(), r.u32()];
  };
  return {
    server,
    connect,
    create,
    get runs() {
      return runs;
    },
    hold(p: Promise<void> | null) {
      gate = p;
    },
  };
}

Deno.test("server drc: a call resent on a new connection gets the original reply", async () => {
  const t = counting();
  const a = await t.connect();
  const first = await t.create(a, 0x1234, 5);
  const aPort = a.localAddr.port;
  a.close();
  await a.closed;
  const b = await t.connect();
  try {
    assert.notEqual(b.localAddr.port, aPort, "a new connection");
    assert.deepEqual(await t.create(b, 0x1234, 5), first, "the original reply");
    assert.equal(t.runs, 1, "the call ran once");
    assert.deepEqual(
      await t.create(b, 0x1234, 6),
      [6, 2],
      "the same xid with other arguments is another call",
    );
    assert.deepEqual(await t.create(b, 0x1235, 5), [5, 3], "a new xid runs");
  } finally {
    b.close();
    await t.server.shutdown();
  }
});

Deno.test("server drc: a resend on a new connection while the original runs waits for its reply", async () => {
  const t = counting();
  const gate = Promise.withResolvers<void>();
  t.hold(gate.promise);
  const a = await t.connect();
  const lost = t.create(a, 99, 1).catch((e) => e);
  while (t.runs === 0) await new Promise((r) => setTimeout(r, 2));
  a.close(); // the connection breaks while the call runs
  await lost;
  const b = await t.connect();
  try {
    const resent = t.create(b, 99, 1);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(t.runs, 1, "the resend did not run");
    gate.resolve();
    assert.deepEqual(await resent, [1, 1], "answered with the original reply");
    assert.equal(t.runs, 1);
  } finally {
    b.close();
    await t.server.shutdown();
  }
});

Deno.test("drc bytes: the oldest replies go once the bytes held pass maxBytes", () => {
  const drc = new DuplicateRequestCache({ entries: 100, maxBytes: 1000 });
  for (const key of ["a", "b", "c"]) {
    assert.equal(drc.begin(key, 0), undefined);
    drc.finish(key, new Uint8Array(400));
  }
  // a + b + c = 1200 bytes: "a", the oldest, went.
  assert.equal(drc.bytes, 800);
  assert.equal(drc.size, 2);
  assert.equal(drc.begin("a", 1), undefined, "evicted: runs again");
  assert.equal(drc.begin("b", 1)?.byteLength, 400, "kept: replayed");
  // A reply larger than the whole budget is not kept, nor is anything older.
  drc.finish("a", new Uint8Array(1001));
  assert.equal(drc.size, 0);
  assert.equal(drc.bytes, 0);
  // Forgetting and expiring give the bytes back.
  drc.begin("d", 2);
  drc.finish("d", new Uint8Array(10));
  drc.forget("d");
  assert.equal(drc.bytes, 0);
  drc.begin("e", 3);
  drc.finish("e", new Uint8Array(10));
  drc.begin("f", 200_000); // past the default 120 s: "e" expires
  assert.equal(drc.bytes, 0);
  assert.equal(drc.size, 1);
});

Deno.test("drc ids: one xid for several calls is several entries, each evicted alone", () => {
  const drc = new DuplicateRequestCache({ entries: 3, ttlMs: 1000 });
  const id = (procedure: number, hostname = "127.0.0.1", port = 700) =>
    DuplicateRequestCache.id(
      { hostname, port },
      call(5, [1, 2, 3, 4], procedure),
    );
  const reply = (n: number) => new Uint8Array([n]);
  // Same xid: two procedures from one host, one from another host.
  for (const [i, k] of [id(8), id(12), id(8, "127.0.0.2")].entries()) {
    assert.equal(drc.begin(k, 0, 1), undefined, `call ${i} is new`);
    drc.finish(k, reply(i));
  }
  assert.equal(drc.size, 3);
  assert.equal(drc.bytes, 3);
  // Equal ids, new objects, another port: replayed, each its own reply.
  assert.deepEqual(drc.begin(id(8, "127.0.0.1", 41000), 1), reply(0));
  assert.deepEqual(drc.begin(id(12), 1), reply(1));
  assert.deepEqual(drc.begin(id(8, "127.0.0.2"), 1), reply(2));
  // Other arguments under the same xid: a fourth call, which evicts the
  // oldest (the first of the chain); the other two are still found.
  const other = DuplicateRequestCache.id(local(700), call(5, [9, 9, 9, 9]));
  assert.equal(drc.begin(other, 2), undefined);
  assert.equal(drc.size, 3);
  assert.equal(drc.bytes, 2);
  assert.equal(drc.begin(id(8), 3), undefined, "evicted: runs again");
  assert.equal(drc.size, 3, "and evicts the next oldest, id(12)");
  assert.equal(drc.begin(id(12), 3), undefined, "evicted in turn");
  assert.equal(drc.size, 3);
  assert.equal(drc.begin(other, 3), null, "still running");
  // A string key and an id never meet.
  assert.equal(
    drc.begin(DuplicateRequestCache.key(local(700), call(5, [9, 9, 9, 9])), 4),
    undefined,
  );
  // Everything expires by age, and the chains empty with it.
  drc.begin(id(1), 5000);
  assert.equal(drc.size, 1);
  assert.equal(drc.bytes, 0);
  assert.equal(drc.begin(other, 5000), undefined, "expired: runs again");
});

Deno.test("drc ids: follow and forget find an entry by an equal id", async () => {
  const drc = new DuplicateRequestCache();
  const k = () => DuplicateRequestCache.id(local(700), call(9));
  assert.equal(drc.begin(k(), 0, 1), undefined);
  const followed = drc.follow(k(), 2);
  assert.ok(followed !== undefined, "another origin follows");
  drc.finish(k(), new Uint8Array([4]));
  assert.deepEqual(await followed, new Uint8Array([4]));
  drc.forget(k());
  assert.equal(drc.size, 0);
  assert.equal(drc.bytes, 0);
  assert.equal(drc.begin(k(), 1), undefined, "forgotten: runs again");
});

Deno.test("drc finishCopy: the cache keeps a copy of head and tail, counted by its length", () => {
  const drc = new DuplicateRequestCache();
  const key = DuplicateRequestCache.id(local(700), call(1));
  drc.begin(key, 0);
  const head = new Uint8Array([1, 2, 3]);
  const tail = new Uint8Array([4, 5]);
  drc.finishCopy(key, head, tail);
  head.fill(9); // the caller's bytes go on being used
  tail.fill(9);
  assert.deepEqual(drc.begin(key, 1), new Uint8Array([1, 2, 3, 4, 5]));
  assert.equal(drc.bytes, 5, "the bound counts the reply's bytes");
});

Deno.test("drc finishCopy: an evicted reply nobody was given leaves its storage for the next of its size", () => {
  const drc = new DuplicateRequestCache({ entries: 1 });
  const ids = [1, 2, 3].map((x) =>
    DuplicateRequestCache.id(local(700), call(x))
  );
  drc.begin(ids[0], 0);
  drc.finishCopy(ids[0], new Uint8Array(200).fill(1));
  assert.equal(drc.spareBytes, 0);
  drc.begin(ids[1], 0); // evicts the first, whose reply nobody saw
  assert.equal(drc.spareBytes, 256, "its storage, in 64-byte steps, is spare");
  drc.finishCopy(ids[1], new Uint8Array(100).fill(2)); // another size
  assert.equal(drc.spareBytes, 256);
  drc.begin(ids[2], 0); // evicts the second
  assert.equal(drc.spareBytes, 256 + 128);
  drc.finishCopy(ids[2], new Uint8Array(193).fill(3)); // the first's size
  assert.equal(
    drc.spareBytes,
    128,
    "the first's storage holds the third reply",
  );
  assert.deepEqual(drc.begin(ids[2], 1), new Uint8Array(193).fill(3));
});

Deno.test("drc finishCopy: storage handed out by begin or follow is never reused", async () => {
  const drc = new DuplicateRequestCache({ entries: 1 });
  const ids = [1, 2, 3, 4].map((x) =>
    DuplicateRequestCache.id(local(700), call(x))
  );
  // Replayed: begin hands the bytes out.
  drc.begin(ids[0], 0);
  drc.finishCopy(ids[0], new Uint8Array(100).fill(1));
  const replayed = drc.begin(ids[0], 1)!;
  // Followed: a resend from another connection waits for the bytes.
  drc.begin(ids[1], 2, 1); // evicts ids[0]
  assert.equal(drc.spareBytes, 0, "a replayed reply's storage is not spare");
  const following = drc.follow(ids[1], 2)!;
  drc.finishCopy(ids[1], new Uint8Array(100).fill(2));
  const followed = (await following)!;
  drc.begin(ids[2], 3); // evicts ids[1]
  assert.equal(drc.spareBytes, 0, "a followed reply's storage is not spare");
  drc.finishCopy(ids[2], new Uint8Array(100).fill(3));
  drc.begin(ids[3], 4); // evicts ids[2], unseen
  drc.finishCopy(ids[3], new Uint8Array(100).fill(4));
  assert.deepEqual(replayed, new Uint8Array(100).fill(1));
  assert.deepEqual(followed, new Uint8Array(100).fill(2));
  assert.deepEqual(drc.begin(ids[3], 5), new Uint8Array(100).fill(4));
});

Deno.test("drc finishCopy: a reply given to finish is never reused", () => {
  const drc = new DuplicateRequestCache({ entries: 1 });
  const a = DuplicateRequestCache.id(local(700), call(1));
  drc.begin(a, 0);
  drc.finish(a, new Uint8Array(100));
  drc.begin(DuplicateRequestCache.id(local(700), call(2)), 0);
  assert.equal(drc.spareBytes, 0, "the caller's own bytes are not the cache's");
});

Deno.test("drc finishCopy: spare storage is bounded, and large replies are not kept for reuse", () => {
  const drc = new DuplicateRequestCache({ entries: 1 });
  for (let x = 0; x < 40; x++) {
    const id = DuplicateRequestCache.id(local(700), call(x));
    drc.begin(id, 0);
    // Each a new size, so none reuses another's storage.
    drc.finishCopy(id, new Uint8Array(64 * (x % 32) + 1));
  }
  drc.begin(DuplicateRequestCache.id(local(700), call(99)), 0);
  assert.ok(drc.spareBytes <= 64 * 1024, `spare ${drc.spareBytes}`);
  const big = DuplicateRequestCache.id(local(700), call(100));
  drc.begin(big, 0);
  drc.finishCopy(big, new Uint8Array(4096));
  assert.equal(drc.bytes, 4096);
  const spare = drc.spareBytes;
  drc.begin(DuplicateRequestCache.id(local(700), call(101)), 0);
  assert.equal(drc.spareBytes, spare, "a 4 KiB reply's storage is not kept");
});

Deno.test("drc finishCopy: when replies change size, the new size's storage displaces the old", () => {
  const drc = new DuplicateRequestCache({ entries: 600 });
  let xid = 0;
  const add = (size: number) => {
    const id = DuplicateRequestCache.id(local(700), call(xid++));
    drc.begin(id, 0);
    drc.finishCopy(id, new Uint8Array(size));
  };
  for (let i = 0; i < 600; i++) add(128); // a run of small replies
  for (let i = 0; i < 600; i++) add(256); // then of larger ones
  assert.equal(drc.spareBytes, 64 * 1024, "the small replies' storage");
  // A large reply evicted: its storage displaces two small ones', and the
  // next large reply is copied into it.
  add(256);
  assert.equal(drc.spareBytes, 64 * 1024 - 256);
});

Deno.test("drc finishCopy: maxBytes still bounds the replies held", () => {
  const drc = new DuplicateRequestCache({ entries: 100, maxBytes: 1000 });
  for (let x = 0; x < 10; x++) {
    const id = DuplicateRequestCache.id(local(700), call(x));
    drc.begin(id, 0);
    drc.finishCopy(id, new Uint8Array(300));
  }
  assert.equal(drc.bytes, 900);
  assert.equal(drc.size, 3);
});

Deno.test("drc order: forgetting an entry in the middle keeps the oldest-first order", () => {
  const drc = new DuplicateRequestCache({ entries: 3 });
  const ids = [1, 2, 3, 4, 5].map((x) =>
    DuplicateRequestCache.id(local(700), call(x))
  );
  for (const id of ids.slice(0, 3)) drc.begin(id, 0);
  drc.forget(ids[1]); // the middle one
  assert.equal(drc.size, 2);
  drc.begin(ids[3], 0); // 1, 3, 4: full, nothing evicted
  assert.equal(drc.size, 3);
  drc.begin(ids[4], 0); // evicts 1, the oldest
  assert.equal(drc.size, 3);
  assert.equal(drc.begin(ids[2], 0), null, "3 is still held (running)");
  assert.equal(drc.begin(ids[3], 0), null, "4 is still held");
  assert.equal(drc.begin(ids[0], 0), undefined, "1 was evicted: new again");
  // Held: 4, 5, 1 (3 evicted by 1). Forget the oldest and the newest.
  drc.forget(ids[3]);
  drc.forget(ids[0]);
  assert.equal(drc.size, 1);
  drc.begin(ids[1], 0);
  drc.begin(ids[2], 0); // 5, 2, 3: full
  assert.equal(drc.size, 3);
  drc.begin(ids[0], 0); // evicts 5, the oldest
  assert.equal(drc.begin(ids[1], 0), null, "2 is still held");
  assert.equal(drc.begin(ids[4], 0), undefined, "5 was evicted");
});
