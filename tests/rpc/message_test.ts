import assert from "node:assert/strict";
import {
  authSysCredential,
  checkCredentials,
  decodeAuthSys,
  encodeAuthSys,
} from "../../rpc/auth.ts";
import { DuplicateRequestCache } from "../../rpc/drc.ts";
import {
  AcceptStat,
  AUTH_NONE_OPAQUE,
  AuthStat,
  decodeCallHeader,
  decodeReplyHeader,
  encodeAcceptedReply,
  encodeAuthError,
  encodeCallHeader,
  encodeOpaqueAuth,
  encodeRpcMismatch,
} from "../../rpc/message.ts";
import { XdrError, XdrReader, XdrWriter } from "../../rpc/xdr.ts";

const sys = {
  stamp: 7,
  machineName: "host",
  uid: 1000,
  gid: 100,
  gids: [1, 2],
};

Deno.test("message: call header round-trip with AUTH_SYS", () => {
  const w = new XdrWriter();
  const cred = authSysCredential(sys);
  encodeCallHeader(w, {
    xid: 0xffffffff,
    program: 100003,
    version: 3,
    procedure: 1,
    cred,
  });
  w.u32(99);
  const r = new XdrReader(w.bytes());
  const h = decodeCallHeader(r);
  assert.equal(h.xid, 0xffffffff);
  assert.equal(h.rpcVersion, 2);
  assert.equal(h.program, 100003);
  assert.equal(h.cred.flavor, 1);
  assert.deepEqual(decodeAuthSys(h.cred.body), sys);
  assert.equal(h.verf, AUTH_NONE_OPAQUE);
  assert.equal(r.u32(), 99, "reader left at the arguments");
});

Deno.test("message: call header refuses replies, overruns and big auth bodies", () => {
  const reply = new XdrWriter();
  encodeAcceptedReply(reply, 1, AcceptStat.SUCCESS);
  assert.throws(
    () => decodeCallHeader(new XdrReader(reply.bytes())),
    /Not a call/,
  );
  const w = new XdrWriter();
  encodeCallHeader(w, { xid: 1, program: 1, version: 1, procedure: 1 });
  const whole = w.bytes();
  for (let cut = 0; cut < whole.length; cut += 4) {
    assert.throws(
      () => decodeCallHeader(new XdrReader(whole.subarray(0, cut))),
      XdrError,
    );
  }
  const big = new XdrWriter().u32(1).u32(0).u32(2).u32(1).u32(1).u32(1);
  big.u32(1).opaque(new Uint8Array(401)).u32(0).u32(0);
  assert.throws(
    () => decodeCallHeader(new XdrReader(big.bytes())),
    /exceeds maximum 400/,
  );
  assert.throws(
    () =>
      encodeOpaqueAuth(new XdrWriter(), {
        flavor: 1,
        body: new Uint8Array(401),
      }),
    /Auth body too long/,
  );
});

Deno.test("message: every reply shape round-trips", () => {
  for (let stat = 0; stat <= 5; stat++) {
    const w = new XdrWriter();
    encodeAcceptedReply(w, 10 + stat, stat, { low: 2, high: 4 });
    const h = decodeReplyHeader(new XdrReader(w.bytes()));
    assert.equal(h.xid, 10 + stat);
    assert.ok(h.replyStat === 0 && h.acceptStat === stat);
    if (stat === AcceptStat.PROG_MISMATCH) {
      assert.equal(h.low, 2);
      assert.equal(h.high, 4);
    } else {assert.equal(
        w.length,
        24,
        "no mismatch info except for PROG_MISMATCH",
      );}
  }
  const m = new XdrWriter();
  encodeRpcMismatch(m, 3);
  const hm = decodeReplyHeader(new XdrReader(m.bytes()));
  assert.ok(
    hm.replyStat === 1 && hm.rejectStat === 0 && hm.low === 2 && hm.high === 2,
  );
  for (let a = 1; a <= 14; a++) {
    const e = new XdrWriter();
    encodeAuthError(e, 4, a);
    const he = decodeReplyHeader(new XdrReader(e.bytes()));
    assert.ok(he.replyStat === 1 && he.rejectStat === 1 && he.authStat === a);
  }
  // Invalid discriminants.
  for (const bad of [[1, 1, 2], [1, 1, 0, 0, 0, 9], [1, 1, 1, 7], [1, 0]]) {
    const w = new XdrWriter();
    for (const v of bad) w.u32(v);
    assert.throws(
      () => decodeReplyHeader(new XdrReader(w.bytes())),
      XdrError,
      String(bad),
    );
  }
});

