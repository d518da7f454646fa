/**
 * Codecs of the handshake: the greeting, options and option replies, and the
 * data the options and their replies carry (INFO/GO, meta contexts, LIST,
 * NBD_REP_INFO). Decoders read through a bounded {@link WireReader} and
 * encoders write through a {@link WireWriter}. Public through `protocol.ts`.
 *
 * @module
 */

import {
  IHAVEOPT,
  Info,
  NBDMAGIC,
  OPT_REPLY_MAGIC,
  OPTION_HEADER_SIZE,
  OPTION_REPLY_HEADER_SIZE,
} from "./_constants.ts";
import {
  decodeString,
  encodeString,
  NbdProtocolError,
  WireReader,
  WireWriter,
} from "./_wire.ts";

const EMPTY = new Uint8Array(0);

/**
 * The server's greeting: NBDMAGIC, IHAVEOPT and the 16-bit handshake flags.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeGreeting, encodeGreeting } from "@netfs/netfs/nbd";
 * const g = encodeGreeting(3);
 * assert.equal(new TextDecoder().decode(g.subarray(0, 16)), "NBDMAGICIHAVEOPT");
 * assert.equal(decodeGreeting(g), 3);
 * ```
 */
export function encodeGreeting(flags: number): Uint8Array {
  return new WireWriter(18)
    .u32(NBDMAGIC[0]).u32(NBDMAGIC[1])
    .u32(IHAVEOPT[0]).u32(IHAVEOPT[1])
    .u16(flags)
    .bytes();
}

/**
 * Decodes the server's 18-byte greeting and returns its handshake flags;
 * throws for an oldstyle or unknown server.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeGreeting, NbdProtocolError } from "@netfs/netfs/nbd";
 * assert.throws(() => decodeGreeting(new Uint8Array(18)), NbdProtocolError);
 * ```
 */
export function decodeGreeting(bytes: Uint8Array): number {
  if (bytes.length < 18) throw new NbdProtocolError("Greeting too short");
  const r = new WireReader(bytes, "Greeting");
  if (r.u32("magic") !== NBDMAGIC[0] || r.u32("magic") !== NBDMAGIC[1]) {
    throw new NbdProtocolError("Not an NBD server: bad NBDMAGIC");
  }
  if (r.u32("magic") !== IHAVEOPT[0] || r.u32("magic") !== IHAVEOPT[1]) {
    throw new NbdProtocolError("Not a newstyle NBD server: oldstyle magic");
  }
  return r.u16("handshake flags");
}

/** An option header as the client sends it. */
export interface OptionHeader {
  /** The option number ({@link Opt}). */
  option: number;
  /** Bytes of option data that follow. */
  length: number;
}

/**
 * Decodes a 16-byte option header; throws if the magic is not IHAVEOPT.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeOptionHeader, encodeOption, Opt } from "@netfs/netfs/nbd";
 * const h = decodeOptionHeader(encodeOption(Opt.LIST));
 * assert.deepEqual(h, { option: Opt.LIST, length: 0 });
 * ```
 */
export function decodeOptionHeader(bytes: Uint8Array): OptionHeader {
  if (bytes.length < OPTION_HEADER_SIZE) {
    throw new NbdProtocolError("Option header too short");
  }
  const r = new WireReader(bytes, "Option header");
  if (r.u32("magic") !== IHAVEOPT[0] || r.u32("magic") !== IHAVEOPT[1]) {
    throw new NbdProtocolError("Bad option magic: expected IHAVEOPT");
  }
  return { option: r.u32("option"), length: r.u32("length") };
}

/**
 * Encodes an option (header plus data) as the client sends it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeOption, Opt } from "@netfs/netfs/nbd";
 * assert.equal(encodeOption(Opt.ABORT).length, 16);
 * ```
 */
export function encodeOption(
  option: number,
  data: Uint8Array = EMPTY,
): Uint8Array {
  return new WireWriter(OPTION_HEADER_SIZE + data.length)
    .u32(IHAVEOPT[0]).u32(IHAVEOPT[1])
    .u32(option).u32(data.length)
    .raw(data)
    .bytes();
}

/**
 * Encodes an option reply (header plus data) as the server sends it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeOptionReplyHeader, encodeOptionReply, Opt, Rep } from "@netfs/netfs/nbd";
 * const b = encodeOptionReply(Opt.LIST, { type: Rep.ACK });
 * assert.equal(b.length, 20);
 * assert.deepEqual(decodeOptionReplyHeader(b), { option: Opt.LIST, type: Rep.ACK, length: 0 });
 * ```
 */
