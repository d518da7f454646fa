// NFSv4 clients for the state tests: a 4.0 client ID, a 4.1 session with
// its slot sequence, and the OPEN arguments they send.
import assert from "node:assert/strict";
import type { AuthSysParms } from "../../../rpc/program.ts";
import {
  type channel_attrs4,
  type COMPOUND4res,
  type createhow4,
  createmode4,
  type nfs_argop4,
  nfs_opnum4 as OP,
  type OPEN4args,
  type open_claim4,
  opentype4,
  state_protect_how4,
  type stateid4,
} from "../../../proto/nfs4/mod.ts";
import {
  type Nfs4Harness,
  nfsstat4,
  resultOf,
  start4,
  sys,
} from "./_harness.ts";
import type { MemFs } from "../../../vfs/memfs.ts";

const enc = new TextEncoder();

/** Bytes of a string. */
export const b = (s: string): Uint8Array => enc.encode(s);

/** A server without a grace period (unless asked), for state tests. */
export function startState(
  options: Parameters<typeof start4<MemFs>>[0] = {},
): Promise<Nfs4Harness> {
  return start4<MemFs>({
    ...options,
    nfs4: { graceTime: 0, ...options.nfs4 },
  });
}

/** Asserts a COMPOUND succeeded, naming the status otherwise. */
export function ok(res: COMPOUND4res, what = "COMPOUND"): COMPOUND4res {
  assert.equal(res.status, nfsstat4.NFS4_OK, `${what}: status ${res.status}`);
  return res;
}

/**
 * A confirmed 4.0 client ID, named `name`, as user `auth`; its verifier is
 * zeros unless given, and `tag` goes in both COMPOUNDs.
 */
export async function client40(
  h: Nfs4Harness,
  name: string,
  auth: AuthSysParms = sys(0),
  o: { verifier?: Uint8Array; tag?: string } = {},
): Promise<bigint> {
  const res = ok(
    await h.compound([{
      argop: OP.OP_SETCLIENTID,
      opsetclientid: {
        client: { verifier: o.verifier ?? new Uint8Array(8), id: b(name) },
        callback: {
          cb_program: 0x40000000,
          cb_location: { na_r_netid: "tcp", na_r_addr: "127.0.0.1.3.232" },
        },
        callback_ident: 1,
      },
    }], { auth, tag: o.tag }),
    "SETCLIENTID",
  );
  const r = resultOf(res, OP.OP_SETCLIENTID).opsetclientid;
  assert.ok(r.status === nfsstat4.NFS4_OK);
  ok(
    await h.compound([{
      argop: OP.OP_SETCLIENTID_CONFIRM,
      opsetclientid_confirm: {
        clientid: r.resok4.clientid,
        setclientid_confirm: r.resok4.setclientid_confirm,
      },
    }], { auth, tag: o.tag }),
    "SETCLIENTID_CONFIRM",
  );
  return r.resok4.clientid;
}

/**
 * A 4.1 (or 4.2) client with one session, sending SEQUENCE on slot 0 (or
 * another).
 */
export interface Session41 {
  clientid: bigint;
  sessionid: Uint8Array;
  /** The next sequence ID of each slot. */
  seqids: number[];
  /**
   * Sends `ops` after a SEQUENCE on `slot`, moving the slot on; as `auth`
   * when given (AUTH_SYS credentials may change from call to call).
   */
  call(
    ops: nfs_argop4[],
    options?: {
      slot?: number;
      cacheThis?: boolean;
      seqid?: number;
      auth?: AuthSysParms;
    },
  ): Promise<COMPOUND4res>;
}

/** The SEQUENCE operation of a session. */
export function sequenceOp(
  sessionid: Uint8Array,
  seqid: number,
  slot = 0,
  cacheThis = false,
  highest = slot,
): nfs_argop4 {
  return {
    argop: OP.OP_SEQUENCE,
    opsequence: {
      sa_sessionid: sessionid,
      sa_sequenceid: seqid,
      sa_slotid: slot,
      sa_highest_slotid: highest,
      sa_cachethis: cacheThis,
    },
  };
}

