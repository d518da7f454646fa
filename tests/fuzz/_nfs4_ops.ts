// The NFSv4.0 and 4.1 part of the COMPOUND fuzzer's corpus: a valid
// instance of each operation (filehandle, attribute, data, namespace,
// client ID, session and open/lock operations). 4.2's are in ./_nfs4_42.ts.
import {
  AUTH_NONE,
  AUTH_SYS,
  createmode4,
  type nfs_argop4,
  nfs_ftype4,
  nfs_lock_type4,
  nfs_opnum4 as OP,
  open_claim_type4,
  opentype4,
  state_protect_how4,
  type stateid4,
} from "../../proto/nfs4/mod.ts";

const enc = new TextEncoder();
const name = (s: string) => enc.encode(s);
const ZERO_SID: stateid4 = { seqid: 0, other: new Uint8Array(12) };
const ONES_SID: stateid4 = {
  seqid: 0xffffffff,
  other: new Uint8Array(12).fill(0xff),
};
const SOME_SID: stateid4 = {
  seqid: 1,
  other: new Uint8Array([0, 0, 0, 5, 0, 0, 0, 1, 0, 0, 0, 2]),
};
const SESSION = new Uint8Array(16).fill(7);
const VERF = new Uint8Array(8).fill(3);
// type, size, fileid | mode, owner, owner_group, time_modify: a usual ask.
const ATTRS = [(1 << 1) | (1 << 4) | (1 << 20), (1 << 1) | (1 << 4) | (1 << 5)];
const ALL_ATTRS = [0xffffffff, 0xffffffff, 0xffffffff];

