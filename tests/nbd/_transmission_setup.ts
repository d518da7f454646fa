// What the transmission tests share: a device set served over a socket or
// an in-memory pipe, a raw connection already in transmission, and the errno
// a client call failed with.
import assert from "node:assert/strict";
import type { Device } from "../../nbd/device.ts";
import { NbdError } from "../../nbd/errors.ts";
import { encodeOption, Opt } from "../../nbd/protocol.ts";
import {
  type NbdServer,
  serveNbd,
  type ServeNbdOptions,
} from "../../nbd/server.ts";
import {
  type PipeServer,
  type PipeServerOptions,
  withPipeServer,
} from "./_pipe.ts";
import { enc, Raw } from "./_raw.ts";

/** Serves `devices` on a port of its own for the length of `fn`. */
export async function withServer(
  devices: Record<string, Device>,
  fn: (s: NbdServer) => Promise<void>,
  extra: Partial<ServeNbdOptions> = {},
): Promise<void> {
  const s = serveNbd({
    port: 0,
    exports: Object.entries(devices).map(([name, device]) => ({
      name,
      device,
    })),
    ...extra,
  });
  try {
    await fn(s);
  } finally {
    await s.shutdown();
  }
}

/** The same over an in-memory pipe: serveSession without a socket. */
export function withPipe(
  devices: Record<string, Device>,
  fn: (s: PipeServer) => Promise<void>,
  extra: Partial<PipeServerOptions> = {},
): Promise<void> {
  const exports = Object.entries(devices).map(([name, device]) => ({
    name,
    device,
  }));
  return withPipeServer({ exports, ...extra }, fn);
}

/** A raw connection in transmission on `name`, simple replies. */
export async function simpleConn(
  server: number | PipeServer,
  name: string,
): Promise<Raw> {
  const r = typeof server === "number"
    ? await Raw.connect(server)
    : await server.connect();
  await r.send(encodeOption(Opt.EXPORT_NAME, enc(name)));
  assert.ok(await r.read(10));
  return r;
}

/** The errno `p` is rejected with as an NbdError, or 0 if it resolves. */
export async function errnoOf(p: Promise<unknown>): Promise<number> {
  try {
    await p;
  } catch (e) {
    if (e instanceof NbdError) return e.errno;
    throw e;
  }
  return 0;
}
