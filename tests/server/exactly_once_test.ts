// Exactly once: NFSv3's non-idempotent procedures (CREATE EXCLUSIVE, REMOVE,
// RENAME, LINK), resent with the same xid on a NEW connection from the same
// client address, get the original reply from the duplicate-request cache
// and do not run again. Over real sockets with our RpcClient.
import assert from "node:assert/strict";
import { RpcClient } from "../../rpc/client.ts";
import type { XdrReader, XdrWriter } from "../../rpc/xdr.ts";
import { decodeMntRes, encodeDirpath } from "../../proto/mount.ts";
import {
  CreateMode,
  decodeCreateRes,
  decodeLinkRes,
  decodeLookupRes,
  decodeRenameRes,
  decodeWccRes,
  encodeCreateArgs,
  encodeDirOpArgs,
  encodeLinkArgs,
  encodeRenameArgs,
  Nfs3Proc,
  Nfs3Status,
} from "../../proto/nfs3.ts";
import { serveNfs } from "../../server/serve.ts";
import { MemFs } from "../../vfs/memfs.ts";
import { sys } from "./_harness.ts";

interface Session {
  root: Uint8Array;
  /** A fresh connection (a new source port). */
  connect(): Promise<RpcClient>;
  close(): Promise<void>;
}

async function session(): Promise<Session> {
  const fs = new MemFs();
  const server = serveNfs({
    port: 0,
    quiet: true,
    versions: [3],
    exports: [{ path: "/", fs, squash: "none" }],
  });
  const clients: RpcClient[] = [];
  const connect = async () => {
    const c = await RpcClient.connect({
      hostname: "127.0.0.1",
      port: server.addr.port,
      auth: sys(0),
    });
    clients.push(c);
    return c;
  };
  const m = await connect();
  const mnt = decodeMntRes(
    await m.call(100005, 3, 1, (w) => encodeDirpath(w, "/")),
  );
  assert.equal(mnt.status, 0);
  return {
    root: mnt.handle!,
    connect,
    async close() {
      for (const c of clients) c.close();
      await server.shutdown();
    },
  };
}

/** Calls NFSv3 `proc` with a chosen xid; the result bytes and decoded value. */
async function nfs<T>(
  c: RpcClient,
  xid: number,
  proc: number,
  enc: (w: XdrWriter) => void,
  dec: (r: XdrReader) => T,
): Promise<{ bytes: Uint8Array; res: T }> {
  const r = await c.call(100003, 3, proc, enc, { xid });
  const bytes = r.buf.slice(r.pos);
  return { bytes, res: dec(r) };
}

/** Sends on a first connection, closes it, resends on a second. */
async function resend<T>(
  s: Session,
  xid: number,
  proc: number,
  enc: (w: XdrWriter) => void,
  dec: (r: XdrReader) => T,
) {
  const a = await s.connect();
  const first = await nfs(a, xid, proc, enc, dec);
  const port = a.localAddr.port;
  a.close();
  await a.closed;
  const b = await s.connect();
  assert.notEqual(b.localAddr.port, port, "the resend uses a new connection");
  const again = await nfs(b, xid, proc, enc, dec);
  return { first, again, b };
}

async function create(s: Session, c: RpcClient, xid: number, name: string) {
  return (await nfs(c, xid, Nfs3Proc.CREATE, (w) =>
    encodeCreateArgs(w, {
      dir: s.root,
      name,
      mode: CreateMode.GUARDED,
      attrs: { mode: 0o644 },
    }), decodeCreateRes)).res;
}

async function lookup(s: Session, c: RpcClient, name: string) {
  return (await nfs(
    c,
    0,
    Nfs3Proc.LOOKUP,
    (w) => encodeDirOpArgs(w, { dir: s.root, name }),
    decodeLookupRes,
  )).res.status;
}