export function encodeOptionReply(
  option: number,
  reply: { type: number; data?: Uint8Array },
): Uint8Array {
  const { type, data = EMPTY } = reply;
  return new WireWriter(OPTION_REPLY_HEADER_SIZE + data.length)
    .u32(OPT_REPLY_MAGIC[0]).u32(OPT_REPLY_MAGIC[1])
    .u32(option).u32(type).u32(data.length)
    .raw(data)
    .bytes();
}

/** An option reply header as the client receives it. */
export interface OptionReplyHeader {
  /** The option this answers. */
  option: number;
  /** The reply type ({@link Rep}). */
  type: number;
  /** Bytes of reply data that follow. */
  length: number;
}

/**
 * Decodes a 20-byte option reply header; throws for a bad magic.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeOptionReplyHeader, NbdProtocolError } from "@netfs/netfs/nbd";
 * assert.throws(() => decodeOptionReplyHeader(new Uint8Array(20)), NbdProtocolError);
 * ```
 */
export function decodeOptionReplyHeader(bytes: Uint8Array): OptionReplyHeader {
  if (bytes.length < OPTION_REPLY_HEADER_SIZE) {
    throw new NbdProtocolError("Option reply header too short");
  }
  const r = new WireReader(bytes, "Option reply header");
  if (
    r.u32("magic") !== OPT_REPLY_MAGIC[0] ||
    r.u32("magic") !== OPT_REPLY_MAGIC[1]
  ) {
    throw new NbdProtocolError("Bad option reply magic");
  }
  return {
    option: r.u32("option"),
    type: r.u32("type"),
    length: r.u32("length"),
  };
}

/** The data of `NBD_OPT_INFO` and `NBD_OPT_GO`. */
export interface GoOption {
  /** Export name ("" for the default export). */
  name: string;
  /** Information types requested ({@link Info}). */
  requests: number[];
}

/**
 * Decodes the data of `NBD_OPT_INFO` / `NBD_OPT_GO`: the name length must fit,
 * and the request list must fill the rest exactly.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeGoOption, encodeGoOption, Info } from "@netfs/netfs/nbd";
 * const go = { name: "mem", requests: [Info.BLOCK_SIZE] };
 * assert.deepEqual(decodeGoOption(encodeGoOption(go)), go);
 * ```
 */
export function decodeGoOption(data: Uint8Array): GoOption {
  if (data.length < 6) {
    throw new NbdProtocolError(`Option data too short: ${data.length} bytes`);
  }
  const r = new WireReader(data, "Option data");
  const nameLen = r.u32("name length");
  if (nameLen > r.remaining - 2) {
    throw new NbdProtocolError(`Name length past the end: ${nameLen}`);
  }
  const name = r.string(nameLen, "export name");
  const count = r.u16("request count");
  if (2 * count !== r.remaining) {
    throw new NbdProtocolError(
      `Information request count does not fit: ${count}`,
    );
  }
  const requests: number[] = [];
  for (let i = 0; i < count; i++) requests.push(r.u16("information request"));
  return { name, requests };
}

/**
 * Encodes the data of `NBD_OPT_INFO` / `NBD_OPT_GO`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeGoOption, Info } from "@netfs/netfs/nbd";
 * // name length 0, one request: NBD_INFO_BLOCK_SIZE
 * assert.deepEqual([...encodeGoOption({ name: "", requests: [Info.BLOCK_SIZE] })], [0, 0, 0, 0, 0, 1, 0, 3]);
 * ```
 */
export function encodeGoOption(go: GoOption): Uint8Array {
  const name = encodeString(go.name);
  const w = new WireWriter(6 + name.length + 2 * go.requests.length)
    .u32(name.length).raw(name).u16(go.requests.length);
  for (const r of go.requests) w.u16(r);
  return w.bytes();
}

/** The data of `NBD_OPT_LIST_META_CONTEXT` / `NBD_OPT_SET_META_CONTEXT`. */
export interface MetaContextOption {
  /** Export name. */
  name: string;
  /** Queries such as `base:allocation` or `base:`. */
  queries: string[];
}

/**
 * Decodes the data of the meta context options; every length is checked
 * against the bytes left and the data must be consumed exactly.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeMetaContextOption, encodeMetaContextOption } from "@netfs/netfs/nbd";
 * const o = { name: "mem", queries: ["base:allocation"] };
 * assert.deepEqual(decodeMetaContextOption(encodeMetaContextOption(o)), o);
 * ```
 */
