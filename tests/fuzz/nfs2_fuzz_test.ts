// Fuzzing NFSv2: mutated arguments and results straight into the generated
// decoders, and mutated calls of every procedure against a live server over
// a small MemFs. The corpus is valid encodings made with the generated
// encoders, with real handles and names for the live server; mutations are
// _fuzz.ts's (flipped bits, cuts, extensions, edge values in aligned words).
// Bounded by count and by time. Set NETFS_FUZZ_SEED to replay a run.
//
// Failing means: a decoder throwing anything but XdrError; from the server,
// an RPC-level SYSTEM_ERR, an NFSERR_IO from an unexpected exception (the
// program logs those), a reply that does not decode, or a server that no
// longer answers NULL and GETATTR afterwards.
import assert from "node:assert/strict";
import { RpcClient } from "../../rpc/client.ts";
import { serveRpc } from "../../rpc/server.ts";
import { type XdrReader, XdrWriter } from "../../rpc/xdr.ts";
import * as P from "../../proto/nfs2/mod.ts";
import { ExportTable } from "../../server/exports.ts";
import { mountPrograms } from "../../server/mount.ts";
import { nfs2Program } from "../../server/nfs2/program.ts";
import { encodeDirpath } from "../../proto/mount.ts";
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

const CODEC_INPUTS = fuzzRecords(20_000);
const CALLS = fuzzRecords(20_000);
const TIME_LIMIT_MS = fuzzMs(10_000);
const IN_FLIGHT = 32;

const UNSET = 0xffffffff;
const TIME = { seconds: 1_700_000_000, useconds: 5 };
const SATTR: P.sattr = {
  mode: 0o100644,
  uid: UNSET,
  gid: UNSET,
  size: 3,
  atime: TIME,
  mtime: { seconds: UNSET, useconds: UNSET },
};
const FATTR: P.fattr = {
  type: P.ftype.NFREG,
  mode: 0o100644,
  nlink: 1,
  uid: 0,
  gid: 0,
  size: 5,
  blocksize: 512,
  rdev: 0,
  blocks: 1,
  fsid: 1,
  fileid: 7,
  atime: TIME,
  mtime: TIME,
  ctime: TIME,
};

function encoded<T>(fn: (w: XdrWriter, v: T) => void, v: T): Uint8Array {
  const w = new XdrWriter();
  fn(w, v);
  return w.bytes().slice();
}

/** Valid arguments of each procedure, for handles `dir` and `file`. */
function calls(dir: Uint8Array, file: Uint8Array): [number, Uint8Array][] {
  const where = { dir, name: "f" };
  const cookie = new Uint8Array([0, 0, 0, 3]);
  return [
    [P.NFSPROC_GETATTR, encoded(P.encode_fhandle, file)],
    [
      P.NFSPROC_SETATTR,
      encoded(P.encode_sattrargs, { file, attributes: SATTR }),
    ],
    [P.NFSPROC_LOOKUP, encoded(P.encode_diropargs, where)],
    [P.NFSPROC_READLINK, encoded(P.encode_fhandle, file)],
    [
      P.NFSPROC_READ,
      encoded(P.encode_readargs, {
        file,
        offset: 0,
        count: 100,
        totalcount: 0,
      }),
    ],
    [
      P.NFSPROC_WRITE,
      encoded(P.encode_writeargs, {
        file,
        beginoffset: 0,
        offset: 2,
        totalcount: 0,
        data: new Uint8Array([1, 2, 3, 4, 5]),
      }),
    ],
    [
      P.NFSPROC_CREATE,
      encoded(P.encode_createargs, {
        where: { dir, name: "new" },
        attributes: SATTR,
      }),
    ],
    [P.NFSPROC_REMOVE, encoded(P.encode_diropargs, { dir, name: "new" })],
    [
      P.NFSPROC_RENAME,
      encoded(P.encode_renameargs, {
        from: where,
        to: { dir, name: "g" },
      }),
    ],
    [
      P.NFSPROC_LINK,
      encoded(P.encode_linkargs, { from: file, to: { dir, name: "h" } }),
    ],
    [
      P.NFSPROC_SYMLINK,
      encoded(P.encode_symlinkargs, {
        from: { dir, name: "l" },
        to: "f",
        attributes: SATTR,
      }),
    ],
    [
      P.NFSPROC_MKDIR,
      encoded(P.encode_createargs, {
        where: { dir, name: "d" },
        attributes: SATTR,
      }),
    ],
    [P.NFSPROC_RMDIR, encoded(P.encode_diropargs, { dir, name: "d" })],
    [
      P.NFSPROC_READDIR,
      encoded(P.encode_readdirargs, { dir, cookie, count: 1024 }),
    ],
    [P.NFSPROC_STATFS, encoded(P.encode_fhandle, dir)],
  ];
}