/** EXCHANGE_ID's arguments. */
export function exchangeIdOp(
  name: string,
  flags = 0,
): Extract<nfs_argop4, { argop: typeof OP.OP_EXCHANGE_ID }> {
  return {
    argop: OP.OP_EXCHANGE_ID,
    opexchange_id: {
      eia_clientowner: { co_verifier: new Uint8Array(8), co_ownerid: b(name) },
      eia_flags: flags,
      eia_state_protect: { spa_how: state_protect_how4.SP4_NONE },
      eia_client_impl_id: [],
    },
  };
}

/** Channel attributes a client might ask for. */
export function chanAttrs(slots = 4, maxOps = 16): channel_attrs4 {
  return {
    ca_headerpadsize: 0,
    ca_maxrequestsize: 1 << 20,
    ca_maxresponsesize: 1 << 20,
    ca_maxresponsesize_cached: 8192,
    ca_maxoperations: maxOps,
    ca_maxrequests: slots,
    ca_rdma_ird: [],
  };
}

/** EXCHANGE_ID, CREATE_SESSION and RECLAIM_COMPLETE for client `name`. */
export async function session41(
  // deno-lint-ignore no-explicit-any
  h: Nfs4Harness<any>,
  name: string,
  options: {
    auth?: AuthSysParms;
    slots?: number;
    reclaim?: boolean;
    fore?: ReturnType<typeof chanAttrs>;
    /** The minor version of every COMPOUND (default 1). */
    minor?: number;
  } = {},
): Promise<Session41> {
  const auth = options.auth ?? sys(0);
  const minor = options.minor ?? 1;
  const ex = ok(
    await h.compound([exchangeIdOp(name)], { minor, auth }),
    "EXCHANGE_ID",
  );
  const e = resultOf(ex, OP.OP_EXCHANGE_ID).opexchange_id;
  assert.ok(e.eir_status === nfsstat4.NFS4_OK);
  const cr = ok(
    await h.compound([{
      argop: OP.OP_CREATE_SESSION,
      opcreate_session: {
        csa_clientid: e.eir_resok4.eir_clientid,
        csa_sequence: e.eir_resok4.eir_sequenceid,
        csa_flags: 0,
        csa_fore_chan_attrs: options.fore ?? chanAttrs(options.slots ?? 4),
        csa_back_chan_attrs: chanAttrs(1, 2),
        csa_cb_program: 0x40000000,
        csa_sec_parms: [{ cb_secflavor: 0 }],
      },
    }], { minor, auth }),
    "CREATE_SESSION",
  );
  const c = resultOf(cr, OP.OP_CREATE_SESSION).opcreate_session;
  assert.ok(c.csr_status === nfsstat4.NFS4_OK);
  const s: Session41 = {
    clientid: e.eir_resok4.eir_clientid,
    sessionid: c.csr_resok4.csr_sessionid,
    seqids: Array.from(
      { length: c.csr_resok4.csr_fore_chan_attrs.ca_maxrequests },
      () => 1,
    ),
    call(ops, o = {}) {
      const slot = o.slot ?? 0;
      const seqid = o.seqid ?? s.seqids[slot]++;
      return h.compound(
        [sequenceOp(s.sessionid, seqid, slot, o.cacheThis ?? false), ...ops],
        { minor, auth: o.auth ?? auth },
      );
    },
  };
  if (options.reclaim ?? true) {
    ok(
      await s.call([{
        argop: OP.OP_RECLAIM_COMPLETE,
        opreclaim_complete: { rca_one_fs: false },
      }]),
      "RECLAIM_COMPLETE",
    );
  }
  return s;
}

/** How OPEN creates: UNCHECKED4 with a mode, unless told otherwise. */
export function createHow(mode = 0o644): createhow4 {
  const w = new Uint8Array(4);
  new DataView(w.buffer).setUint32(0, mode);
  return {
    mode: createmode4.UNCHECKED4,
    createattrs: { attrmask: [0, 1 << 1], attr_vals: w },
  };
}

