// The handshake state machine without a stream: one input at a time, the
// exact replies it returns, and the state it moves to.
import assert from "node:assert/strict";
import {
  afterTls,
  greeting,
  type HandshakeState,
  onClientFlags,
  onOption,
  onOptionHeader,
  type Step,
} from "../../nbd/_handshake.ts";
import type { ServerContext } from "../../nbd/_session.ts";
import { MemoryDevice } from "../../nbd/memory_device.ts";
import { readOnly } from "../../nbd/device.ts";
import {
  decodeInfo,
  decodeMetaContextReply,
  decodeOptionReplyHeader,
  decodeServerReply,
  encodeGoOption,
  encodeMetaContextOption,
  encodeOption,
  type ExportInfo,
  Info,
  Opt,
  Rep,
  TxFlag,
} from "../../nbd/protocol.ts";
import { getU64 } from "../../nbd/_u64.ts";
import { context, type PipeServerOptions } from "./_pipe.ts";
import { dec, enc } from "./_raw.ts";

function ctx(extra: Partial<PipeServerOptions> = {}): ServerContext {
  return context({
    exports: [
      {
        name: "mem",
        device: new MemoryDevice(1 << 20),
        description: "a test disk",
      },
      { name: "ro", device: readOnly(new MemoryDevice(4096)) },
    ],
    defaultExport: "mem",
    ...extra,
  });
}

/** The option replies of a step, decoded; each must name `option`. */
function replies(step: Step, option: number) {
  return step.send.map((b) => {
    const h = decodeOptionReplyHeader(b);
    assert.equal(h.option, option, "a reply names its option");
    assert.equal(h.length, b.length - 20, "the length covers the data");
    return { type: h.type, data: b.subarray(20) };
  });
}

/** The state after flags 3 (fixed newstyle, no zeroes), frozen. */
function start(c: ServerContext, flags = 3): HandshakeState {
  const s = onClientFlags(c, flags);
  assert.equal(s.next, "options");
  return Object.freeze(s.next === "options" ? s.state : undefined!);
}

/** Runs one option and expects haggling to go on; returns replies and state. */
function haggle(
  c: ServerContext,
  state: HandshakeState,
  option: number,
  data: Uint8Array = new Uint8Array(0),
) {
  const step = onOption(c, state, option, data);
  assert.equal(step.next, "options", `option ${option} keeps haggling`);
  const next = step.next === "options" ? Object.freeze(step.state) : state;
  return { replies: replies(step, option), state: next };
}

const mc = (name: string, queries: string[]) =>
  encodeMetaContextOption({ name, queries });
const go = (name: string, requests: number[] = []) =>
  encodeGoOption({ name, requests });

Deno.test("handshake machine: greeting and client flags", () => {
  assert.equal(dec(greeting().subarray(0, 16)), "NBDMAGICIHAVEOPT");
  const c = ctx();
  for (const flags of [0, 1, 2, 3]) {
    const s = onClientFlags(c, flags);
    assert.equal(s.next, "options", `flags ${flags}`);
    if (s.next !== "options") continue;
    assert.deepEqual(s.send, [], "flags get no reply");
    assert.equal(s.state.fixed, (flags & 1) !== 0);
    assert.equal(s.state.noZeroes, (flags & 2) !== 0);
  }
  for (const flags of [4, 7, 0x80000000, 0xffffffff]) {
    const s = onClientFlags(c, flags);
    assert.equal(s.next, "close", `flags 0x${flags.toString(16)}`);
    if (s.next === "close") {
      assert.equal(
        s.log,
        `unknown client flags 0x${flags.toString(16)}, closing`,
      );
    }
  }
  const tls = ctx({ tls: { mode: "required", cert: "c", key: "k" } });
  assert.deepEqual(onClientFlags(tls, 2), {
    next: "close",
    send: [],
    log: undefined,
  }, "TLS needs fixed newstyle");
  assert.equal(onClientFlags(tls, 1).next, "options");
});

