// The RPC server judges credentials (RFC 5531) and hands decoded AUTH_SYS
// credentials to procedures, reusing a decode only while the bytes match.
import assert from "node:assert/strict";
import { authSysCredential } from "../../rpc/auth.ts";
import { RpcClient } from "../../rpc/client.ts";
import { AcceptStat, AuthStat, RejectStat } from "../../rpc/message.ts";
import { serveRpc } from "../../rpc/server.ts";
import { XdrWriter } from "../../rpc/xdr.ts";
import {
  accepted,
  callRecord,
  quietLog,
  RawConn,
  rawRecord,
  reply,
  TEST_PROG,
  testProgram,
} from "./_helpers.ts";

Deno.test("server: credentials are judged per RFC 5531", async () => {
  const server = serveRpc({
    port: 0,
    log: quietLog(),
    programs: [testProgram()],
  });
  const c = await RawConn.open(server.addr);
  const sysBody = (f: (w: XdrWriter) => void) => {
    const w = new XdrWriter();
    f(w);
    return { flavor: 1, body: w.bytes().slice() };
  };
  const cases: [string, Parameters<typeof callRecord>[0], number][] = [
    [
      "machine name of 256 bytes",
      {
        xid: 1,
        cred: sysBody((w) =>
          w.u32(0).opaque(new Uint8Array(256).fill(97)).u32(0).u32(0).u32(0)
        ),
      },
      AuthStat.AUTH_BADCRED,
    ],
    [
      "17 groups",
      {
        xid: 2,
        cred: sysBody((w) =>
          w.u32(0).string("h").u32(0).u32(0).array(
            new Array(17).fill(1),
            (x, g) => x.u32(g),
          )
        ),
      },
      AuthStat.AUTH_BADCRED,
    ],
    [
      "trailing bytes after authsys_parms",
      {
        xid: 3,
        cred: sysBody((w) => w.u32(0).string("h").u32(0).u32(0).u32(0).u32(99)),
      },
      AuthStat.AUTH_BADCRED,
    ],
    [
      "AUTH_NONE with a body",
      { xid: 4, cred: { flavor: 0, body: new Uint8Array(4) } },
      AuthStat.AUTH_BADCRED,
    ],
    [
      "AUTH_SHORT",
      { xid: 5, cred: { flavor: 2, body: new Uint8Array(8) } },
      AuthStat.AUTH_REJECTEDCRED,
    ],
    [
      "AUTH_DH",
      { xid: 6, cred: { flavor: 3, body: new Uint8Array(8) } },
      AuthStat.AUTH_BADCRED,
    ],
    [
      "RPCSEC_GSS",
      { xid: 7, cred: { flavor: 6, body: new Uint8Array(20) } },
      AuthStat.AUTH_BADCRED,
    ],
    [
      "AUTH_SYS with a non-null verifier",
      {
        xid: 8,
        cred: authSysCredential({
          stamp: 1,
          machineName: "h",
          uid: 1,
          gid: 1,
          gids: [],
        }),
        verf: { flavor: 1, body: new Uint8Array(4) },
      },
      AuthStat.AUTH_BADVERF,
    ],
  ];
  try {
    for (const [what, init, stat] of cases) {
      await c.send(callRecord(init));
      const [h] = await reply(c);
      assert.equal(h.xid, init.xid, what);
      assert.equal(h.replyStat, 1, what);
      if (h.replyStat === 1) {
        assert.equal(h.rejectStat, RejectStat.AUTH_ERROR, what);
        assert.equal(h.authStat, stat, what);
      }
    }
    // A credential body over 400 bytes cannot even be decoded: AUTH_BADCRED.
    const w = new XdrWriter();
    w.u32(20).u32(0).u32(2).u32(TEST_PROG).u32(1).u32(0);
    w.u32(1).u32(401).fixedOpaque(new Uint8Array(401)).u32(0).u32(0);
    await c.send(rawRecord(w.bytes()));
    const [h] = await reply(c);
    assert.equal(h.xid, 20);
    assert.ok(h.replyStat === 1 && h.authStat === AuthStat.AUTH_BADCRED);
    // A good AUTH_SYS call reaches the handler with its credentials.
    await c.send(callRecord({
      xid: 21,
      procedure: 0,
      cred: authSysCredential({
        stamp: 9,
        machineName: "client.example",
        uid: 1000,
        gid: 100,
        gids: [100, 27],
      }),
    }));
    const [ok] = await reply(c);
    accepted(ok, AcceptStat.SUCCESS);
  } finally {
    c.close();
    await server.shutdown();
  }
});