/** The decoder of each procedure's arguments and of its result. */
const DECODERS: Record<
  number,
  [(r: XdrReader) => unknown, (r: XdrReader) => unknown]
> = {
  [P.NFSPROC_GETATTR]: [P.decode_fhandle, P.decode_attrstat],
  [P.NFSPROC_SETATTR]: [P.decode_sattrargs, P.decode_attrstat],
  [P.NFSPROC_LOOKUP]: [P.decode_diropargs, P.decode_diropres],
  [P.NFSPROC_READLINK]: [P.decode_fhandle, P.decode_readlinkres],
  [P.NFSPROC_READ]: [P.decode_readargs, P.decode_readres],
  [P.NFSPROC_WRITE]: [P.decode_writeargs, P.decode_attrstat],
  [P.NFSPROC_CREATE]: [P.decode_createargs, P.decode_diropres],
  [P.NFSPROC_REMOVE]: [P.decode_diropargs, P.decode_nfsstat],
  [P.NFSPROC_RENAME]: [P.decode_renameargs, P.decode_nfsstat],
  [P.NFSPROC_LINK]: [P.decode_linkargs, P.decode_nfsstat],
  [P.NFSPROC_SYMLINK]: [P.decode_symlinkargs, P.decode_nfsstat],
  [P.NFSPROC_MKDIR]: [P.decode_createargs, P.decode_diropres],
  [P.NFSPROC_RMDIR]: [P.decode_diropargs, P.decode_nfsstat],
  [P.NFSPROC_READDIR]: [P.decode_readdirargs, P.decode_readdirres],
  [P.NFSPROC_STATFS]: [P.decode_fhandle, P.decode_statfsres],
};

/** Valid results of every shape. */
function results(): Uint8Array[] {
  const fh = new Uint8Array(32).fill(1);
  const cookie = new Uint8Array([0, 0, 0, 9]);
  return [
    encoded(P.encode_attrstat, { status: P.nfsstat.NFS_OK, attributes: FATTR }),
    encoded(P.encode_attrstat, { status: P.nfsstat.NFSERR_STALE }),
    encoded(P.encode_diropres, {
      status: P.nfsstat.NFS_OK,
      diropres: { file: fh, attributes: FATTR },
    }),
    encoded(P.encode_readlinkres, { status: P.nfsstat.NFS_OK, data: "a/b" }),
    encoded(P.encode_readres, {
      status: P.nfsstat.NFS_OK,
      reply: { attributes: FATTR, data: new Uint8Array(40).fill(7) },
    }),
    encoded(P.encode_readdirres, {
      status: P.nfsstat.NFS_OK,
      readdirok: {
        entries: [
          { fileid: 1, name: ".", cookie },
          { fileid: 2, name: "file", cookie },
          { fileid: 3, name: "other.txt", cookie },
        ],
        eof: true,
      },
    }),
    encoded(P.encode_statfsres, {
      status: P.nfsstat.NFS_OK,
      info: { tsize: 8192, bsize: 4096, blocks: 10, bfree: 5, bavail: 4 },
    }),
    encoded(P.encode_fhstatus, { status: 0, directory: fh }),
    encoded(P.encode_nfsstat, P.nfsstat.NFSERR_NOENT),
  ];
}

