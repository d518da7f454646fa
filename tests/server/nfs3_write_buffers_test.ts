// A WRITE's data is a view of its RPC record, and the RPC server reuses a
// large record's storage for a later call once the WRITE has settled
// (rpc/record.ts RecordPool, Procedure.borrowsArgs). These tests pipeline
// 1 MiB WRITEs through a file system that holds on to `data` across an await
// before copying it, as a back end writing from a thread pool does: a record
// handed back before the write settled would put the next call's bytes in
// the file.
import assert from "node:assert/strict";
import { RpcClient } from "../../rpc/client.ts";
import { serveRpc } from "../../rpc/server.ts";
import type { XdrReader, XdrWriter } from "../../rpc/xdr.ts";
import * as P from "../../proto/nfs3.ts";
import { Nfs3Proc as Proc, NFS_PROGRAM } from "../../proto/nfs3.ts";
import {
  decodeMntRes,
  encodeDirpath,
  MOUNT_PROGRAM,
} from "../../proto/mount.ts";
import { mountProgram } from "../../server/mount.ts";
import { nfs3Program } from "../../server/nfs3/program.ts";
import { MemFs } from "../../vfs/memfs.ts";
import { ROOT } from "../../vfs/mod.ts";
import { PassthroughFs } from "../../vfs/passthrough.ts";
import type {
  Attributes,
  CreateOptions,
  Credentials,
  FileId,
  FileSystem,
} from "../../vfs/types.ts";
import { exportTable, sys } from "./_harness.ts";
import { pattern, SlowWrites } from "./_slow_writes.ts";

const MiB = 1 << 20;

Deno.test("nfs3 WRITE: pipelined 1 MiB writes through a file system that keeps data until it settles land whole", async () => {
  await pipelinedWrites(MiB, 8);
});

// A small WRITE's record is copied out of the receive buffer into storage
// the record pool takes back once the call is answered.
Deno.test("nfs3 WRITE: pipelined 4 KiB writes through a file system that keeps data until it settles land whole", async () => {
  await pipelinedWrites(4096, 32);
});

/**
 * Runs `body` with a client of an NFSv3 server over `fs` and the handle of
 * its mounted root, then closes both.
 */
async function mounted(
  fs: FileSystem,
  body: (client: RpcClient, root: Uint8Array) => Promise<void>,
): Promise<void> {
  const exports = exportTable(fs);
  const server = serveRpc({
    port: 0,
    programs: [
      mountProgram({ exports }),
      nfs3Program({ exports, log: () => {} }),
    ],
    log: () => {},
  });
  const client = await RpcClient.connect({
    hostname: "127.0.0.1",
    port: server.addr.port,
    auth: sys(0),
  });
  try {
    const mnt = decodeMntRes(
      await client.call(MOUNT_PROGRAM, 3, 1, (w) => encodeDirpath(w, "/")),
    );
    await body(client, mnt.handle!);
  } finally {
    client.close();
    await client.closed;
    await server.shutdown();
  }
}

/** Two rounds of `inFlight` WRITEs of `size` bytes each, then the file checked. */
async function pipelinedWrites(size: number, inFlight: number): Promise<void> {
  const fs = new SlowWrites(new MemFs());
  await mounted(fs, async (client, root) => {
    const call = async <T>(
      proc: number,
      enc: (w: XdrWriter) => void,
      dec: (r: XdrReader) => T,
    ) => {
      const r = await client.call(NFS_PROGRAM, 3, proc, enc);
      const v = dec(r);
      r.end();
      return v;
    };
    const made = await call(
      Proc.CREATE,
      (w) =>
        P.encodeCreateArgs(w, {
          dir: root,
          name: "big.bin",
          mode: P.CreateMode.UNCHECKED,
          attrs: { mode: 0o644 },
        }),
      P.decodeCreateRes,
    );
    const file = made.object!;
    // `inFlight` WRITEs at once, two rounds: the second round's records
    // are read while the first round's writes still wait.
    const blocks = Array.from(
      { length: 2 * inFlight },
      (_, i) => pattern(size, i),
    );
    for (let round = 0; round < 2; round++) {
      const replies = await Promise.all(
        blocks.slice(round * inFlight, (round + 1) * inFlight).map((data, k) =>
          call(
            Proc.WRITE,
            (w) =>
              P.encodeWriteArgs(w, {
                file,
                offset: (round * inFlight + k) * size,
                count: size,
                stable: P.StableHow.UNSTABLE,
                data,
              }),
            P.decodeWriteRes,
          )
        ),
      );
      for (const r of replies) assert.equal(r.status, 0);
    }
    const id = (await fs.lookup(ROOT, fs.root, "big.bin")).fileid;
    for (const [i, expected] of blocks.entries()) {
      const got = await fs.read(ROOT, id, i * size, size);
      assert.ok(
        got.data.length === size && got.data.every((b, k) => b === expected[k]),
        `block ${i} must hold its own WRITE's bytes, not a later call's`,
      );
    }
  });
}

/** Creates only after a timer, so that creates overlap. */
class SlowCreates extends PassthroughFs {
  override async create(
    cred: Credentials,
    dir: FileId,
    name: string,
    options?: CreateOptions,
  ): Promise<Attributes> {
    await new Promise((r) => setTimeout(r, 5));
    return await super.create(cred, dir, name, options);
  }
}

// CREATE borrows its record too: its verifier is read after the file system
// answers, while later calls' records (from the same pool) are being read.
Deno.test("nfs3 CREATE EXCLUSIVE: pipelined creates remember each its own verifier", async () => {
  await mounted(new SlowCreates(new MemFs()), async (client, root) => {
    const create = async (k: number, verifier: number) => {
      const r = await client.call(
        NFS_PROGRAM,
        3,
        Proc.CREATE,
        (w) =>
          P.encodeCreateArgs(w, {
            dir: root,
            name: `file-${k}`,
            mode: P.CreateMode.EXCLUSIVE,
            verf: new Uint8Array(8).fill(verifier),
          }),
      );
      const v = P.decodeCreateRes(r);
      r.end();
      return v;
    };
    const n = 24;
    const first = await Promise.all(
      Array.from({ length: n }, (_, k) => create(k, k + 1)),
    );
    for (const r of first) assert.equal(r.status, 0);
    // Resent with its verifier (new xids: not the reply cache): the same
    // file; with the next call's verifier: another create, EXIST.
    const again = await Promise.all(
      Array.from({ length: n }, (_, k) => create(k, k + 1)),
    );
    const other = await Promise.all(
      Array.from({ length: n }, (_, k) => create(k, k + 2)),
    );
    for (let k = 0; k < n; k++) {
      assert.equal(again[k].status, 0, `file-${k} with its own verifier`);
      assert.deepEqual(again[k].object, first[k].object);
      assert.equal(other[k].status, 17, `file-${k} with another verifier`);
    }
  });
});
