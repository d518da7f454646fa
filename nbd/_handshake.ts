/**
 * The server side of the fixed newstyle handshake as a state machine: a
 * {@link HandshakeState} (what the client has negotiated so far) and one
 * function per input (the client flags, an option header, an option) that
 * returns a {@link Step}: the bytes to send and what comes next. Nothing
 * here reads or writes a socket; `negotiate` in `_session.ts` is the shell
 * that does, and the tests drive these functions directly.
 *
 * What the server answers, per option:
 * - ABORT: ACK, then the connection closes.
 * - EXPORT_NAME: the export's size and flags (124 zero bytes unless the
 *   client set NO_ZEROES), then transmission; an unknown export, a name that
 *   is not UTF-8 or extended headers already negotiated close the connection
 *   (the option has no way to say no).
 * - LIST: one SERVER reply per export, then ACK; data makes it ERR_INVALID.
 * - INFO / GO: INFO replies (export, then name and description when asked,
 *   then block size always), ACK; GO then enters transmission. Malformed
 *   data is ERR_INVALID, an unknown export ERR_UNKNOWN.
 * - STARTTLS: ACK and the switch to TLS when enabled, ERR_POLICY when not,
 *   ERR_INVALID with data or when TLS is already on. It forgets every earlier
 *   negotiation.
 * - STRUCTURED_REPLY / EXTENDED_HEADERS: ACK once; repeats, data and
 *   structured replies after extended headers are errors.
 * - LIST_META_CONTEXT / SET_META_CONTEXT: `base:allocation` is the only
 *   context; SET forgets the earlier selection even when it fails.
 * - Anything else: ERR_UNSUP, after its data was read.
 * - While shutting down every option but ABORT gets ERR_SHUTDOWN (EXPORT_NAME
 *   closes); with TLS required, everything but STARTTLS and ABORT gets
 *   ERR_TLS_REQD until the upgrade (EXPORT_NAME closes).
 *
 * Closes without a reply: unknown client flags, a client without fixed
 * newstyle when TLS is required, a bad option magic, an option longer than
 * the context allows.
 *
 * @module
 */

import { transmissionFlags } from "./device.ts";
import type { ResolvedExport, ServerContext } from "./_session.ts";
import {
  BASE_ALLOCATION,
  HandshakeFlag,
  Info,
  Opt,
  Rep,
} from "./_constants.ts";
import {
  decodeGoOption,
  decodeMetaContextOption,
  decodeOptionHeader,
  encodeGreeting,
  encodeInfo,
  encodeMetaContextReply,
  encodeOptionReply,
  encodeServerReply,
} from "./_option_codec.ts";
import { encodeString, WireWriter } from "./_wire.ts";

/** The id the server gives `base:allocation` in SET_META_CONTEXT. */
export const ALLOCATION_ID = 1;

/** What the client has negotiated so far. */
export interface HandshakeState {
  /** Client set NBD_FLAG_C_FIXED_NEWSTYLE. */
  readonly fixed: boolean;
  /** Client set NBD_FLAG_C_NO_ZEROES. */
  readonly noZeroes: boolean;
  /** STARTTLS succeeded. */
  readonly tls: boolean;
  readonly structured: boolean;
  readonly extended: boolean;
  /** The export the last SET_META_CONTEXT named, and whether it selected base:allocation. */
  readonly metaExport: string | undefined;
  readonly metaAllocation: boolean;
}

/** Outcome of a successful handshake. */
export interface Negotiated {
  export: ResolvedExport;
  /** Transmission flags sent to the client. */
  flags: number;
  /** Whether `base:allocation` is selected for this export. */
  allocation: boolean;
  /** Replies may be structured (negotiated, or implied by extended headers). */
  structured: boolean;
  /** Extended headers: 32-byte requests and replies, 64-bit lengths. */
  extended: boolean;
}

/** What to send after one input, and what comes next. */
export type Step =
  /** Keep haggling: read the next option. */
  | { next: "options"; send: Uint8Array[]; state: HandshakeState }
  /** Switch the stream to TLS, then go on with {@link afterTls}. */
  | { next: "starttls"; send: Uint8Array[]; state: HandshakeState }
  /** The handshake is over: enter transmission. */
  | { next: "transmit"; send: Uint8Array[]; negotiated: Negotiated }
  /** Close the connection (send errors no longer matter); log `log` if set. */
  | { next: "close"; send: Uint8Array[]; log?: string };

/** An option header: read `length` bytes of data, then call {@link onOption}. */
export interface OptionData {
  next: "data";
  option: number;
  length: number;
}

const KNOWN_FLAGS = HandshakeFlag.FIXED_NEWSTYLE | HandshakeFlag.NO_ZEROES;
const close = (log?: string): Step => ({ next: "close", send: [], log });
const stay = (state: HandshakeState, ...send: Uint8Array[]): Step => ({
  next: "options",
  send,
  state,
});
const reply = (option: number, type: number, data?: Uint8Array) =>
  encodeOptionReply(option, { type, data });
