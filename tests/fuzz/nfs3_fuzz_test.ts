// Fuzzing NFSv3 and MOUNT v3: mutated arguments and results straight into
// the decoders, and mutated calls of every procedure against a live server
// over a small MemFs. The corpus is valid encodings made with proto/'s
// encoders, with real handles and names for the live server; mutations are
// _fuzz.ts's. Bounded by count and by time (NETFS_FUZZ_RECORDS and
// NETFS_FUZZ_SECONDS, as `deno task fuzz` sets them). Set NETFS_FUZZ_SEED to
// replay a run.
//
// Failing means: a decoder throwing anything but XdrError; from the server,
// an RPC-level SYSTEM_ERR, an unexpected exception logged by the program, a
// reply that does not decode, or a server that no longer answers afterwards.
import assert from "node:assert/strict";
import { RpcClient } from "../../rpc/client.ts";
import { serveRpc } from "../../rpc/server.ts";
import { type XdrReader, XdrWriter } from "../../rpc/xdr.ts";
import * as M from "../../proto/mount.ts";
import * as P from "../../proto/nfs3.ts";
import { ExportTable } from "../../server/exports.ts";
import { mountProgram } from "../../server/mount.ts";
import { nfs3Program } from "../../server/nfs3/program.ts";
import { MemFs } from "../../vfs/memfs.ts";
import { ROOT } from "../../vfs/types.ts";
import {
  type CallCounts,
  fuzzMs,
  fuzzRecords,
  LineSink,
  mutate,
  mutatedCall,
  pipelined,
  rng,
  SEED,
  throughDecoders,
} from "./_fuzz.ts";

const CODEC_INPUTS = fuzzRecords(10_000);
const CALLS = fuzzRecords(20_000);
const TIME_LIMIT_MS = fuzzMs(10_000);
const IN_FLIGHT = 32;
const MOUNT = 100005;

const T = { sec: 1_700_000_000, nsec: 5 };
const ATTRS: P.Fattr3 = {
  type: 1,
  mode: 0o644,
  nlink: 1,
  uid: 0,
  gid: 0,
  size: 5,
  used: 4096,
  rdev: { major: 0, minor: 0 },
  fsid: 1,
  fileid: 7,
  atime: T,
  mtime: T,
  ctime: T,
};
const WCC: P.WccData = {
  before: { size: 5, mtime: T, ctime: T },
  after: ATTRS,
};
const SATTR: P.Sattr3 = { mode: 0o644, size: 3, atime: "server", mtime: T };
const VERF = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);

function encoded<T>(fn: (w: XdrWriter, v: T) => void, v: T): Uint8Array {
  const w = new XdrWriter();
  fn(w, v);
  return w.bytes().slice();
}

type Call = [program: number, procedure: number, args: Uint8Array];