Deno.test("exactly once: CREATE EXCLUSIVE resent on a new connection gets the original reply", async () => {
  const s = await session();
  try {
    const verf = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);
    const args = (v: Uint8Array) => (w: XdrWriter) =>
      encodeCreateArgs(w, {
        dir: s.root,
        name: "excl",
        mode: CreateMode.EXCLUSIVE,
        verf: v,
      });
    const { first, again, b } = await resend(
      s,
      0x5000,
      Nfs3Proc.CREATE,
      args(verf),
      decodeCreateRes,
    );
    assert.equal(first.res.status, Nfs3Status.OK);
    // Byte for byte, wcc data included: had it run again, its pre-op
    // attributes would show the directory after the first create.
    assert.deepEqual(again.bytes, first.bytes, "the original reply");
    const other = await nfs(
      b,
      0x5000,
      Nfs3Proc.CREATE,
      args(new Uint8Array(8).fill(9)),
      decodeCreateRes,
    );
    assert.equal(
      other.res.status,
      Nfs3Status.EXIST,
      "same xid, other verifier: another call, which runs",
    );
  } finally {
    await s.close();
  }
});

Deno.test("exactly once: REMOVE resent on a new connection answers OK, not NOENT", async () => {
  const s = await session();
  try {
    const c = await s.connect();
    assert.equal((await create(s, c, 1, "doomed")).status, Nfs3Status.OK);
    const { first, again, b } = await resend(
      s,
      0x6000,
      Nfs3Proc.REMOVE,
      (w) => encodeDirOpArgs(w, { dir: s.root, name: "doomed" }),
      decodeWccRes,
    );
    assert.equal(first.res.status, Nfs3Status.OK);
    assert.equal(
      again.res.status,
      Nfs3Status.OK,
      "not NOENT: it did not run again",
    );
    assert.deepEqual(again.bytes, first.bytes);
    // A file of the same name made since is not removed by the replay.
    assert.equal((await create(s, b, 2, "doomed")).status, Nfs3Status.OK);
    const replay = await nfs(
      b,
      0x6000,
      Nfs3Proc.REMOVE,
      (w) => encodeDirOpArgs(w, { dir: s.root, name: "doomed" }),
      decodeWccRes,
    );
    assert.deepEqual(replay.bytes, first.bytes);
    assert.equal(await lookup(s, b, "doomed"), Nfs3Status.OK, "still there");
  } finally {
    await s.close();
  }
});

Deno.test("exactly once: RENAME resent on a new connection answers OK, not NOENT", async () => {
  const s = await session();
  try {
    const c = await s.connect();
    assert.equal((await create(s, c, 1, "old")).status, Nfs3Status.OK);
    const { first, again, b } = await resend(
      s,
      0x7000,
      Nfs3Proc.RENAME,
      (w) =>
        encodeRenameArgs(w, {
          fromDir: s.root,
          fromName: "old",
          toDir: s.root,
          toName: "new",
        }),
      decodeRenameRes,
    );
    assert.equal(first.res.status, Nfs3Status.OK);
    assert.equal(again.res.status, Nfs3Status.OK, "not NOENT");
    assert.deepEqual(again.bytes, first.bytes);
    assert.equal(await lookup(s, b, "old"), Nfs3Status.NOENT);
    assert.equal(await lookup(s, b, "new"), Nfs3Status.OK);
  } finally {
    await s.close();
  }
});

Deno.test("exactly once: LINK resent on a new connection answers OK, not EXIST", async () => {
  const s = await session();
  try {
    const c = await s.connect();
    const made = await create(s, c, 1, "target");
    assert.equal(made.status, Nfs3Status.OK);
    const file = made.status === 0 ? made.object! : new Uint8Array();
    const { first, again } = await resend(
      s,
      0x8000,
      Nfs3Proc.LINK,
      (w) => encodeLinkArgs(w, { file, dir: s.root, name: "alias" }),
      decodeLinkRes,
    );
    assert.equal(first.res.status, Nfs3Status.OK);
    assert.equal(again.res.status, Nfs3Status.OK, "not EXIST");
    assert.deepEqual(again.bytes, first.bytes);
    assert.equal(again.res.attrs?.nlink, 2, "linked once");
  } finally {
    await s.close();
  }
});
