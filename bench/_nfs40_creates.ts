// The client of bench/create4_bench.ts: NFSv4.0 creates as the Linux
// client's create loop sends them, one at a time, over connections that
// each carry a bounded number of reply bytes (issue 16's Node peer breaks a
// connection's reply framing once its encoder's 64 KiB buffer fills).
//
// Per connection: SETCLIENTID and SETCLIENTID_CONFIRM (a fresh client ID;
// tests/server/nfs4/_clients.ts client40), then per file one COMPOUND
// PUTFH(dir) OPEN(CREATE, WRITE access) GETFH GETATTR (the kernel's
// attributes), OPEN_CONFIRM when the reply asks for it, and PUTFH CLOSE;
// one open-owner per client ID, its seqid carried from call to call.
import { cpuSeconds } from "./_bench_util.ts";
import type { NfsServer } from "./_nfs_servers.ts";
import { RpcClient } from "../rpc/client.ts";
import type { AuthSysParms } from "../rpc/program.ts";
import {
  type COMPOUND4res,
  createmode4,
  decode_COMPOUND4res,
  encode_COMPOUND4args,
  type nfs_argop4,
  nfs_opnum4 as OP,
  OPEN4_RESULT_CONFIRM,
} from "../proto/nfs4/mod.ts";
import type { Nfs4Harness } from "../tests/server/nfs4/_harness.ts";
import {
  b,
  client40,
  fhOf,
  ok,
  openArgs,
  resultOf,
} from "../tests/server/nfs4/_clients.ts";
import { fattr, getattr, walk } from "../tests/server/nfs4/_fsops.ts";

const AUTH: AuthSysParms = {
  stamp: 0,
  machineName: "bench",
  uid: 0,
  gid: 0,
  gids: [],
};

/** The GETATTR the Linux client sends after an OPEN (nfs4_fattr_bitmap). */
const OPEN_GETATTR = getattr(
  "type",
  "change",
  "size",
  "fsid",
  "fileid",
  "mode",
  "numlinks",
  "owner",
  "owner_group",
  "rawdev",
  "space_used",
  "time_access",
  "time_metadata",
  "time_modify",
  "mounted_on_fileid",
);

/** One connection with a confirmed 4.0 client ID. */
interface Conn {
  rpc: RpcClient;
  clientid: bigint;
  /** Reply bytes received so far (record marks included). */
  bytes: number;
  calls: number;
  compound(ops: nfs_argop4[]): Promise<COMPOUND4res>;
}

/** Options of {@link createFiles}. */
export interface CreateOptions {
  /** Files to create ("f-0" …) in a new directory `dirName` of the root. */
  files: number;
  dirName: string;
  /** Reply bytes after which a connection is not used for another create. */
  budget: number;
  /** Per-call timeout (ms): a stalled server fails the pass. */
  timeoutMs: number;
  /** OPEN's create mode. */
  guarded: boolean;
}

/** What a pass of {@link createFiles} measured. */
export interface CreatePass {
  /** Wall time of the creates only (connection set-up left out). */
  seconds: number;
  /** Server CPU seconds over the creates only. */
  cpu: number;
  /** This process's (the client's) CPU seconds over the creates. */
  clientCpu: number;
  /** Reply bytes of the creates (record marks included). */
  bytes: number;
  /** RPCs the creates made. */
  calls: number;
  connections: number;
  /** Most reply bytes one connection received. */
  maxConnBytes: number;
  /** Creates whose OPEN asked for OPEN_CONFIRM. */
  confirms: number;
}

let serial = 0;

async function connect(
  srv: NfsServer,
  timeoutMs: number,
): Promise<Conn> {
  const rpc = await RpcClient.connect({
    hostname: "127.0.0.1",
    port: srv.port,
    auth: AUTH,
    timeoutMs,
  });
  const c: Conn = {
    rpc,
    clientid: 0n,
    bytes: 0,
    calls: 0,
    async compound(argarray) {
      const r = await rpc.call(100003, 4, 1, (w) =>
        encode_COMPOUND4args(w, {
          tag: new Uint8Array(0),
          minorversion: 0,
          argarray,
        }));
      c.bytes += r.buf.byteLength + 4;
      c.calls++;
      return decode_COMPOUND4res(r);
    },
  };
  try {
    const h = { compound: c.compound } as unknown as Nfs4Harness;
    c.clientid = await client40(
      h,
      `create4-${srv.name}-${Deno.pid}-${serial++}`,
      AUTH,
      { verifier: crypto.getRandomValues(new Uint8Array(8)) },
    );
  } catch (e) {
    rpc.close();
    throw e;
  }
  return c;
}