/** Valid arguments of each NFSv3 and MOUNT v3 procedure. */
function calls(dir: Uint8Array, file: Uint8Array): Call[] {
  const nfs = (proc: number, b: Uint8Array): Call => [P.NFS_PROGRAM, proc, b];
  const where = { dir, name: "f" };
  return [
    nfs(P.Nfs3Proc.GETATTR, encoded(P.encodeFhArgs, { object: file })),
    nfs(
      P.Nfs3Proc.SETATTR,
      encoded(P.encodeSetattrArgs, { object: file, attrs: SATTR, guard: T }),
    ),
    nfs(P.Nfs3Proc.LOOKUP, encoded(P.encodeDirOpArgs, where)),
    nfs(
      P.Nfs3Proc.ACCESS,
      encoded(P.encodeAccessArgs, { object: file, access: 0x3f }),
    ),
    nfs(P.Nfs3Proc.READLINK, encoded(P.encodeFhArgs, { object: file })),
    nfs(
      P.Nfs3Proc.READ,
      encoded(P.encodeReadArgs, { file, offset: 0, count: 100 }),
    ),
    nfs(
      P.Nfs3Proc.WRITE,
      encoded(P.encodeWriteArgs, {
        file,
        offset: 2,
        count: 3,
        stable: 0,
        data: new Uint8Array([1, 2, 3]),
      }),
    ),
    nfs(
      P.Nfs3Proc.CREATE,
      encoded(P.encodeCreateArgs, { dir, name: "new", mode: 0, attrs: SATTR }),
    ),
    nfs(
      P.Nfs3Proc.CREATE,
      encoded(P.encodeCreateArgs, { dir, name: "ex", mode: 2, verf: VERF }),
    ),
    nfs(
      P.Nfs3Proc.MKDIR,
      encoded(P.encodeMkdirArgs, { dir, name: "d", attrs: SATTR }),
    ),
    nfs(
      P.Nfs3Proc.SYMLINK,
      encoded(P.encodeSymlinkArgs, { dir, name: "l", attrs: {}, target: "f" }),
    ),
    nfs(
      P.Nfs3Proc.MKNOD,
      encoded(P.encodeMknodArgs, { dir, name: "p", type: 7, attrs: {} }),
    ),
    nfs(P.Nfs3Proc.REMOVE, encoded(P.encodeDirOpArgs, { dir, name: "new" })),
    nfs(P.Nfs3Proc.RMDIR, encoded(P.encodeDirOpArgs, { dir, name: "d" })),
    nfs(
      P.Nfs3Proc.RENAME,
      encoded(P.encodeRenameArgs, {
        fromDir: dir,
        fromName: "f",
        toDir: dir,
        toName: "g",
      }),
    ),
    nfs(
      P.Nfs3Proc.LINK,
      encoded(P.encodeLinkArgs, { file, dir, name: "h" }),
    ),
    nfs(
      P.Nfs3Proc.READDIR,
      encoded(P.encodeReaddirArgs, {
        dir,
        cookie: 0n,
        cookieverf: new Uint8Array(8),
        count: 1024,
      }),
    ),
    nfs(
      P.Nfs3Proc.READDIRPLUS,
      encoded(P.encodeReaddirplusArgs, {
        dir,
        cookie: 0n,
        cookieverf: new Uint8Array(8),
        dircount: 512,
        maxcount: 4096,
      }),
    ),
    nfs(P.Nfs3Proc.FSSTAT, encoded(P.encodeFhArgs, { object: dir })),
    nfs(P.Nfs3Proc.FSINFO, encoded(P.encodeFhArgs, { object: dir })),
    nfs(P.Nfs3Proc.PATHCONF, encoded(P.encodeFhArgs, { object: dir })),
    nfs(
      P.Nfs3Proc.COMMIT,
      encoded(P.encodeCommitArgs, { file, offset: 0, count: 0 }),
    ),
    [MOUNT, M.MountProc.MNT, encoded(M.encodeDirpath, "/")],
    [MOUNT, M.MountProc.UMNT, encoded(M.encodeDirpath, "/")],
    [MOUNT, M.MountProc.DUMP, new Uint8Array(0)],
    [MOUNT, M.MountProc.EXPORT, new Uint8Array(0)],
  ];
}

type Decode = (r: XdrReader) => unknown;

