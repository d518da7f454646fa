/**
 * State shared by the server's handshake and transmission phases.
 *
 * @module
 */

import type { ConnectionInfo } from "../net/connection.ts";
import { BufferedReader, type Stream, writeAll } from "./_stream.ts";
import type { Device } from "./device.ts";
import type { BlockSize } from "./protocol.ts";

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
  log: (message: string) => void;
}

/** One connection's negotiated state. */
export class Session {
  stream: Stream;
  reader: BufferedReader;
  readonly info: ConnectionInfo;
  /** Set by STARTTLS. */
  tls = false;
  /** Client set NBD_FLAG_C_FIXED_NEWSTYLE. */
  fixed = false;
  /** Client set NBD_FLAG_C_NO_ZEROES. */
  noZeroes = false;
  structured = false;
  extended = false;
  /** Export name the last SET_META_CONTEXT referred to, and whether it selected base:allocation. */
  metaExport: string | undefined = undefined;
  metaAllocation = false;
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

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.stream.close();
    } catch { /* already closed */ }
  }
}