const fail = (option: number, type: number, message: string) =>
  reply(option, type, encodeString(message));

/** The server's first bytes: fixed newstyle with NO_ZEROES. */
export function greeting(): Uint8Array {
  return encodeGreeting(KNOWN_FLAGS);
}

/** The client's 32-bit flags: the first state, or a close. */
export function onClientFlags(ctx: ServerContext, flags: number): Step {
  if (flags & ~KNOWN_FLAGS) {
    return close(`unknown client flags 0x${flags.toString(16)}, closing`);
  }
  const fixed = (flags & HandshakeFlag.FIXED_NEWSTYLE) !== 0;
  // TLS needs fixed newstyle: without it the server must run in NOTLS mode,
  // which a server that requires TLS cannot do.
  if (ctx.tls?.mode === "required" && !fixed) return close();
  return stay({
    fixed,
    noZeroes: (flags & HandshakeFlag.NO_ZEROES) !== 0,
    tls: false,
    structured: false,
    extended: false,
    metaExport: undefined,
    metaAllocation: false,
  });
}

/** A 16-byte option header: how much data to read, or a close. */
export function onOptionHeader(
  ctx: ServerContext,
  header: Uint8Array,
): OptionData | Step {
  let h;
  try {
    h = decodeOptionHeader(header);
  } catch {
    return close(); // bad magic: the stream is not NBD any more
  }
  if (h.length > ctx.maxOptionLength) {
    return close(`option ${h.option} length ${h.length} too large, closing`);
  }
  return { next: "data", option: h.option, length: h.length };
}

/** The state once STARTTLS succeeded: TLS on, every earlier negotiation forgotten. */
export function afterTls(state: HandshakeState): HandshakeState {
  return {
    ...state,
    tls: true,
    structured: false,
    extended: false,
    metaExport: undefined,
    metaAllocation: false,
  };
}

type Handler = (
  ctx: ServerContext,
  state: HandshakeState,
  data: Uint8Array,
  option: number,
) => Step;

/** One option with its data (already read in full). */
export function onOption(
  ctx: ServerContext,
  state: HandshakeState,
  option: number,
  data: Uint8Array,
): Step {
  if (option === Opt.ABORT) {
    return { next: "close", send: [reply(option, Rep.ACK)] };
  }
  if (ctx.shuttingDown) {
    if (option === Opt.EXPORT_NAME) return close();
    return stay(
      state,
      fail(option, Rep.ERR_SHUTDOWN, "Server is shutting down"),
    );
  }
  if (
    ctx.tls?.mode === "required" && !state.tls && option !== Opt.STARTTLS
  ) {
    if (option === Opt.EXPORT_NAME) return close();
    return stay(
      state,
      fail(
        option,
        Rep.ERR_TLS_REQD,
        "TLS is required: send NBD_OPT_STARTTLS first",
      ),
    );
  }
  const handler = HANDLERS[option];
  if (handler) return handler(ctx, state, data, option);
  return stay(
    state,
    fail(option, Rep.ERR_UNSUP, `Unsupported option: ${option}`),
  );
}

function lookup(ctx: ServerContext, name: string): ResolvedExport | undefined {
  if (name === "" && ctx.defaultExport !== undefined) {
    return ctx.exports.get(ctx.defaultExport);
  }
  return ctx.exports.get(name);
}

/** The refusal of data on an option that takes none, or undefined. */
function noData(option: number, data: Uint8Array, name: string) {
  if (data.length === 0) return undefined;
  return fail(
    option,
    Rep.ERR_INVALID,
    `${name} takes no data: ${data.length} bytes`,
  );
}

const decoder = new TextDecoder("utf-8", { fatal: true });

const exportName: Handler = (ctx, state, data) => {
  if (state.extended) return close(); // forbidden after extended headers
  let name: string;
  try {
    name = decoder.decode(data);
  } catch {
    return close();
  }
  const exp = lookup(ctx, name);
  if (!exp) {
    return close(`unknown export ${JSON.stringify(name)}, closing`);
  }
  const flags = transmissionFlags(exp.device, { structured: state.structured });
  const out = new Uint8Array(state.noZeroes ? 10 : 134); // zeroes follow
  new WireWriter(out).u64(exp.device.size).u16(flags);
  return {
    next: "transmit",
    send: [out],
    negotiated: {
      export: exp,
      flags,
      allocation: state.metaAllocation && state.metaExport === name,
      structured: state.structured,
      extended: false,
    },
  };
};

const list: Handler = (ctx, state, data, option) => {
  const bad = noData(option, data, "NBD_OPT_LIST");
  if (bad) return stay(state, bad);
  const send = [...ctx.exports.values()].map((e) =>
    reply(option, Rep.SERVER, encodeServerReply(e.name, e.description ?? ""))
  );
  return stay(state, ...send, reply(option, Rep.ACK));
};