/** The decoder of each NFSv3 procedure's arguments and of its result. */
const NFS: Record<number, [Decode, Decode]> = {
  [P.Nfs3Proc.GETATTR]: [P.decodeFhArgs, P.decodeGetattrRes],
  [P.Nfs3Proc.SETATTR]: [P.decodeSetattrArgs, P.decodeWccRes],
  [P.Nfs3Proc.LOOKUP]: [P.decodeDirOpArgs, P.decodeLookupRes],
  [P.Nfs3Proc.ACCESS]: [P.decodeAccessArgs, P.decodeAccessRes],
  [P.Nfs3Proc.READLINK]: [P.decodeFhArgs, P.decodeReadlinkRes],
  [P.Nfs3Proc.READ]: [P.decodeReadArgs, P.decodeReadRes],
  [P.Nfs3Proc.WRITE]: [(r) => P.decodeWriteArgs(r), P.decodeWriteRes],
  [P.Nfs3Proc.CREATE]: [P.decodeCreateArgs, P.decodeCreateRes],
  [P.Nfs3Proc.MKDIR]: [P.decodeMkdirArgs, P.decodeCreateRes],
  [P.Nfs3Proc.SYMLINK]: [P.decodeSymlinkArgs, P.decodeCreateRes],
  [P.Nfs3Proc.MKNOD]: [P.decodeMknodArgs, P.decodeCreateRes],
  [P.Nfs3Proc.REMOVE]: [P.decodeDirOpArgs, P.decodeWccRes],
  [P.Nfs3Proc.RMDIR]: [P.decodeDirOpArgs, P.decodeWccRes],
  [P.Nfs3Proc.RENAME]: [P.decodeRenameArgs, P.decodeRenameRes],
  [P.Nfs3Proc.LINK]: [P.decodeLinkArgs, P.decodeLinkRes],
  [P.Nfs3Proc.READDIR]: [P.decodeReaddirArgs, P.decodeReaddirRes],
  [P.Nfs3Proc.READDIRPLUS]: [P.decodeReaddirplusArgs, P.decodeReaddirplusRes],
  [P.Nfs3Proc.FSSTAT]: [P.decodeFhArgs, P.decodeFsstatRes],
  [P.Nfs3Proc.FSINFO]: [P.decodeFhArgs, P.decodeFsinfoRes],
  [P.Nfs3Proc.PATHCONF]: [P.decodeFhArgs, P.decodePathconfRes],
  [P.Nfs3Proc.COMMIT]: [P.decodeCommitArgs, P.decodeCommitRes],
};

/** The decoder of each MOUNT v3 procedure's result. */
const MOUNT_RESULTS: Record<number, Decode> = {
  [M.MountProc.MNT]: M.decodeMntRes,
  [M.MountProc.UMNT]: (r) => r.remaining,
  [M.MountProc.DUMP]: M.decodeMountList,
  [M.MountProc.EXPORT]: M.decodeExports,
};

/** Valid results of every shape. */
function results(): Uint8Array[] {
  const fh = new Uint8Array(32).fill(1);
  return [
    encoded(P.encodeGetattrRes, { status: 0, attrs: ATTRS }),
    encoded(P.encodeWccRes, { status: 0, wcc: WCC }),
    encoded(P.encodeLookupRes, {
      status: 0,
      object: fh,
      objAttrs: ATTRS,
      dirAttrs: ATTRS,
    }),
    encoded(P.encodeReadRes, {
      status: 0,
      attrs: ATTRS,
      eof: true,
      data: new Uint8Array(40).fill(7),
    }),
    encoded(P.encodeWriteRes, {
      status: 0,
      wcc: WCC,
      count: 3,
      committed: 2,
      verf: VERF,
    }),
    encoded(P.encodeCreateRes, {
      status: 0,
      object: fh,
      attrs: ATTRS,
      dirWcc: WCC,
    }),
    encoded(P.encodeReaddirplusRes, {
      status: 0,
      dirAttrs: ATTRS,
      cookieverf: VERF,
      entries: [{ fileid: 5, name: "x", cookie: 3n, attrs: ATTRS, handle: fh }],
      eof: true,
    }),
    encoded(P.encodeReaddirRes, {
      status: 0,
      dirAttrs: ATTRS,
      cookieverf: VERF,
      entries: [{ fileid: 5, name: "x", cookie: 3n }],
      eof: false,
    }),
    encoded(M.encodeMntRes, { status: 0, handle: fh, flavors: [0, 1] }),
    encoded(M.encodeMountList, [{ hostname: "h", directory: "/" }]),
    encoded(M.encodeExports, [{ dir: "/", groups: ["10.0.0.0/8"] }]),
  ];
}

