/**
 * One server connection from greeting to close: its stream and counters
 * ({@link Session}), the server-wide settings it reads ({@link ServerContext}),
 * and the shell that runs the handshake's state machine (`_handshake.ts`)
 * over the stream before handing over to transmission (`_transmission.ts`).
 * Everything takes a {@link Stream}, so tests run whole sessions over an
 * in-memory pipe.
 *
 * @module
 */

import type { ConnectionInfo } from "../net/mod.ts";
import {
  afterTls,
  greeting,
  type HandshakeState,
  type Negotiated,
  onClientFlags,
  onOption,
  onOptionHeader,
  type Step,
} from "./_handshake.ts";
import { OPTION_HEADER_SIZE } from "./_constants.ts";
import { MAX_PAYLOAD } from "./_commands.ts";
import { BufferedReader, type Stream, writeAll } from "./_stream.ts";
import { serverTls } from "./_tls.ts";
import { type TransmissionControl, transmit } from "./_transmission.ts";
import type { Device } from "./device.ts";
import { type BlockSize, checkBlockSize } from "./protocol.ts";
import type { ServeNbdOptions } from "./server.ts";
import type { NbdMetrics } from "./_metrics.ts";
import { type LogFields, type Logger, peerOf } from "../telemetry/log.ts";

/** An export as the server resolved it. */
export interface ResolvedExport {
  name: string;
  device: Device;
  description?: string;
}

/** Server-wide settings the per-connection code reads. */
export interface ServerContext {
  exports: Map<string, ResolvedExport>;
  defaultExport?: string;
  tls?: { mode: "off" | "optional" | "required"; cert: string; key: string };
  blockSize: BlockSize;
  maxInFlight: number;
  maxOptionLength: number;
  shuttingDown: boolean;
  /** Plain log lines (the `log` option), when no `logger` was given. */
  log: (message: string) => void;
  /** The levelled logger, when one was given. */
  logger?: Logger;
  /** The series to count in, when a registry was given. */
  metrics?: NbdMetrics;
}

/** The options {@link serverContext} reads (those of `serveNbd` about exports and limits). */
export type ContextOptions = Pick<
  ServeNbdOptions,
  | "exports"
  | "defaultExport"
  | "tls"
  | "maxInFlight"
  | "maxPayload"
  | "blockSize"
  | "log"
>;

/** Checks the exports and limits and builds the settings sessions read. */
export function serverContext(options: ContextOptions): ServerContext {
  const exports = new Map<string, ResolvedExport>();
  if (options.exports instanceof Map) {
    for (const [name, e] of options.exports) {
      exports.set(name, { name, device: e.device, description: e.description });
    }
  } else {
    for (const e of options.exports) exports.set(e.name, { ...e });
  }
  for (const e of exports.values()) {
    if (new TextEncoder().encode(e.name).length > 4096) {
      throw new RangeError(
        `Export name longer than 4096 bytes: ${e.name.slice(0, 40)}…`,
      );
    }
    if (!Number.isSafeInteger(e.device.size) || e.device.size < 0) {
      throw new RangeError(
        `Device size must be a non-negative safe integer: ${e.name}`,
      );
    }
  }
  if (
    options.defaultExport !== undefined && !exports.has(options.defaultExport)
  ) {
    throw new RangeError(
      `Default export does not exist: ${options.defaultExport}`,
    );
  }
  if (
    options.tls && options.tls.mode !== "off" &&
    (!options.tls.cert || !options.tls.key)
  ) {
    throw new TypeError("TLS needs a certificate and a key");
  }
  const maxPayload = options.maxPayload ?? options.blockSize?.max ??
    MAX_PAYLOAD;
  const min = options.blockSize?.min ?? 1;
  const blockSize = checkBlockSize({
    min,
    preferred: options.blockSize?.preferred ?? Math.max(4096, min),
    max: maxPayload,
  });
  return {
    exports,
    defaultExport: options.defaultExport,
    tls: options.tls,
    blockSize,
    maxInFlight: Math.max(1, options.maxInFlight ?? 128),
    maxOptionLength: 65536,
    shuttingDown: false,
    log: options.log ?? (() => {}),
  };
}

/** One connection's stream and counters. */
export class Session {
  stream: Stream;
  reader: BufferedReader;
  readonly info: ConnectionInfo;
  /** Closed by the server (shutdown or disconnect). */
  closed = false;
  /** Bytes written during the handshake (the transmission writer counts its own). */
  handshakeOut = 0;

  constructor(stream: Stream, info: ConnectionInfo) {
    this.stream = stream;
    this.reader = new BufferedReader(stream);
    this.info = info;
  }

  /** Writes handshake bytes directly (the handshake is strictly request/response). */
  async send(bytes: Uint8Array): Promise<void> {
    await writeAll(this.stream, bytes);
    this.handshakeOut += bytes.length;
    this.info.bytesOut += bytes.length;
  }

  /** Replaces the stream (after STARTTLS). */
  switchStream(s: Stream): void {
    const before = this.reader.bytesIn;
    this.stream = s;
    this.reader = new BufferedReader(s);
    this.reader.bytesIn = before;
  }

  /** Logs `message` as this connection's (a peer's misstep: warn level). */
  log(ctx: ServerContext, message: string): void {
    if (ctx.logger) ctx.logger.warn(message, this.fields);
    else ctx.log(`connection ${this.info.id}: ${message}`);
  }

  /** The fields of this connection's log lines: its id and peer. */
  get fields(): LogFields {
    return { conn: this.info.id, peer: peerOf(this.info.remote) };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.stream.close();
    } catch { /* already closed */ }
  }
}

/**
 * Runs the handshake; resolves with the chosen export, or undefined when the
 * session ended (abort, hard disconnect, end of stream).
 */
export async function negotiate(
  s: Session,
  ctx: ServerContext,
): Promise<Negotiated | undefined> {
  await s.send(greeting());
  if (!await s.reader.fill(4)) return undefined;
  const flags = s.reader.take(4);
  let step: Step = onClientFlags(
    ctx,
    ((flags[0] << 24) | (flags[1] << 16) | (flags[2] << 8) | flags[3]) >>> 0,
  );
  for (;;) {
    if (step.next === "close") {
      if (step.log) s.log(ctx, step.log);
      for (const b of step.send) await s.send(b).catch(() => {});
      return undefined;
    }
    for (const b of step.send) await s.send(b);
    if (step.next === "transmit") return step.negotiated;
    let state: HandshakeState = step.state;
    if (step.next === "starttls") {
      const tls = ctx.tls!;
      try {
        s.switchStream(
          await serverTls(s.stream, {
            cert: tls.cert,
            key: tls.key,
            leftover: s.reader.drain(),
          }),
        );
      } catch (e) {
        s.log(ctx, `TLS handshake failed: ${(e as Error).message}`);
        return undefined;
      }
      state = afterTls(state);
    }
    if (s.closed || !await s.reader.fill(OPTION_HEADER_SIZE)) return undefined;
    const header = onOptionHeader(ctx, s.reader.take(OPTION_HEADER_SIZE));
    if (header.next !== "data") {
      step = header;
      continue;
    }
    const data = new Uint8Array(header.length);
    if (!await s.reader.readInto(data)) return undefined;
    step = onOption(ctx, state, header.option, data);
  }
}

/** Runs one connection: the handshake, then transmission until it ends. */
export async function serveSession(
  s: Session,
  ctx: ServerContext,
  control: TransmissionControl,
): Promise<void> {
  const neg = await negotiate(s, ctx);
  if (neg && !s.closed) await transmit(s, ctx, neg, control);
}
