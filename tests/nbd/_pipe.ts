// An in-memory byte pipe with the Stream interface the NBD server takes, and
// a server that runs sessions over it: the handshake and transmission shells
// are exercised without a socket, with reads cut into small chunks.
import assert from "node:assert/strict";
import type { ResolvedExport, ServerContext } from "../../nbd/_session.ts";
import { serveSession, Session } from "../../nbd/_session.ts";
import type { Stream } from "../../nbd/_stream.ts";
import type { TransmissionControl } from "../../nbd/_transmission.ts";
import type { Device } from "../../nbd/device.ts";
import type { BlockSize } from "../../nbd/protocol.ts";
import { Raw } from "./_raw.ts";

/** One end of a {@link pipe}. */
export interface PipeEnd extends Stream {
  /** Ends what this end sends (the peer reads end of stream); reading goes on. */
  closeWrite(): void;
}

class End implements PipeEnd {
  #in: Uint8Array[] = [];
  #waiting: (() => void) | undefined;
  #eof = false; // the peer closed
  #closed = false; // this end closed
  peer!: End;
  readonly #chunk: () => number;

  constructor(chunk: () => number) {
    this.#chunk = chunk;
  }

  #wake(): void {
    const w = this.#waiting;
    this.#waiting = undefined;
    w?.();
  }

  deliver(b: Uint8Array): void {
    this.#in.push(b);
    this.#wake();
  }

  hangUp(): void {
    this.#eof = true;
    this.#wake();
  }

  async read(p: Uint8Array): Promise<number | null> {
    while (!this.#in.length && !this.#eof && !this.#closed) {
      await new Promise<void>((r) => this.#waiting = r);
    }
    if (this.#closed) throw new Error("Bad resource: the pipe end is closed");
    if (!this.#in.length) return null;
    const head = this.#in[0];
    const n = Math.min(p.length, head.length, Math.max(1, this.#chunk()));
    p.set(head.subarray(0, n));
    if (n === head.length) this.#in.shift();
    else this.#in[0] = head.subarray(n);
    return n;
  }

  write(p: Uint8Array): Promise<number> {
    if (this.#closed || this.peer.#closed) {
      return Promise.reject(new Error("Broken pipe"));
    }
    this.peer.deliver(p.slice()); // writers reuse their buffers
    return Promise.resolve(p.length);
  }

  closeWrite(): void {
    this.peer.hangUp();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#in = [];
    this.#wake();
    this.peer.hangUp();
  }
}

/**
 * Two connected ends. `chunk` bounds the bytes one read returns (a number,
 * or a function called per read), so every parser sees split messages.
 */
export function pipe(
  chunk: number | (() => number) = 1 << 30,
): [PipeEnd, PipeEnd] {
  const f = typeof chunk === "number" ? () => chunk : chunk;
  const a = new End(f);
  const b = new End(f);
  a.peer = b;
  b.peer = a;
  return [a, b];
}

/** Numbers in [0, 1) from a seed (a small LCG: failures replay exactly). */
export function random(seed: number): () => number {
  let s = seed & 0x7fffffff;
  return () => (s = (s * 1103515245 + 12345) & 0x7fffffff) / 0x80000000;
}

/** Reads of 1 to 7 bytes, from a fixed seed. */
export function smallChunks(seed = 7): () => number {
  const r = random(seed);
  return () => 1 + Math.floor(r() * 7);
}

export interface PipeServerOptions {
  exports: { name: string; device: Device; description?: string }[];
  defaultExport?: string;
  tls?: ServerContext["tls"];
  blockSize?: BlockSize;
  maxInFlight?: number;
  maxOptionLength?: number;
  /** Bytes per read on the server's side (default: small random chunks). */
  chunk?: number | (() => number);
}

/** A server context with serveNbd's defaults (block size 1/4096/64 MiB). */
export function context(
  o: PipeServerOptions,
  log: (message: string) => void = () => {},
): ServerContext {
  const exports = new Map<string, ResolvedExport>();
  for (const e of o.exports) exports.set(e.name, { ...e });
  return {
    exports,
    defaultExport: o.defaultExport,
    tls: o.tls,
    blockSize: o.blockSize ?? { min: 1, preferred: 4096, max: 1 << 26 },
    maxInFlight: o.maxInFlight ?? 128,
    maxOptionLength: o.maxOptionLength ?? 65536,
    shuttingDown: false,
    log,
  };
}

interface Live {
  session: Session;
  control: TransmissionControl;
  done: Promise<void>;
  error?: unknown;
}

/** The server's side of in-memory sessions: serveSession over a pipe each. */
export class PipeServer {
  readonly ctx: ServerContext;
  readonly logs: string[] = [];
  readonly sessions: Live[] = [];
  readonly #chunk: number | (() => number);

  constructor(o: PipeServerOptions) {
    this.ctx = context(o, (m) => this.logs.push(m));
    this.#chunk = o.chunk ?? smallChunks();
  }

  /** Starts a session; returns the client's end, greeting read, `flags` sent. */
  async connect(flags: number | undefined = 3): Promise<Raw> {
    return await Raw.over(this.open(), flags);
  }

  /** Starts a session; returns the client's end as it is (greeting unread). */
  open(): PipeEnd {
    const [server, client] = pipe(this.#chunk);
    const session = new Session(server, {
      id: this.sessions.length + 1,
      remote: { transport: "tcp", hostname: "127.0.0.1", port: 1 },
      local: { transport: "tcp", hostname: "127.0.0.1", port: 10809 },
      since: Date.now(),
      bytesIn: 0,
      bytesOut: 0,
      requests: 0,
    });
    const live: Live = {
      session,
      control: { inflight: () => 0, bytesOut: () => 0 },
      done: Promise.resolve(),
    };
    live.done = serveSession(session, this.ctx, live.control)
      .catch((e) => {
        live.error = e;
      })
      .finally(() => session.close());
    this.sessions.push(live);
    return client;
  }

  /** Graceful shutdown, as the server does it; resolves when every session ended. */
  async shutdown(): Promise<void> {
    this.ctx.shuttingDown = true;
    for (const l of this.sessions) {
      if (l.control.shutdown) l.control.shutdown();
      else l.session.close();
    }
    await this.finished();
  }

  /** Resolves when every session ended. */
  async finished(): Promise<void> {
    await Promise.all(this.sessions.map((l) => l.done));
  }

  /** What sessions threw, but for the pipe closing under them (a peer gone). */
  unexpected(): unknown[] {
    return this.sessions.map((l) => l.error).filter((e) =>
      e !== undefined &&
      !/^(Broken pipe|Bad resource)/.test(String((e as Error)?.message))
    );
  }
}

/**
 * Runs `fn` against a fresh pipe server, shuts it down after, and checks
 * that no session ended in an exception.
 */
export async function withPipeServer(
  options: PipeServerOptions,
  fn: (s: PipeServer) => Promise<void>,
): Promise<void> {
  const s = new PipeServer(options);
  try {
    await fn(s);
  } finally {
    await s.shutdown();
  }
  assert.deepEqual(s.unexpected(), [], "sessions end without exceptions");
}
