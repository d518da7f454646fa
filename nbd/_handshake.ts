/**
 * The server side of the fixed newstyle handshake: greeting, client flags,
 * and option haggling until EXPORT_NAME or a successful GO.
 *
 * @module
 */

import { serverTls } from "./_tls.ts";
import type { ResolvedExport, ServerContext, Session } from "./_session.ts";
import { transmissionFlags } from "./device.ts";
import { setU64 } from "./_u64.ts";
import {
  BASE_ALLOCATION,
  decodeGoOption,
  decodeMetaContextOption,
  decodeOptionHeader,
  encodeGreeting,
  encodeInfo,
  encodeMetaContextReply,
  encodeOptionReply,
  encodeServerReply,
  encodeString,
  HandshakeFlag,
  Info,
  Opt,
  OPTION_HEADER_SIZE,
  Rep,
} from "./protocol.ts";

/** The id the server gives `base:allocation` in SET_META_CONTEXT. */
export const ALLOCATION_ID = 1;

/** Outcome of a successful handshake. */
export interface Negotiated {
  export: ResolvedExport;
  /** Transmission flags sent to the client. */
  flags: number;
  /** Whether `base:allocation` is selected for this export. */
  allocation: boolean;
}

function lookup(ctx: ServerContext, name: string): ResolvedExport | undefined {
  if (name === "" && ctx.defaultExport !== undefined) {
    return ctx.exports.get(ctx.defaultExport);
  }
  return ctx.exports.get(name);
}

/**
 * Runs the handshake; resolves with the chosen export, or undefined when the
 * session ended (abort, hard disconnect, end of stream).
 */