Deno.test("auth: AUTH_SYS limits at the edges", () => {
  const at = (name: number, gids: number) => {
    const w = new XdrWriter();
    w.u32(0).opaque(new Uint8Array(name).fill(120)).u32(0).u32(0);
    w.array(new Array(gids).fill(5), (x, g) => x.u32(g));
    return w.bytes();
  };
  assert.equal(decodeAuthSys(at(255, 16)).machineName.length, 255);
  assert.equal(decodeAuthSys(at(255, 16)).gids.length, 16);
  assert.throws(() => decodeAuthSys(at(256, 0)), /exceeds maximum 255/);
  assert.throws(() => decodeAuthSys(at(0, 17)), /exceeds maximum 16/);
  assert.throws(
    () => decodeAuthSys(new Uint8Array([...at(1, 1), 0, 0, 0, 0])),
    /Trailing/,
  );
  assert.throws(
    () =>
      encodeAuthSys(new XdrWriter(), { ...sys, machineName: "x".repeat(256) }),
    /too long/,
  );
  assert.throws(
    () =>
      encodeAuthSys(new XdrWriter(), { ...sys, gids: new Array(17).fill(0) }),
    /Too many groups/,
  );
  // A machine name that is not UTF-8 is still accepted (it is only for logs).
  const latin1 = new XdrWriter().u32(0).opaque(new Uint8Array([0xe9])).u32(1)
    .u32(1).u32(0);
  assert.equal(decodeAuthSys(latin1.bytes()).uid, 1);
});

Deno.test("auth: flavour policy", () => {
  const none = AUTH_NONE_OPAQUE;
  assert.deepEqual(checkCredentials(none, none), { flavor: 0 });
  const ok = checkCredentials(authSysCredential(sys), none);
  assert.ok(typeof ok === "object" && ok.flavor === 1 && ok.sys.uid === 1000);
  const body = new Uint8Array(8);
  assert.equal(
    checkCredentials({ flavor: 0, body }, none),
    AuthStat.AUTH_BADCRED,
  );
  assert.equal(
    checkCredentials({ flavor: 1, body }, none),
    AuthStat.AUTH_BADCRED,
  );
  assert.equal(
    checkCredentials({ flavor: 2, body }, none),
    AuthStat.AUTH_REJECTEDCRED,
  );
  assert.equal(
    checkCredentials({ flavor: 3, body }, none),
    AuthStat.AUTH_BADCRED,
  );
  assert.equal(
    checkCredentials({ flavor: 6, body }, none),
    AuthStat.AUTH_BADCRED,
  );
  assert.equal(
    checkCredentials({ flavor: 390003, body }, none),
    AuthStat.AUTH_BADCRED,
  );
  assert.equal(
    checkCredentials(none, { flavor: 1, body: new Uint8Array(0) }),
    AuthStat.AUTH_BADVERF,
  );
  assert.equal(
    checkCredentials(none, { flavor: 0, body }),
    AuthStat.AUTH_BADVERF,
  );
});

Deno.test("drc: in progress, done, evicted, expired", () => {
  const drc = new DuplicateRequestCache({ entries: 2, ttlMs: 100 });
  const k = (xid: number) =>
    DuplicateRequestCache.key({ hostname: "::1", port: 700 }, {
      xid,
      program: 1,
      version: 1,
      procedure: 1,
    });
  assert.equal(drc.begin(k(1), 0), undefined);
  assert.equal(drc.begin(k(1), 1), null);
  drc.finish(k(1), new Uint8Array([1]));
  assert.deepEqual(drc.begin(k(1), 2), new Uint8Array([1]));
  assert.equal(drc.begin(k(2), 3), undefined);
  assert.equal(drc.begin(k(3), 4), undefined); // evicts 1
  assert.equal(drc.size, 2);
  assert.equal(drc.begin(k(1), 5), undefined);
  assert.equal(drc.begin(k(2), 200), undefined, "expired");
  drc.forget(k(2));
  assert.equal(drc.size, 0);
  assert.equal(drc.begin(k(9), 201), undefined);
  assert.equal(drc.size, 1);
  assert.notEqual(
    DuplicateRequestCache.key({ hostname: "::1", port: 700 }, {
      xid: 1,
      program: 1,
      version: 1,
      procedure: 1,
    }),
    DuplicateRequestCache.key({ hostname: "::2", port: 700 }, {
      xid: 1,
      program: 1,
      version: 1,
      procedure: 1,
    }),
    "another client address is another call",
  );
});