Deno.test("server: run sees decoded AUTH_SYS credentials and addresses", async () => {
  let seen: unknown;
  const server = serveRpc({
    port: 0,
    log: quietLog(),
    programs: [testProgram(1, {
      5: {
        name: "WHO",
        run: (_a, call) => {
          seen = call;
        },
      },
    })],
  });
  const client = await RpcClient.connect({
    hostname: "127.0.0.1",
    port: server.addr.port,
    auth: { stamp: 3, machineName: "m1", uid: 501, gid: 20, gids: [20, 12] },
  });
  try {
    await client.call(TEST_PROG, 1, 5, () => {});
    const ctx = seen as {
      auth: { flavor: number; sys: { uid: number; gids: number[] } };
      remote: Deno.NetAddr;
      local: Deno.NetAddr;
      procedure: number;
    };
    assert.equal(ctx.auth.flavor, 1);
    assert.equal(ctx.auth.sys.uid, 501);
    assert.deepEqual(ctx.auth.sys.gids, [20, 12]);
    assert.equal(ctx.remote.port, client.localAddr.port);
    assert.equal(ctx.local.port, server.addr.port);
    assert.equal(ctx.procedure, 5);
  } finally {
    client.close();
    await client.closed;
    await server.shutdown();
  }
});

Deno.test("server: AUTH_SYS decodes are reused per connection only while the bytes match", async () => {
  const seen: unknown[] = [];
  const server = serveRpc({
    port: 0,
    log: quietLog(),
    programs: [testProgram(1, {
      5: {
        name: "WHO",
        handler: (_a, reply, ctx) => {
          seen.push(ctx.auth);
          if (ctx.auth.flavor === 1) reply.u32(ctx.auth.sys.uid);
        },
      },
      6: {
        name: "MUTATE",
        handler: (_a, _r, ctx) => {
          if (ctx.auth.flavor === 1) ctx.auth.sys.gids.push(0);
        },
      },
    })],
  });
  const c = await RawConn.open(server.addr);
  const who = async (xid: number, uid: number) => {
    const cred = authSysCredential({
      stamp: 1,
      machineName: "m",
      uid,
      gid: 1,
      gids: [1],
    });
    await c.send(callRecord({ xid, procedure: 5, cred }));
    const [h, r] = await reply(c);
    accepted(h, AcceptStat.SUCCESS);
    return r.u32();
  };
  try {
    assert.equal(await who(1, 10), 10);
    assert.equal(await who(2, 10), 10);
    assert.equal(seen[0], seen[1], "same bytes, same decoded object");
    assert.equal(await who(3, 11), 11);
    assert.equal(await who(4, 10), 10);
    assert.notEqual(seen[2], seen[3]);
    // Shared credentials are frozen: a handler cannot change them for others.
    await c.send(callRecord({
      xid: 5,
      procedure: 6,
      cred: authSysCredential({
        stamp: 1,
        machineName: "m",
        uid: 10,
        gid: 1,
        gids: [1],
      }),
    }));
    accepted((await reply(c))[0], AcceptStat.SYSTEM_ERR);
    assert.equal(await who(6, 10), 10);
  } finally {
    c.close();
    await server.shutdown();
  }
});