Deno.test("handshake machine: option headers", () => {
  const c = ctx({ maxOptionLength: 100 });
  assert.deepEqual(
    onOptionHeader(
      c,
      encodeOption(Opt.GO, new Uint8Array(100)).subarray(0, 16),
    ),
    {
      next: "data",
      option: Opt.GO,
      length: 100,
    },
    "the maximum is allowed",
  );
  const long = encodeOption(Opt.GO, new Uint8Array(101)).subarray(0, 16);
  assert.deepEqual(onOptionHeader(c, long), {
    next: "close",
    send: [],
    log: "option 7 length 101 too large, closing",
  });
  const bad = encodeOption(Opt.LIST);
  bad[7] ^= 1;
  assert.deepEqual(onOptionHeader(c, bad), {
    next: "close",
    send: [],
    log: undefined,
  }, "bad magic closes silently");
});

Deno.test("handshake machine: structured replies, meta context, GO", () => {
  const c = ctx();
  let s = start(c);
  const sr = haggle(c, s, Opt.STRUCTURED_REPLY);
  assert.deepEqual(sr.replies.map((x) => x.type), [Rep.ACK]);
  assert.equal(sr.state.structured, true);
  s = sr.state;
  const set = haggle(
    c,
    s,
    Opt.SET_META_CONTEXT,
    mc("mem", ["base:allocation"]),
  );
  assert.deepEqual(set.replies.map((x) => x.type), [Rep.META_CONTEXT, Rep.ACK]);
  assert.deepEqual(decodeMetaContextReply(set.replies[0].data), {
    id: 1,
    name: "base:allocation",
  });
  assert.deepEqual([set.state.metaExport, set.state.metaAllocation], [
    "mem",
    true,
  ]);
  const step = onOption(c, set.state, Opt.GO, go("mem", [Info.NAME]));
  assert.equal(step.next, "transmit");
  if (step.next !== "transmit") return;
  const types = replies(step, Opt.GO).map((x) => x.type);
  assert.deepEqual(
    types,
    [Rep.INFO, Rep.INFO, Rep.INFO, Rep.ACK],
    "export, name, block size, ACK",
  );
  const info: ExportInfo = { size: 0, flags: 0 };
  for (const x of replies(step, Opt.GO).slice(0, -1)) decodeInfo(x.data, info);
  assert.deepEqual(info, {
    size: 1 << 20,
    flags: step.negotiated.flags,
    name: "mem",
    blockSize: { min: 1, preferred: 4096, max: 1 << 26 },
  });
  assert.ok(step.negotiated.flags & TxFlag.SEND_DF, "DF once structured");
  assert.equal(step.negotiated.export.name, "mem");
  assert.deepEqual(
    [
      step.negotiated.allocation,
      step.negotiated.structured,
      step.negotiated.extended,
    ],
    [true, true, false],
  );
});

Deno.test("handshake machine: the selected context belongs to one export", () => {
  const c = ctx();
  let s = haggle(c, start(c), Opt.STRUCTURED_REPLY).state;
  s = haggle(c, s, Opt.SET_META_CONTEXT, mc("ro", ["base:allocation"])).state;
  const step = onOption(c, s, Opt.GO, go("mem"));
  assert.ok(
    step.next === "transmit" && !step.negotiated.allocation,
    "SET named another export",
  );
  // A failing SET forgets the earlier selection.
  s = haggle(c, s, Opt.SET_META_CONTEXT, mc("mem", ["base:allocation"])).state;
  const failed = haggle(c, s, Opt.SET_META_CONTEXT, mc("mem", ["nocolon"]));
  assert.deepEqual(failed.replies.map((x) => x.type), [Rep.ERR_INVALID]);
  assert.deepEqual([failed.state.metaExport, failed.state.metaAllocation], [
    undefined,
    false,
  ]);
  // A SET that matches nothing selects nothing, and says so with a bare ACK.
  const none = haggle(c, s, Opt.SET_META_CONTEXT, mc("mem", ["base:"]));
  assert.deepEqual(none.replies.map((x) => x.type), [Rep.ACK]);
  assert.equal(none.state.metaAllocation, false);
});

Deno.test("handshake machine: LIST_META_CONTEXT answers without selecting", () => {
  const c = ctx();
  const s = haggle(c, start(c), Opt.STRUCTURED_REPLY).state;
  for (
    const [queries, want] of [
      [[], 1],
      [["base:"], 1],
      [["base:allocation"], 1],
      [["x:y"], 0],
    ] as const
  ) {
    const r = haggle(c, s, Opt.LIST_META_CONTEXT, mc("", [...queries]));
    assert.equal(r.replies.length, want + 1, JSON.stringify(queries));
    if (want) {
      assert.deepEqual(decodeMetaContextReply(r.replies[0].data), {
        id: 0,
        name: "base:allocation",
      });
    }
    assert.equal(r.state, s, "LIST changes nothing");
  }
});