/** The handle of a new directory `name` in the export's root. */
async function makeDir(c: Conn, srv: NfsServer, name: string) {
  const res = ok(
    await c.compound([
      ...walk(srv.exportPath),
      {
        argop: OP.OP_CREATE,
        opcreate: {
          objtype: { type: 2 }, // NF4DIR
          objname: b(name),
          createattrs: fattr({ mode: 0o755 }),
        },
      } as nfs_argop4,
      { argop: OP.OP_GETFH },
    ]),
    `CREATE ${name}`,
  );
  return fhOf(res);
}

/** One create: OPEN (and OPEN_CONFIRM if asked), then CLOSE. */
async function createOne(
  c: Conn,
  dir: Uint8Array,
  name: string,
  seqid: { next: number },
  guarded: boolean,
): Promise<boolean> {
  const res = ok(
    await c.compound([
      { argop: OP.OP_PUTFH, opputfh: { object: dir } },
      openArgs(name, {
        clientid: c.clientid,
        owner: "bench",
        seqid: seqid.next++,
        access: 2, // OPEN4_SHARE_ACCESS_WRITE
        how: {
          mode: guarded ? createmode4.GUARDED4 : createmode4.UNCHECKED4,
          createattrs: fattr({ mode: 0o644 }),
        },
      }),
      { argop: OP.OP_GETFH },
      OPEN_GETATTR,
    ]),
    `OPEN ${name}`,
  );
  const open = resultOf(res, OP.OP_OPEN).opopen;
  if (open.status !== 0) throw new Error(`OPEN ${name}: ${open.status}`);
  const fh = fhOf(res);
  let stateid = open.resok4.stateid;
  const confirm = (open.resok4.rflags & OPEN4_RESULT_CONFIRM) !== 0;
  if (confirm) {
    const conf = ok(
      await c.compound([
        { argop: OP.OP_PUTFH, opputfh: { object: fh } },
        {
          argop: OP.OP_OPEN_CONFIRM,
          opopen_confirm: { open_stateid: stateid, seqid: seqid.next++ },
        },
      ]),
      `OPEN_CONFIRM ${name}`,
    );
    const r = resultOf(conf, OP.OP_OPEN_CONFIRM).opopen_confirm;
    if (r.status !== 0) throw new Error(`OPEN_CONFIRM ${name}: ${r.status}`);
    stateid = r.resok4.open_stateid;
  }
  ok(
    await c.compound([
      { argop: OP.OP_PUTFH, opputfh: { object: fh } },
      {
        argop: OP.OP_CLOSE,
        opclose: { seqid: seqid.next++, open_stateid: stateid },
      },
    ]),
    `CLOSE ${name}`,
  );
  return confirm;
}

/**
 * Creates `o.files` files in a new directory of `srv`'s export, moving to a
 * fresh connection and client ID before a connection's replies pass
 * `o.budget` bytes; times and charges CPU to the creates only.
 */
export async function createFiles(
  srv: NfsServer,
  o: CreateOptions,
): Promise<CreatePass> {
  const pass: CreatePass = {
    seconds: 0,
    cpu: 0,
    clientCpu: 0,
    bytes: 0,
    calls: 0,
    connections: 0,
    maxConnBytes: 0,
    confirms: 0,
  };
  let dir: Uint8Array | undefined;
  let done = 0;
  // The largest create so far: the next one must fit in what is left.
  let perCreate = 0;
  while (done < o.files) {
    if (pass.connections > o.files) throw new Error("No progress");
    const c = await connect(srv, o.timeoutMs);
    pass.connections++;
    try {
      dir ??= await makeDir(c, srv, o.dirName);
      const seqid = { next: 1 };
      const bytes0 = c.bytes, calls0 = c.calls;
      const cpu0 = await cpuSeconds(srv.pid);
      const own0 = await cpuSeconds(Deno.pid);
      const t0 = performance.now();
      let here = 0;
      while (
        done < o.files && (here === 0 || c.bytes + perCreate <= o.budget)
      ) {
        const before = c.bytes;
        if (await createOne(c, dir, `f-${done}`, seqid, o.guarded)) {
          pass.confirms++;
        }
        perCreate = Math.max(perCreate, c.bytes - before);
        done++;
        here++;
      }
      pass.seconds += (performance.now() - t0) / 1000;
      pass.clientCpu += await cpuSeconds(Deno.pid) - own0;
      pass.cpu += await cpuSeconds(srv.pid) - cpu0;
      pass.bytes += c.bytes - bytes0;
      pass.calls += c.calls - calls0;
      pass.maxConnBytes = Math.max(pass.maxConnBytes, c.bytes);
      if (c.bytes > o.budget) {
        throw new Error(
          `Connection over budget: ${c.bytes} bytes of replies, budget ${o.budget}`,
        );
      }
    } finally {
      c.rpc.close();
    }
  }
  return pass;
}