Deno.test(`nfs3 fuzz: mutated arguments and results only ever give XdrError (seed ${SEED})`, () => {
  const r = rng(SEED ^ 0x3333);
  const fh = new Uint8Array(32).fill(2);
  const seeds = [...calls(fh, fh).map(([, , b]) => b), ...results()];
  const decoders = [
    ...Object.values(NFS).flat(),
    ...Object.values(MOUNT_RESULTS),
    M.decodeDirpath,
  ];
  const { inputs: n, decoded, refused } = throughDecoders(r, seeds, decoders, {
    count: CODEC_INPUTS,
    ms: TIME_LIMIT_MS,
  });
  console.log(`nfs3 fuzz: ${n} inputs through ${decoders.length} decoders`);
  assert.ok(n >= 1000, `at least 1000 inputs in time (${n}, seed ${SEED})`);
  assert.ok(
    decoded > 0 && refused > 0,
    `both outcomes seen: ${decoded} decoded, ${refused} refused`,
  );
});

Deno.test(`nfs3 fuzz: ${CALLS} mutated NFSv3 and MOUNT calls to a live server (seed ${SEED})`, async () => {
  const fs = new MemFs({ capacityBytes: 32 << 20 });
  const f = await fs.create(ROOT, fs.root, "f");
  await fs.write(ROOT, f.fileid, 0, new TextEncoder().encode("hello"));
  await fs.mkdir(ROOT, fs.root, "sub");
  await fs.symlink(ROOT, fs.root, "link", "f");
  const exports = new ExportTable([{ path: "/", fs, squash: "none" }]);
  const faults = new LineSink();
  const server = serveRpc({
    port: 0,
    log: faults.log,
    programs: [
      mountProgram({ exports }),
      nfs3Program({ exports, log: faults.log }),
    ],
  });
  const client = await RpcClient.connect({
    hostname: "127.0.0.1",
    port: server.addr.port,
    auth: { stamp: 1, machineName: "fuzz", uid: 0, gid: 0, gids: [] },
  });
  try {
    const mnt = M.decodeMntRes(
      await client.call(MOUNT, 3, 1, (w) => M.encodeDirpath(w, "/")),
    );
    assert.equal(mnt.status, 0);
    const root = mnt.handle!;
    const found = P.decodeLookupRes(
      await client.call(
        P.NFS_PROGRAM,
        3,
        P.Nfs3Proc.LOOKUP,
        (w) => P.encodeDirOpArgs(w, { dir: root, name: "f" }),
      ),
    );
    assert.ok(found.status === 0 && found.object !== undefined);
    const seeds = calls(root, found.object);
    const bytes = seeds.map(([, , b]) => b);
    const r = rng(SEED ^ 0x4444);
    const started = performance.now();
    const counts: CallCounts = { ok: 0, garbage: 0 };
    const one = async () => {
      // Mostly a procedure's own arguments, mutated; sometimes another's.
      const [prog, proc, base] = seeds[r.int(seeds.length)];
      const input = r.next() < 0.8 ? mutate(r, [base]) : mutate(r, bytes);
      const decode = prog === MOUNT ? MOUNT_RESULTS[proc] : NFS[proc][1];
      await mutatedCall(
        client,
        { program: prog, version: 3, procedure: proc },
        input,
        decode,
        counts,
      );
    };
    const sent = await pipelined(one, {
      count: CALLS,
      ms: TIME_LIMIT_MS,
      inFlight: IN_FLIGHT,
    });
    console.log(
      `nfs3 fuzz: ${sent} calls, ${counts.ok} answered, ${counts.garbage} GARBAGE_ARGS in ${
        Math.round(performance.now() - started)
      } ms`,
    );
    assert.deepEqual(faults.kept, [], "no unexpected exception in the server");
    assert.ok(sent >= 1000, `at least 1000 calls in time (${sent})`);
    assert.ok(counts.ok > 0 && counts.garbage > 0, JSON.stringify(counts));
    // Still serving.
    await client.call(P.NFS_PROGRAM, 3, P.Nfs3Proc.NULL, () => {});
    const g = P.decodeGetattrRes(
      await client.call(
        P.NFS_PROGRAM,
        3,
        P.Nfs3Proc.GETATTR,
        (w) => P.encodeFhArgs(w, { object: root }),
      ),
    );
    assert.equal(g.status, 0);
  } finally {
    client.close();
    await client.closed;
    await server.shutdown();
  }
});