Deno.test("handshake machine: EXPORT_NAME answers size and flags, then transmission", () => {
  const c = ctx();
  for (const flags of [1, 3]) {
    const step = onOption(c, start(c, flags), Opt.EXPORT_NAME, enc(""));
    assert.equal(step.next, "transmit");
    if (step.next !== "transmit") continue;
    const [b] = step.send;
    assert.equal(
      b.length,
      flags & 2 ? 10 : 134,
      "124 zero bytes unless NO_ZEROES",
    );
    assert.equal(getU64(new DataView(b.buffer), 0), 1 << 20);
    assert.equal(new DataView(b.buffer).getUint16(8), step.negotiated.flags);
    assert.ok(b.subarray(10).every((x) => x === 0));
    assert.equal(
      step.negotiated.export.name,
      "mem",
      "empty name: the default export",
    );
    assert.equal(step.negotiated.flags & TxFlag.SEND_DF, 0);
  }
  const ro = onOption(c, start(c), Opt.EXPORT_NAME, enc("ro"));
  assert.ok(ro.next === "transmit" && ro.negotiated.flags & TxFlag.READ_ONLY);
  assert.deepEqual(onOption(c, start(c), Opt.EXPORT_NAME, enc("nope")), {
    next: "close",
    send: [],
    log: 'unknown export "nope", closing',
  });
  assert.equal(
    onOption(c, start(c), Opt.EXPORT_NAME, new Uint8Array([0xff])).next,
    "close",
    "not UTF-8",
  );
  const ext = haggle(c, start(c), Opt.EXTENDED_HEADERS).state;
  assert.equal(
    onOption(c, ext, Opt.EXPORT_NAME, enc("mem")).next,
    "close",
    "forbidden after extended headers",
  );
});

Deno.test("handshake machine: extended headers imply structured replies", () => {
  const c = ctx();
  const e = haggle(c, start(c), Opt.EXTENDED_HEADERS);
  assert.deepEqual(e.replies.map((x) => x.type), [Rep.ACK]);
  assert.deepEqual(
    haggle(c, e.state, Opt.EXTENDED_HEADERS).replies.map((x) => x.type),
    [Rep.ERR_INVALID],
  );
  assert.deepEqual(
    haggle(c, e.state, Opt.STRUCTURED_REPLY).replies.map((x) => x.type),
    [Rep.ERR_EXT_HEADER_REQD],
  );
  const meta = haggle(
    c,
    e.state,
    Opt.SET_META_CONTEXT,
    mc("mem", ["base:allocation"]),
  );
  assert.equal(
    meta.state.metaAllocation,
    true,
    "meta contexts need no STRUCTURED_REPLY",
  );
  const step = onOption(c, meta.state, Opt.GO, go("mem"));
  assert.ok(step.next === "transmit");
  assert.deepEqual(
    [
      step.negotiated.structured,
      step.negotiated.extended,
      step.negotiated.allocation,
    ],
    [true, true, true],
  );
});