Deno.test("nfs2 fuzz: mutated arguments and results only ever give XdrError", () => {
  const r = rng(SEED);
  const fh = new Uint8Array(32).fill(2);
  const seeds = [...calls(fh, fh).map(([, b]) => b), ...results()];
  const decoders = [
    ...Object.values(DECODERS).flat(),
    P.decode_fhstatus,
  ];
  const { inputs: n, decoded, refused } = throughDecoders(r, seeds, decoders, {
    count: CODEC_INPUTS,
    ms: TIME_LIMIT_MS,
  });
  console.log(`nfs2 fuzz: ${n} inputs through ${decoders.length} decoders`);
  assert.ok(n >= 1000, `at least 1000 inputs in time (${n}, seed ${SEED})`);
  assert.ok(
    decoded > 0 && refused > 0,
    `both outcomes seen: ${decoded} decoded, ${refused} refused`,
  );
});

Deno.test(`nfs2 fuzz: ${CALLS} mutated calls to a live server (seed ${SEED})`, async () => {
  const fs = new MemFs();
  const f = await fs.create(ROOT, fs.root, "f");
  await fs.write(ROOT, f.fileid, 0, new TextEncoder().encode("hello"));
  await fs.mkdir(ROOT, fs.root, "sub");
  await fs.symlink(ROOT, fs.root, "link", "f");
  const exports = new ExportTable([{ path: "/", fs, squash: "none" }]);
  const faults = new LineSink();
  const server = serveRpc({
    port: 0,
    log: () => {},
    programs: [
      ...mountPrograms({ exports, versions: [1] }),
      nfs2Program({ exports, log: faults.log }),
    ],
  });
  const client = await RpcClient.connect({
    hostname: "127.0.0.1",
    port: server.addr.port,
    auth: { stamp: 1, machineName: "fuzz", uid: 0, gid: 0, gids: [] },
  });
  try {
    const mnt = P.decode_fhstatus(
      await client.call(100005, 1, 1, (w) => encodeDirpath(w, "/")),
    );
    assert.ok("directory" in mnt);
    const root = mnt.directory;
    const found = P.decode_diropres(
      await client.call(
        P.NFS_PROGRAM,
        2,
        P.NFSPROC_LOOKUP,
        (w) => P.encode_diropargs(w, { dir: root, name: "f" }),
      ),
    );
    assert.ok(found.status === P.nfsstat.NFS_OK);
    const seeds = calls(root, found.diropres.file);
    const bytes = seeds.map(([, b]) => b);
    const r = rng(SEED ^ 0x2222);
    const counts: CallCounts = { ok: 0, garbage: 0 };
    const one = async () => {
      // Mostly a procedure's own arguments, mutated; sometimes another's.
      const [proc, base] = seeds[r.int(seeds.length)];
      const input = r.next() < 0.8 ? mutate(r, [base]) : mutate(r, bytes);
      await mutatedCall(
        client,
        { program: P.NFS_PROGRAM, version: 2, procedure: proc },
        input,
        DECODERS[proc][1],
        counts,
      );
    };
    const sent = await pipelined(one, {
      count: CALLS,
      ms: TIME_LIMIT_MS,
      inFlight: IN_FLIGHT,
    });
    console.log(
      `nfs2 fuzz: ${sent} calls, ${counts.ok} answered, ${counts.garbage} GARBAGE_ARGS`,
    );
    assert.deepEqual(faults.kept, [], "no unexpected exception in the server");
    assert.ok(sent >= 1000, `at least 1000 calls in time (${sent})`);
    assert.ok(counts.ok > 0 && counts.garbage > 0, JSON.stringify(counts));
    // Still serving.
    assert.equal(
      (await client.call(P.NFS_PROGRAM, 2, P.NFSPROC_NULL, () => {})).remaining,
      0,
    );
    const g = P.decode_attrstat(
      await client.call(
        P.NFS_PROGRAM,
        2,
        P.NFSPROC_GETATTR,
        (w) => P.encode_fhandle(w, root),
      ),
    );
    assert.equal(g.status, P.nfsstat.NFS_OK);
  } finally {
    client.close();
    await client.closed;
    await server.shutdown();
  }
});