/** OPEN's arguments: CLAIM_NULL of `name`, read access, no create. */
export function openArgs(
  name: string,
  o: {
    clientid?: bigint;
    owner?: string;
    seqid?: number;
    access?: number;
    deny?: number;
    how?: createhow4;
    claim?: open_claim4;
  } = {},
): nfs_argop4 {
  const args: OPEN4args = {
    seqid: o.seqid ?? 0,
    share_access: o.access ?? 1,
    share_deny: o.deny ?? 0,
    owner: { clientid: o.clientid ?? 0n, owner: b(o.owner ?? "owner") },
    openhow: o.how === undefined
      ? { opentype: opentype4.OPEN4_NOCREATE }
      : { opentype: opentype4.OPEN4_CREATE, how: o.how },
    claim: o.claim ?? { claim: 0, file: b(name) },
  };
  return { argop: OP.OP_OPEN, opopen: args };
}

/** The stateid OPEN returned in `res`. */
export function openStateid(res: COMPOUND4res): stateid4 {
  const r = resultOf(res, OP.OP_OPEN).opopen;
  assert.ok(r.status === nfsstat4.NFS4_OK, `OPEN: status ${r.status}`);
  return r.resok4.stateid;
}

/** The current filehandle after `res` (its GETFH result). */
export function fhOf(res: COMPOUND4res): Uint8Array {
  const r = resultOf(res, OP.OP_GETFH).opgetfh;
  assert.ok(r.status === nfsstat4.NFS4_OK);
  return r.resok4.object;
}

/**
 * A confirmed 4.0 open of `name` in the root (created when `create`):
 * the stateid after OPEN_CONFIRM, the file's handle, and the owner's next
 * seqid.
 */
export async function open40(
  h: Nfs4Harness,
  clientid: bigint,
  name: string,
  o: {
    owner?: string;
    access?: number;
    deny?: number;
    create?: boolean;
    auth?: AuthSysParms;
  } = {},
): Promise<{ stateid: stateid4; fh: Uint8Array; seqid: number }> {
  const res = await h.compound([
    { argop: OP.OP_PUTROOTFH },
    openArgs(name, {
      clientid,
      owner: o.owner,
      seqid: 1,
      access: o.access ?? 3,
      deny: o.deny,
      how: o.create === false ? undefined : createHow(),
    }),
    { argop: OP.OP_GETFH },
  ], { auth: o.auth });
  ok(res, `OPEN ${name}`);
  const fh = fhOf(res);
  const conf = ok(
    await h.compound([
      { argop: OP.OP_PUTFH, opputfh: { object: fh } },
      {
        argop: OP.OP_OPEN_CONFIRM,
        opopen_confirm: { open_stateid: openStateid(res), seqid: 2 },
      },
    ], { auth: o.auth }),
    "OPEN_CONFIRM",
  );
  const r = resultOf(conf, OP.OP_OPEN_CONFIRM).opopen_confirm;
  assert.ok(r.status === nfsstat4.NFS4_OK);
  return { stateid: r.resok4.open_stateid, fh, seqid: 3 };
}

/** A 4.1 open of `name` in the root (created unless told): stateid and handle. */
export async function open41(
  s: Session41,
  name: string,
  o: { owner?: string; access?: number; deny?: number; create?: boolean } = {},
): Promise<{ stateid: stateid4; fh: Uint8Array }> {
  const res = ok(
    await s.call([
      { argop: OP.OP_PUTROOTFH },
      openArgs(name, {
        owner: o.owner,
        access: o.access ?? 3,
        deny: o.deny,
        how: o.create === false ? undefined : createHow(),
      }),
      { argop: OP.OP_GETFH },
    ]),
    `OPEN ${name}`,
  );
  return { stateid: openStateid(res), fh: fhOf(res) };
}

export { createmode4, nfsstat4, OP, resultOf, sys };