export function decodeMetaContextOption(data: Uint8Array): MetaContextOption {
  const r = new WireReader(data, "Meta context option");
  const nameLen = r.u32("name length");
  const name = decodeString(r.raw(nameLen, "name"), "export name");
  const count = r.u32("query count");
  // Each query needs at least its 4-byte length: refuse absurd counts early.
  if (count > r.remaining / 4) {
    throw new NbdProtocolError(`Query count past the end: ${count}`);
  }
  const queries: string[] = [];
  for (let i = 0; i < count; i++) {
    const len = r.u32("query length");
    queries.push(r.string(len, "query"));
  }
  if (r.remaining !== 0) {
    throw new NbdProtocolError(
      `Trailing bytes after queries: ${r.remaining}`,
    );
  }
  return { name, queries };
}

/**
 * Encodes the data of the meta context options.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeMetaContextOption } from "@netfs/netfs/nbd";
 * // name length 0, query count 0
 * assert.deepEqual([...encodeMetaContextOption({ name: "", queries: [] })], [0, 0, 0, 0, 0, 0, 0, 0]);
 * ```
 */
export function encodeMetaContextOption(o: MetaContextOption): Uint8Array {
  const name = encodeString(o.name);
  const qs = o.queries.map(encodeString);
  const w = new WireWriter(
    8 + name.length + qs.reduce((n, q) => n + 4 + q.length, 0),
  ).u32(name.length).raw(name).u32(qs.length);
  for (const q of qs) w.u32(q.length).raw(q);
  return w.bytes();
}

/** Size constraints of an export (`NBD_INFO_BLOCK_SIZE`). */
export interface BlockSize {
  /** Minimum block size: a power of two, 1 to 65536. */
  min: number;
  /** Preferred block size: a power of two, at least max(min, 512). */
  preferred: number;
  /** Maximum payload of one request. */
  max: number;
}

/**
 * Checks block size constraints against the spec's rules and returns them;
 * throws a `RangeError` naming the bad value.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkBlockSize } from "@netfs/netfs/nbd";
 * const ok = { min: 512, preferred: 4096, max: 1 << 25 };
 * assert.equal(checkBlockSize(ok), ok);
 * assert.throws(() => checkBlockSize({ ...ok, min: 3 }), RangeError);
 * ```
 */
export function checkBlockSize(b: BlockSize): BlockSize {
  const pow2 = (n: number) =>
    Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
  if (!pow2(b.min) || b.min > 65536) {
    throw new RangeError(
      `Minimum block size must be a power of two up to 65536: ${b.min}`,
    );
  }
  if (!pow2(b.preferred) || b.preferred < Math.max(b.min, 512)) {
    throw new RangeError(
      `Preferred block size must be a power of two at least max(min, 512): ${b.preferred}`,
    );
  }
  if (
    !Number.isInteger(b.max) || b.max < b.preferred || b.max > 0xffffffff ||
    b.max % b.min !== 0
  ) {
    throw new RangeError(
      `Maximum payload must be a multiple of min, at least preferred, below 2^32: ${b.max}`,
    );
  }
  return b;
}

/** What `NBD_OPT_INFO` / `NBD_OPT_GO` told about an export. */
export interface ExportInfo {
  /** Canonical name, when the server sent `NBD_INFO_NAME`. */
  name?: string;
  /** Description, when the server sent `NBD_INFO_DESCRIPTION`. */
  description?: string;
  /** Size in bytes. */
  size: number;
  /** Transmission flags ({@link TxFlag}). */
  flags: number;
  /** Size constraints, when the server sent `NBD_INFO_BLOCK_SIZE`. */
  blockSize?: BlockSize;
}

/**
 * Encodes the data of one `NBD_REP_INFO` reply.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeInfo, encodeInfo, type ExportInfo } from "@netfs/netfs/nbd";
 * const info: ExportInfo = { size: 0, flags: 0 };
 * decodeInfo(encodeInfo({ type: "export", size: 1024, flags: 1 }), info);
 * assert.deepEqual(info, { size: 1024, flags: 1 });
 * ```
 */
export function encodeInfo(
  info:
    | { type: "export"; size: number; flags: number }
    | { type: "name"; name: string }
    | { type: "description"; description: string }
    | { type: "block size"; blockSize: BlockSize },
): Uint8Array {
  switch (info.type) {
    case "export":
      return new WireWriter(12)
        .u16(Info.EXPORT).u64(info.size).u16(info.flags).bytes();
    case "name":
    case "description": {
      const s = encodeString(
        info.type === "name" ? info.name : info.description,
      );
      return new WireWriter(2 + s.length)
        .u16(info.type === "name" ? Info.NAME : Info.DESCRIPTION)
        .raw(s)
        .bytes();
    }
    case "block size":
      return new WireWriter(14)
        .u16(Info.BLOCK_SIZE)
        .u32(info.blockSize.min)
        .u32(info.blockSize.preferred)
        .u32(info.blockSize.max)
        .bytes();
  }
}