const startTls: Handler = (ctx, state, data, option) => {
  const bad = noData(option, data, "NBD_OPT_STARTTLS");
  if (bad) return stay(state, bad);
  if ((ctx.tls?.mode ?? "off") === "off" || !state.fixed) {
    return stay(
      state,
      fail(option, Rep.ERR_POLICY, "TLS is not enabled on this server"),
    );
  }
  if (state.tls) {
    return stay(state, fail(option, Rep.ERR_INVALID, "TLS is already active"));
  }
  return { next: "starttls", send: [reply(option, Rep.ACK)], state };
};

const infoOrGo: Handler = (ctx, state, data, option) => {
  let go;
  try {
    go = decodeGoOption(data);
  } catch (e) {
    return stay(state, fail(option, Rep.ERR_INVALID, (e as Error).message));
  }
  const exp = lookup(ctx, go.name);
  if (!exp) {
    return stay(
      state,
      fail(option, Rep.ERR_UNKNOWN, `No such export: ${go.name}`),
    );
  }
  const structured = state.structured || state.extended;
  const flags = transmissionFlags(exp.device, { structured });
  const info = (i: Parameters<typeof encodeInfo>[0]) =>
    reply(option, Rep.INFO, encodeInfo(i));
  const send = [info({ type: "export", size: exp.device.size, flags })];
  if (go.requests.includes(Info.NAME)) {
    send.push(info({ type: "name", name: exp.name }));
  }
  if (go.requests.includes(Info.DESCRIPTION) && exp.description !== undefined) {
    send.push(info({ type: "description", description: exp.description }));
  }
  // Always sent: the spec lets a server volunteer information, and clients
  // that ignore it still get clean EINVALs for violations.
  send.push(info({ type: "block size", blockSize: ctx.blockSize }));
  send.push(reply(option, Rep.ACK));
  if (option !== Opt.GO) return stay(state, ...send);
  return {
    next: "transmit",
    send,
    negotiated: {
      export: exp,
      flags,
      allocation: state.metaAllocation && state.metaExport === go.name,
      structured,
      extended: state.extended,
    },
  };
};

const structuredReply: Handler = (_ctx, state, data, option) => {
  const bad = noData(option, data, "NBD_OPT_STRUCTURED_REPLY");
  if (bad) return stay(state, bad);
  if (state.extended) {
    return stay(
      state,
      fail(
        option,
        Rep.ERR_EXT_HEADER_REQD,
        "Extended headers are already negotiated",
      ),
    );
  }
  if (state.structured) {
    return stay(
      state,
      fail(
        option,
        Rep.ERR_INVALID,
        "Structured replies are already negotiated",
      ),
    );
  }
  return stay({ ...state, structured: true }, reply(option, Rep.ACK));
};

const extendedHeaders: Handler = (_ctx, state, data, option) => {
  const bad = noData(option, data, "NBD_OPT_EXTENDED_HEADERS");
  if (bad) return stay(state, bad);
  if (state.extended) {
    return stay(
      state,
      fail(option, Rep.ERR_INVALID, "Extended headers are already negotiated"),
    );
  }
  return stay({ ...state, extended: true }, reply(option, Rep.ACK));
};

const metaContext: Handler = (ctx, state, data, option) => {
  const set = option === Opt.SET_META_CONTEXT;
  // SET replaces the selection even when it fails.
  if (set) state = { ...state, metaExport: undefined, metaAllocation: false };
  const refuse = (type: number, message: string) =>
    stay(state, fail(option, type, message));
  if (!state.structured && !state.extended) {
    return refuse(
      Rep.ERR_INVALID,
      "Negotiate structured replies before meta contexts",
    );
  }
  let q;
  try {
    q = decodeMetaContextOption(data);
  } catch (e) {
    return refuse(Rep.ERR_INVALID, (e as Error).message);
  }
  if (!lookup(ctx, q.name)) {
    return refuse(Rep.ERR_UNKNOWN, `No such export: ${q.name}`);
  }
  const bad = q.queries.find((x) => !x.includes(":"));
  if (bad !== undefined) {
    return refuse(Rep.ERR_INVALID, `Query has no namespace: ${bad}`);
  }
  const match = set
    ? q.queries.some((x) => x === BASE_ALLOCATION)
    : q.queries.length === 0 ||
      q.queries.some((x) => x === "base:" || x === BASE_ALLOCATION);
  const send = match
    ? [reply(
      option,
      Rep.META_CONTEXT,
      encodeMetaContextReply(set ? ALLOCATION_ID : 0, BASE_ALLOCATION),
    )]
    : [];
  if (set) state = { ...state, metaExport: q.name, metaAllocation: match };
  return stay(state, ...send, reply(option, Rep.ACK));
};

const HANDLERS: Record<number, Handler> = {
  [Opt.EXPORT_NAME]: exportName,
  [Opt.LIST]: list,
  [Opt.STARTTLS]: startTls,
  [Opt.INFO]: infoOrGo,
  [Opt.GO]: infoOrGo,
  [Opt.STRUCTURED_REPLY]: structuredReply,
  [Opt.EXTENDED_HEADERS]: extendedHeaders,
  [Opt.LIST_META_CONTEXT]: metaContext,
  [Opt.SET_META_CONTEXT]: metaContext,
};