Deno.test("handshake machine: malformed and unknown options are refused, haggling goes on", () => {
  const c = ctx();
  const s = haggle(c, start(c), Opt.STRUCTURED_REPLY).state;
  const nameTooLong = go("mem");
  new DataView(nameTooLong.buffer).setUint32(0, 1000);
  const cases: [string, number, Uint8Array, number, RegExp][] = [
    [
      "LIST with data",
      Opt.LIST,
      enc("x"),
      Rep.ERR_INVALID,
      /^NBD_OPT_LIST takes no data: 1 bytes$/,
    ],
    [
      "INFO too short",
      Opt.INFO,
      new Uint8Array(5),
      Rep.ERR_INVALID,
      /^Option data too short: 5 bytes$/,
    ],
    [
      "GO name past the end",
      Opt.GO,
      nameTooLong,
      Rep.ERR_INVALID,
      /^Name length past the end: 1000$/,
    ],
    [
      "GO odd request list",
      Opt.GO,
      go("mem", [1]).subarray(0, 10),
      Rep.ERR_INVALID,
      /count does not fit/,
    ],
    [
      "GO name with NUL",
      Opt.GO,
      go("m\0"),
      Rep.ERR_INVALID,
      /String contains NUL: export name/,
    ],
    [
      "GO unknown export",
      Opt.GO,
      go("nope"),
      Rep.ERR_UNKNOWN,
      /^No such export: nope$/,
    ],
    [
      "STRUCTURED_REPLY twice",
      Opt.STRUCTURED_REPLY,
      new Uint8Array(0),
      Rep.ERR_INVALID,
      /already negotiated/,
    ],
    [
      "STRUCTURED_REPLY with data",
      Opt.STRUCTURED_REPLY,
      enc("ab"),
      Rep.ERR_INVALID,
      /takes no data: 2 bytes/,
    ],
    [
      "EXTENDED_HEADERS with data",
      Opt.EXTENDED_HEADERS,
      enc("a"),
      Rep.ERR_INVALID,
      /takes no data: 1 bytes/,
    ],
    [
      "meta context truncated",
      Opt.SET_META_CONTEXT,
      mc("mem", ["base:allocation"]).subarray(0, 16),
      Rep.ERR_INVALID,
      /^Meta context option truncated: query$/,
    ],
    [
      "meta context trailing bytes",
      Opt.LIST_META_CONTEXT,
      new Uint8Array([...mc("mem", []), 0]),
      Rep.ERR_INVALID,
      /^Trailing bytes after queries: 1$/,
    ],
    [
      "meta context absurd count",
      Opt.LIST_META_CONTEXT,
      new Uint8Array([0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]),
      Rep.ERR_INVALID,
      /^Query count past the end/,
    ],
    [
      "meta context unknown export",
      Opt.LIST_META_CONTEXT,
      mc("zzz", []),
      Rep.ERR_UNKNOWN,
      /^No such export: zzz$/,
    ],
    [
      "meta context without namespace",
      Opt.LIST_META_CONTEXT,
      mc("mem", ["x"]),
      Rep.ERR_INVALID,
      /^Query has no namespace: x$/,
    ],
    [
      "STARTTLS when off",
      Opt.STARTTLS,
      new Uint8Array(0),
      Rep.ERR_POLICY,
      /^TLS is not enabled on this server$/,
    ],
    [
      "PEEK_EXPORT",
      Opt.PEEK_EXPORT,
      enc("x"),
      Rep.ERR_UNSUP,
      /^Unsupported option: 4$/,
    ],
    [
      "option 0",
      0,
      new Uint8Array(0),
      Rep.ERR_UNSUP,
      /^Unsupported option: 0$/,
    ],
    [
      "option 2^32-1",
      0xffffffff,
      new Uint8Array(9),
      Rep.ERR_UNSUP,
      /^Unsupported option: 4294967295$/,
    ],
  ];
  for (const [what, option, data, type, message] of cases) {
    const r = haggle(c, s, option, data);
    assert.equal(r.replies.length, 1, what);
    assert.equal(r.replies[0].type, type, what);
    assert.match(dec(r.replies[0].data), message, what);
    assert.deepEqual(r.state, s, `${what}: the state is unchanged`);
  }
  const unstructured = start(c);
  assert.match(
    dec(
      haggle(c, unstructured, Opt.LIST_META_CONTEXT, mc("mem", [])).replies[0]
        .data,
    ),
    /^Negotiate structured replies before meta contexts$/,
  );
});

Deno.test("handshake machine: LIST and INFO", () => {
  const c = ctx();
  const s = start(c);
  const l = haggle(c, s, Opt.LIST);
  assert.deepEqual(l.replies.map((x) => x.type), [
    Rep.SERVER,
    Rep.SERVER,
    Rep.ACK,
  ]);
  assert.deepEqual(
    l.replies.slice(0, 2).map((x) => decodeServerReply(x.data)),
    [
      { name: "mem", description: "a test disk" },
      { name: "ro", description: "" },
    ],
  );
  const i = haggle(
    c,
    s,
    Opt.INFO,
    go("mem", [Info.DESCRIPTION, Info.NAME, 99]),
  );
  assert.deepEqual(i.replies.map((x) => x.type), [
    Rep.INFO,
    Rep.INFO,
    Rep.INFO,
    Rep.INFO,
    Rep.ACK,
  ]);
  const info: ExportInfo = { size: 0, flags: 0 };
  for (const x of i.replies.slice(0, -1)) decodeInfo(x.data, info);
  assert.deepEqual([info.name, info.description], ["mem", "a test disk"]);
  const noDescription = haggle(c, s, Opt.INFO, go("ro", [Info.DESCRIPTION]));
  assert.equal(
    noDescription.replies.length,
    3,
    "export, block size, ACK: no description to give",
  );
  const nodefault = ctx({ defaultExport: undefined });
  assert.deepEqual(
    haggle(nodefault, start(nodefault), Opt.INFO, go("")).replies.map((x) =>
      x.type
    ),
    [Rep.ERR_UNKNOWN],
  );
});