/**
 * Folds the data of one `NBD_REP_INFO` reply into `into`; unknown types are
 * ignored as the spec requires, known types with a wrong length throw.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeInfo, encodeInfo, type ExportInfo } from "@netfs/netfs/nbd";
 * const info: ExportInfo = { size: 0, flags: 0 };
 * decodeInfo(encodeInfo({ type: "name", name: "mem" }), info);
 * decodeInfo(new Uint8Array([0, 99]), info); // an unknown type: ignored
 * assert.deepEqual(info, { size: 0, flags: 0, name: "mem" });
 * ```
 */
export function decodeInfo(data: Uint8Array, into: ExportInfo): void {
  if (data.length < 2) {
    throw new NbdProtocolError(`Info reply too short: ${data.length}`);
  }
  const r = new WireReader(data, "Info reply");
  switch (r.u16("information type")) {
    case Info.EXPORT:
      if (data.length !== 12) {
        throw new NbdProtocolError(
          `Bad NBD_INFO_EXPORT length: ${data.length}`,
        );
      }
      into.size = r.u64("size");
      into.flags = r.u16("transmission flags");
      return;
    case Info.NAME:
      into.name = decodeString(r.rest(), "export name");
      return;
    case Info.DESCRIPTION:
      into.description = decodeString(r.rest(), "description");
      return;
    case Info.BLOCK_SIZE:
      if (data.length !== 14) {
        throw new NbdProtocolError(
          `Bad NBD_INFO_BLOCK_SIZE length: ${data.length}`,
        );
      }
      into.blockSize = {
        min: r.u32("minimum block size"),
        preferred: r.u32("preferred block size"),
        max: r.u32("maximum payload"),
      };
      return;
  }
}

/**
 * Encodes the data of an `NBD_REP_SERVER` reply (LIST).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeServerReply, encodeServerReply } from "@netfs/netfs/nbd";
 * const b = encodeServerReply("mem", "1 GiB");
 * assert.deepEqual(decodeServerReply(b), { name: "mem", description: "1 GiB" });
 * ```
 */
export function encodeServerReply(name: string, description = ""): Uint8Array {
  const n = encodeString(name);
  const d = encodeString(description);
  return new WireWriter(4 + n.length + d.length)
    .u32(n.length).raw(n).raw(d).bytes();
}

/**
 * Decodes the data of an `NBD_REP_SERVER` reply.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeServerReply, NbdProtocolError } from "@netfs/netfs/nbd";
 * // The name length (9) runs past the 4 bytes of data that follow.
 * const b = new Uint8Array([0, 0, 0, 9, 0x6d, 0x65, 0x6d, 0x21]);
 * assert.throws(() => decodeServerReply(b), NbdProtocolError);
 * ```
 */
export function decodeServerReply(
  data: Uint8Array,
): { name: string; description: string } {
  if (data.length < 4) throw new NbdProtocolError("Server reply too short");
  const r = new WireReader(data, "Server reply");
  const len = r.u32("name length");
  if (len > r.remaining) {
    throw new NbdProtocolError(`Name length past the end: ${len}`);
  }
  return {
    name: r.string(len, "export name"),
    description: decodeString(r.rest(), "description"),
  };
}

/**
 * Encodes the data of an `NBD_REP_META_CONTEXT` reply.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeMetaContextReply, encodeMetaContextReply } from "@netfs/netfs/nbd";
 * const b = encodeMetaContextReply(1, "base:allocation");
 * assert.deepEqual(decodeMetaContextReply(b), { id: 1, name: "base:allocation" });
 * ```
 */
export function encodeMetaContextReply(id: number, name: string): Uint8Array {
  const n = encodeString(name);
  return new WireWriter(4 + n.length).u32(id).raw(n).bytes();
}

/**
 * Decodes the data of an `NBD_REP_META_CONTEXT` reply.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeMetaContextReply, NbdProtocolError } from "@netfs/netfs/nbd";
 * assert.throws(() => decodeMetaContextReply(new Uint8Array(3)), NbdProtocolError);
 * ```
 */
export function decodeMetaContextReply(
  data: Uint8Array,
): { id: number; name: string } {
  if (data.length < 4) {
    throw new NbdProtocolError("Meta context reply too short");
  }
  const r = new WireReader(data, "Meta context reply");
  const id = r.u32("context id");
  return { id, name: decodeString(r.rest(), "meta context") };
}