export async function negotiate(
  s: Session,
  ctx: ServerContext,
): Promise<Negotiated | undefined> {
  await s.send(
    encodeGreeting(HandshakeFlag.FIXED_NEWSTYLE | HandshakeFlag.NO_ZEROES),
  );
  if (!await s.reader.fill(4)) return undefined;
  const cflags = new DataView(s.reader.take(4).slice().buffer).getUint32(0);
  if (cflags & ~(HandshakeFlag.FIXED_NEWSTYLE | HandshakeFlag.NO_ZEROES)) {
    ctx.log(
      `connection ${s.info.id}: unknown client flags 0x${
        cflags.toString(16)
      }, closing`,
    );
    return undefined;
  }
  s.fixed = (cflags & HandshakeFlag.FIXED_NEWSTYLE) !== 0;
  s.noZeroes = (cflags & HandshakeFlag.NO_ZEROES) !== 0;
  const tlsMode = ctx.tls?.mode ?? "off";
  // TLS needs fixed newstyle: without it the server must run in NOTLS mode,
  // which a server that requires TLS cannot do.
  if (tlsMode === "required" && !s.fixed) return undefined;

  while (!s.closed) {
    if (!await s.reader.fill(OPTION_HEADER_SIZE)) return undefined;
    let hdr;
    try {
      hdr = decodeOptionHeader(s.reader.take(OPTION_HEADER_SIZE));
    } catch {
      return undefined; // bad magic: the stream is not NBD any more
    }
    const { option, length } = hdr;
    if (length > ctx.maxOptionLength) {
      ctx.log(
        `connection ${s.info.id}: option ${option} length ${length} too large, closing`,
      );
      return undefined;
    }
    const data = new Uint8Array(length);
    if (!await s.reader.readInto(data)) return undefined;
    const reply = (type: number, payload?: Uint8Array) =>
      s.send(encodeOptionReply(option, { type, data: payload }));
    const fail = (type: number, message: string) =>
      reply(type, encodeString(message));

    if (option === Opt.ABORT) {
      await reply(Rep.ACK).catch(() => {});
      return undefined;
    }
    if (ctx.shuttingDown) {
      if (option === Opt.EXPORT_NAME) return undefined;
      await fail(Rep.ERR_SHUTDOWN, "Server is shutting down");
      continue;
    }
    if (tlsMode === "required" && !s.tls && option !== Opt.STARTTLS) {
      if (option === Opt.EXPORT_NAME) return undefined;
      await fail(
        Rep.ERR_TLS_REQD,
        "TLS is required: send NBD_OPT_STARTTLS first",
      );
      continue;
    }

    switch (option) {
      case Opt.EXPORT_NAME: {
        if (s.extended) return undefined; // forbidden after extended headers
        let name: string;
        try {
          name = new TextDecoder("utf-8", { fatal: true }).decode(data);
        } catch {
          return undefined;
        }
        const exp = lookup(ctx, name);
        if (!exp) {
          ctx.log(
            `connection ${s.info.id}: unknown export ${
              JSON.stringify(name)
            }, closing`,
          );
          return undefined;
        }
        const flags = transmissionFlags(exp.device, {
          structured: s.structured,
        });
        const out = new Uint8Array(s.noZeroes ? 10 : 134);
        const v = new DataView(out.buffer);
        setU64(v, 0, exp.device.size);
        v.setUint16(8, flags);
        await s.send(out);
        return {
          export: exp,
          flags,
          allocation: s.metaAllocation && s.metaExport === name,
        };
      }
      case Opt.LIST: {
        if (length !== 0) {
          await fail(
            Rep.ERR_INVALID,
            `NBD_OPT_LIST takes no data: ${length} bytes`,
          );
          break;
        }
        for (const e of ctx.exports.values()) {
          await reply(
            Rep.SERVER,
            encodeServerReply(e.name, e.description ?? ""),
          );
        }
        await reply(Rep.ACK);
        break;
      }
      case Opt.STARTTLS: {
        if (length !== 0) {
          await fail(
            Rep.ERR_INVALID,
            `NBD_OPT_STARTTLS takes no data: ${length} bytes`,
          );
        } else if (tlsMode === "off" || !ctx.tls || !s.fixed) {
          await fail(Rep.ERR_POLICY, "TLS is not enabled on this server");
        } else if (s.tls) {
          await fail(Rep.ERR_INVALID, "TLS is already active");
        } else {
          await reply(Rep.ACK);
          const leftover = s.reader.drain();
          try {
            s.switchStream(
              await serverTls(s.stream, {
                cert: ctx.tls.cert,
                key: ctx.tls.key,
                leftover,
              }),
            );
          } catch (e) {
            ctx.log(
              `connection ${s.info.id}: TLS handshake failed: ${
                (e as Error).message
              }`,
            );
            return undefined;
          }
          s.tls = true;
          // STARTTLS forgets every earlier negotiation.
          s.structured = false;
          s.extended = false;
          s.metaExport = undefined;
          s.metaAllocation = false;
        }
        break;
      }
      case Opt.INFO:
      case Opt.GO: {
        let go;
        try {
          go = decodeGoOption(data);
        } catch (e) {
          await fail(Rep.ERR_INVALID, (e as Error).message);
          break;
        }
        const exp = lookup(ctx, go.name);
        if (!exp) {
          await fail(Rep.ERR_UNKNOWN, `No such export: ${go.name}`);
          break;
        }
        const flags = transmissionFlags(exp.device, {
          structured: s.structured || s.extended,
        });
        await reply(
          Rep.INFO,
          encodeInfo({ type: "export", size: exp.device.size, flags }),
        );
        if (go.requests.includes(Info.NAME)) {
          await reply(Rep.INFO, encodeInfo({ type: "name", name: exp.name }));
        }
        if (
          go.requests.includes(Info.DESCRIPTION) &&
          exp.description !== undefined
        ) {
          await reply(
            Rep.INFO,
            encodeInfo({ type: "description", description: exp.description }),
          );
        }
        // Always sent: the spec lets a server volunteer information, and
        // clients that ignore it still get clean EINVALs for violations.
        await reply(
          Rep.INFO,
          encodeInfo({ type: "block size", blockSize: ctx.blockSize }),
        );
        await reply(Rep.ACK);
        if (option === Opt.GO) {
          return {
            export: exp,
            flags,
            allocation: s.metaAllocation && s.metaExport === go.name,
          };
        }
        break;
      }
      case Opt.STRUCTURED_REPLY: {
        if (length !== 0) {
          await fail(
            Rep.ERR_INVALID,
            `NBD_OPT_STRUCTURED_REPLY takes no data: ${length} bytes`,
          );
        } else if (s.extended) {
          await fail(
            Rep.ERR_EXT_HEADER_REQD,
            "Extended headers are already negotiated",
          );
        } else if (s.structured) {
          await fail(
            Rep.ERR_INVALID,
            "Structured replies are already negotiated",
          );
        } else {
          s.structured = true;
          await reply(Rep.ACK);
        }
        break;
      }
      case Opt.EXTENDED_HEADERS: {
        if (length !== 0) {
          await fail(
            Rep.ERR_INVALID,
            `NBD_OPT_EXTENDED_HEADERS takes no data: ${length} bytes`,
          );
        } else if (s.extended) {
          await fail(
            Rep.ERR_INVALID,
            "Extended headers are already negotiated",
          );
        } else {
          s.extended = true;
          await reply(Rep.ACK);
        }
        break;
      }
      case Opt.LIST_META_CONTEXT:
      case Opt.SET_META_CONTEXT: {
        const set = option === Opt.SET_META_CONTEXT;
        // SET replaces the selection even when it fails.
        if (set) {
          s.metaExport = undefined;
          s.metaAllocation = false;
        }
        if (!s.structured && !s.extended) {
          await fail(
            Rep.ERR_INVALID,
            "Negotiate structured replies before meta contexts",
          );
          break;
        }
        let q;
        try {
          q = decodeMetaContextOption(data);
        } catch (e) {
          await fail(Rep.ERR_INVALID, (e as Error).message);
          break;
        }
        if (!lookup(ctx, q.name)) {
          await fail(Rep.ERR_UNKNOWN, `No such export: ${q.name}`);
          break;
        }
        const bad = q.queries.find((x) => !x.includes(":"));
        if (bad !== undefined) {
          await fail(Rep.ERR_INVALID, `Query has no namespace: ${bad}`);
          break;
        }
        const match = set
          ? q.queries.some((x) => x === BASE_ALLOCATION)
          : q.queries.length === 0 ||
            q.queries.some((x) => x === "base:" || x === BASE_ALLOCATION);
        if (match) {
          await reply(
            Rep.META_CONTEXT,
            encodeMetaContextReply(set ? ALLOCATION_ID : 0, BASE_ALLOCATION),
          );
        }
        if (set) {
          s.metaExport = q.name;
          s.metaAllocation = match;
        }
        await reply(Rep.ACK);
        break;
      }
      default:
        await fail(Rep.ERR_UNSUP, `Unsupported option: ${option}`);
    }
  }
  return undefined;
}