/** Operations to build requests from, each valid on its own. */
export function operations(): nfs_argop4[] {
  const attrs = { attrmask: [0, 1 << 1], attr_vals: new Uint8Array(4) }; // mode
  const owner = { clientid: 0x1234n, owner: name("owner") };
  return [
    { argop: OP.OP_PUTROOTFH },
    { argop: OP.OP_PUTPUBFH },
    { argop: OP.OP_GETFH },
    { argop: OP.OP_SAVEFH },
    { argop: OP.OP_RESTOREFH },
    { argop: OP.OP_LOOKUPP },
    { argop: OP.OP_LOOKUP, oplookup: { objname: name("file") } },
    { argop: OP.OP_LOOKUP, oplookup: { objname: name("dir") } },
    { argop: OP.OP_LOOKUP, oplookup: { objname: name("data") } },
    { argop: OP.OP_PUTFH, opputfh: { object: new Uint8Array(20).fill(0x4e) } },
    { argop: OP.OP_GETATTR, opgetattr: { attr_request: ATTRS } },
    { argop: OP.OP_GETATTR, opgetattr: { attr_request: ALL_ATTRS } },
    { argop: OP.OP_ACCESS, opaccess: { access: 0x3f } },
    { argop: OP.OP_READLINK },
    {
      argop: OP.OP_READ,
      opread: { stateid: ZERO_SID, offset: 0, count: 4096 },
    },
    {
      argop: OP.OP_READ,
      opread: { stateid: ONES_SID, offset: 100, count: 1 << 20 },
    },
    {
      argop: OP.OP_WRITE,
      opwrite: {
        stateid: ZERO_SID,
        offset: 10,
        stable: 0,
        data: name("fuzzed data"),
      },
    },
    {
      argop: OP.OP_WRITE,
      opwrite: {
        stateid: SOME_SID,
        offset: 4096,
        stable: 2,
        data: new Uint8Array(300),
      },
    },
    { argop: OP.OP_COMMIT, opcommit: { offset: 0, count: 0 } },
    {
      argop: OP.OP_READDIR,
      opreaddir: {
        cookie: 0n,
        cookieverf: new Uint8Array(8),
        dircount: 4096,
        maxcount: 8192,
        attr_request: ATTRS,
      },
    },
    {
      argop: OP.OP_SETATTR,
      opsetattr: { stateid: ZERO_SID, obj_attributes: attrs },
    },
    {
      argop: OP.OP_CREATE,
      opcreate: {
        objtype: { type: nfs_ftype4.NF4DIR },
        objname: name("newdir"),
        createattrs: attrs,
      },
    },
    {
      argop: OP.OP_CREATE,
      opcreate: {
        objtype: { type: nfs_ftype4.NF4LNK, linkdata: name("target") },
        objname: name("link"),
        createattrs: { attrmask: [], attr_vals: new Uint8Array() },
      },
    },
    { argop: OP.OP_REMOVE, opremove: { target: name("newdir") } },
    {
      argop: OP.OP_RENAME,
      oprename: { oldname: name("file"), newname: name("renamed") },
    },
    { argop: OP.OP_LINK, oplink: { newname: name("hard") } },
    {
      argop: OP.OP_SETCLIENTID,
      opsetclientid: {
        client: { verifier: VERF, id: name("fuzz-client") },
        callback: {
          cb_program: 0x40000000,
          cb_location: { na_r_netid: "tcp", na_r_addr: "127.0.0.1.8.1" },
        },
        callback_ident: 1,
      },
    },
    {
      argop: OP.OP_SETCLIENTID_CONFIRM,
      opsetclientid_confirm: { clientid: 0x1234n, setclientid_confirm: VERF },
    },
    { argop: OP.OP_RENEW, oprenew: { clientid: 0x1234n } },
    {
      argop: OP.OP_OPEN,
      opopen: {
        seqid: 1,
        share_access: 3,
        share_deny: 0,
        owner,
        openhow: {
          opentype: opentype4.OPEN4_CREATE,
          how: { mode: createmode4.UNCHECKED4, createattrs: attrs },
        },
        claim: { claim: open_claim_type4.CLAIM_NULL, file: name("new") },
      },
    },
    {
      argop: OP.OP_OPEN,
      opopen: {
        seqid: 2,
        share_access: 1,
        share_deny: 0,
        owner,
        openhow: { opentype: opentype4.OPEN4_NOCREATE },
        claim: { claim: open_claim_type4.CLAIM_NULL, file: name("file") },
      },
    },
    {
      argop: OP.OP_OPEN_CONFIRM,
      opopen_confirm: { open_stateid: SOME_SID, seqid: 2 },
    },
    {
      argop: OP.OP_OPEN_DOWNGRADE,
      opopen_downgrade: {
        open_stateid: SOME_SID,
        seqid: 3,
        share_access: 1,
        share_deny: 0,
      },
    },
    { argop: OP.OP_CLOSE, opclose: { seqid: 4, open_stateid: SOME_SID } },
    {
      argop: OP.OP_LOCK,
      oplock: {
        locktype: nfs_lock_type4.WRITE_LT,
        reclaim: false,
        offset: 0n,
        length: 0xffffffffffffffffn,
        locker: {
          new_lock_owner: true,
          open_owner: {
            open_seqid: 3,
            open_stateid: SOME_SID,
            lock_seqid: 0,
            lock_owner: owner,
          },
        },
      },
    },
    {
      argop: OP.OP_LOCKT,
      oplockt: {
        locktype: nfs_lock_type4.READ_LT,
        offset: 10n,
        length: 10n,
        owner,
      },
    },
    {
      argop: OP.OP_LOCKU,
      oplocku: {
        locktype: nfs_lock_type4.WRITE_LT,
        seqid: 1,
        lock_stateid: SOME_SID,
        offset: 0n,
        length: 1n,
      },
    },
    {
      argop: OP.OP_RELEASE_LOCKOWNER,
      oprelease_lockowner: { lock_owner: owner },
    },
    {
      argop: OP.OP_EXCHANGE_ID,
      opexchange_id: {
        eia_clientowner: { co_verifier: VERF, co_ownerid: name("fuzz-41") },
        eia_flags: 0,
        eia_state_protect: { spa_how: state_protect_how4.SP4_NONE },
        eia_client_impl_id: [],
      },
    },
    {
      argop: OP.OP_CREATE_SESSION,
      opcreate_session: {
        csa_clientid: 0x1234n,
        csa_sequence: 1,
        csa_flags: 0,
        csa_fore_chan_attrs: {
          ca_headerpadsize: 0,
          ca_maxrequestsize: 1 << 20,
          ca_maxresponsesize: 1 << 20,
          ca_maxresponsesize_cached: 4096,
          ca_maxoperations: 16,
          ca_maxrequests: 8,
          ca_rdma_ird: [],
        },
        csa_back_chan_attrs: {
          ca_headerpadsize: 0,
          ca_maxrequestsize: 4096,
          ca_maxresponsesize: 4096,
          ca_maxresponsesize_cached: 0,
          ca_maxoperations: 2,
          ca_maxrequests: 1,
          ca_rdma_ird: [],
        },
        csa_cb_program: 0x40000000,
        csa_sec_parms: [
          { cb_secflavor: AUTH_NONE },
          {
            cb_secflavor: AUTH_SYS,
            cbsp_sys_cred: {
              stamp: 1,
              machinename: "fuzz",
              uid: 0,
              gid: 0,
              gids: [],
            },
          },
        ],
      },
    },
    {
      argop: OP.OP_SEQUENCE,
      opsequence: {
        sa_sessionid: SESSION,
        sa_sequenceid: 1,
        sa_slotid: 0,
        sa_highest_slotid: 0,
        sa_cachethis: true,
      },
    },
    {
      argop: OP.OP_RECLAIM_COMPLETE,
      opreclaim_complete: { rca_one_fs: false },
    },
    {
      argop: OP.OP_DESTROY_SESSION,
      opdestroy_session: { dsa_sessionid: SESSION },
    },
    {
      argop: OP.OP_DESTROY_CLIENTID,
      opdestroy_clientid: { dca_clientid: 0x1234n },
    },
    {
      argop: OP.OP_TEST_STATEID,
      optest_stateid: { ts_stateids: [SOME_SID, ZERO_SID] },
    },
    { argop: OP.OP_FREE_STATEID, opfree_stateid: { fsa_stateid: SOME_SID } },
    { argop: OP.OP_SECINFO_NO_NAME, opsecinfo_no_name: 0 },
    { argop: OP.OP_SECINFO, opsecinfo: { name: name("file") } },
  ];
}