Deno.test("handshake machine: ABORT acknowledges and closes", () => {
  const c = ctx();
  const step = onOption(c, start(c), Opt.ABORT, enc("ignored"));
  assert.equal(step.next, "close");
  assert.deepEqual(replies(step, Opt.ABORT).map((x) => x.type), [Rep.ACK]);
});

Deno.test("handshake machine: while shutting down only ABORT is honoured", () => {
  const c = ctx();
  const s = start(c);
  c.shuttingDown = true;
  for (
    const option of [Opt.LIST, Opt.GO, Opt.STARTTLS, Opt.STRUCTURED_REPLY, 77]
  ) {
    const r = haggle(c, s, option);
    assert.deepEqual(
      r.replies.map((x) => x.type),
      [Rep.ERR_SHUTDOWN],
      `option ${option}`,
    );
    assert.equal(dec(r.replies[0].data), "Server is shutting down");
  }
  assert.deepEqual(onOption(c, s, Opt.EXPORT_NAME, enc("mem")), {
    next: "close",
    send: [],
    log: undefined,
  });
  assert.equal(onOption(c, s, Opt.ABORT, new Uint8Array(0)).next, "close");
});

Deno.test("handshake machine: STARTTLS and TLS required", () => {
  const c = ctx({ tls: { mode: "required", cert: "c", key: "k" } });
  const s = start(c, 1);
  for (const option of [Opt.LIST, Opt.GO, Opt.INFO, Opt.STRUCTURED_REPLY, 99]) {
    const r = haggle(c, s, option, go("mem"));
    assert.deepEqual(
      r.replies.map((x) => x.type),
      [Rep.ERR_TLS_REQD],
      `option ${option}`,
    );
    assert.equal(
      dec(r.replies[0].data),
      "TLS is required: send NBD_OPT_STARTTLS first",
    );
  }
  assert.equal(onOption(c, s, Opt.EXPORT_NAME, enc("mem")).next, "close");
  assert.deepEqual(
    haggle(c, s, Opt.STARTTLS, enc("x")).replies.map((x) => x.type),
    [Rep.ERR_INVALID],
  );
  const up = onOption(c, s, Opt.STARTTLS, new Uint8Array(0));
  assert.equal(up.next, "starttls");
  if (up.next !== "starttls") return;
  assert.deepEqual(replies(up, Opt.STARTTLS).map((x) => x.type), [Rep.ACK]);
  const secured = Object.freeze(afterTls(up.state));
  assert.equal(secured.tls, true);
  assert.deepEqual(
    haggle(c, secured, Opt.LIST).replies.at(-1)!.type,
    Rep.ACK,
    "options work once secured",
  );
  assert.deepEqual(
    haggle(c, secured, Opt.STARTTLS).replies.map((x) => x.type),
    [Rep.ERR_INVALID],
    "TLS is already active",
  );
  const optional = ctx({ tls: { mode: "optional", cert: "c", key: "k" } });
  assert.deepEqual(
    haggle(optional, start(optional, 0), Opt.STARTTLS).replies.map((x) =>
      x.type
    ),
    [Rep.ERR_POLICY],
    "not without fixed newstyle",
  );
});

Deno.test("handshake machine: STARTTLS forgets earlier negotiation", () => {
  const c = ctx({ tls: { mode: "optional", cert: "c", key: "k" } });
  let s = haggle(c, start(c), Opt.STRUCTURED_REPLY).state;
  s = haggle(c, s, Opt.EXTENDED_HEADERS).state;
  s = haggle(c, s, Opt.SET_META_CONTEXT, mc("mem", ["base:allocation"])).state;
  const t = afterTls(s);
  assert.deepEqual(t, {
    fixed: true,
    noZeroes: true,
    tls: true,
    structured: false,
    extended: false,
    metaExport: undefined,
    metaAllocation: false,
  });
});
