/**
 * `netfs nbd list|info|copy`: the NBD client verbs, on `nbd/client.ts`.
 * Addresses are NBD URIs as libnbd writes them: `nbd://HOST[:PORT]/EXPORT`
 * (`nbds://` for TLS; an empty export is the server's default).
 *
 * @module
 */

import { open as openFile } from "node:fs/promises";
import {
  connectNbd,
  type NbdClientTlsOptions,
  NbdHandshake,
  NbdOptionError,
} from "../nbd/client.ts";
import type { NbdConnection } from "../nbd/client.ts";
import { Info, Rep, TxFlag } from "../nbd/protocol.ts";
import { parse, UsageError } from "./_args.ts";
import { checkPermissions, fileNeeds, type Need, netNeed } from "./_runtime.ts";
import { Progress } from "./_progress.ts";
import { nbdKernelCommand } from "./nbd_kernel.ts";
import { type NbdUri, parseNbdUri, uriArg } from "./_nbd_uri.ts";

export { type NbdUri, parseNbdUri } from "./_nbd_uri.ts";

/** `netfs nbd --help`. */
export const NBD_HELP = `Usage: netfs nbd list URI
       netfs nbd info URI
       netfs nbd copy SRC DST
       netfs nbd attach URI | loopback --memory SIZE | loopback FILE

NBD client verbs. URI is nbd://HOST[:PORT]/EXPORT (port 10809 by default;
nbds:// upgrades with STARTTLS; no EXPORT means the server's default).

  list URI         the server's exports and their descriptions
  info URI         an export's size, flags and block sizes
  copy SRC DST     copy a whole export to a file, a file to an export, or
                   export to export; - is standard input or output. Zero
                   blocks become holes in a new file and WRITE_ZEROES on an
                   export. Shows progress on a terminal.
  attach URI       (Linux, root) the export as /dev/nbdX until SIGINT/SIGTERM
  loopback ...     (Linux, root) a RAM disk or file as /dev/nbdX, served by
                   this process; see: netfs nbd attach --help

Options:
  --json                 machine-readable output on standard output
  --tls-ca FILE          trusted CA certificate (PEM) for nbds:// (default: system)
  --connections N        copy: requests in flight (default 4)
  --log-level, --log-format  as for the other verbs
  -h, --help             this help

Permissions (deno run): --allow-net=HOST:PORT, --allow-read for a source file
or CA file, --allow-write for a destination file.

Examples:
  netfs nbd list nbd://127.0.0.1
  netfs nbd info nbd://127.0.0.1:10809/disk --json
  netfs nbd copy nbd://127.0.0.1/disk ./backup.img
  netfs nbd copy ./disk.img nbd://192.0.2.10:10809/disk
`;

const OPTIONS = {
  json: { type: "boolean" },
  "tls-ca": { type: "string" },
  connections: { type: "string" },
} as const;

async function tlsOf(
  u: NbdUri,
  ca: string | undefined,
): Promise<NbdClientTlsOptions | undefined> {
  if (!u.tls) return undefined;
  return ca ? { caCerts: [await Deno.readTextFile(ca)] } : {};
}

/** Runs `netfs nbd ARGS`; resolves with the exit status. */
export async function nbdCommand(args: string[]): Promise<number> {
  try {
    return await nbdVerb(args);
  } catch (e) {
    if (e instanceof NbdOptionError && e.reply === Rep.ERR_TLS_REQD) {
      if (args[0] === "attach") {
        throw new Error(
          "The server requires TLS, and the kernel's NBD driver takes plain connections only",
        );
      }
      throw new Error(
        "The server requires TLS: use nbds:// (with --tls-ca FILE unless its CA is in the system store)",
      );
    }
    throw e;
  }
}

async function nbdVerb(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === undefined || sub === "--help" || sub === "-h" || sub === "help") {
    console.log(NBD_HELP);
    return sub === undefined ? 2 : 0;
  }
  if (sub === "attach" || sub === "loopback") {
    return await nbdKernelCommand(sub, rest);
  }
  if (!["list", "info", "copy"].includes(sub)) {
    throw new UsageError(
      `Unknown nbd verb: ${sub} (expected list, info, copy, attach or loopback)`,
    );
  }
  const { values, positionals } = parse(`nbd ${sub}`, rest, OPTIONS);
  if (values.help) {
    console.log(NBD_HELP);
    return 0;
  }
  const want = sub === "copy" ? 2 : 1;
  if (positionals.length > want) {
    throw new UsageError(
      `Too many arguments: ${positionals.slice(want).join(" ")}`,
    );
  }
  const ca = values["tls-ca"];
  if (sub === "list" || sub === "info") {
    const u = uriArg(positionals[0], sub);
    const needs = [netNeed(u.hostname, u.port)];
    if (ca) needs.push(...fileNeeds(ca, false));
    checkPermissions(needs);
    const tls = await tlsOf(u, ca);
    return sub === "list"
      ? await list(u, tls, values.json ?? false)
      : await info(u, tls, values.json ?? false);
  }
  if (positionals.length < 2) {
    throw new UsageError(
      "Copy needs a source and a destination (see: netfs nbd copy --help)",
    );
  }
  const inFlight = values.connections === undefined
    ? 4
    : Number(values.connections);
  if (!Number.isInteger(inFlight) || inFlight < 1 || inFlight > 64) {
    throw new UsageError(
      `Invalid --connections: ${values.connections} (expected a whole number from 1 to 64)`,
    );
  }
  return await copy(positionals[0], positionals[1], {
    ca,
    json: values.json ?? false,
    inFlight,
  });
}

async function list(
  u: NbdUri,
  tls: NbdClientTlsOptions | undefined,
  json: boolean,
): Promise<number> {
  const h = await NbdHandshake.connect(u);
  try {
    if (tls) await h.startTls(tls);
    const exports = await h.list();
    await h.abort();
    if (json) console.log(JSON.stringify(exports));
    else {
      for (const e of exports) {
        console.log(e.description ? `${e.name}\t${e.description}` : e.name);
      }
    }
    return 0;
  } finally {
    h.close();
  }
}

const FLAG_NAMES = Object.entries(TxFlag)
  .filter(([n]) => n !== "HAS_FLAGS")
  .map(([n, v]) => [n.replace(/^SEND_/, "").toLowerCase(), v] as const);

async function info(
  u: NbdUri,
  tls: NbdClientTlsOptions | undefined,
  json: boolean,
): Promise<number> {
  const h = await NbdHandshake.connect(u);
  try {
    if (tls) await h.startTls(tls);
    const i = await h.info(u.export, [
      Info.NAME,
      Info.DESCRIPTION,
      Info.BLOCK_SIZE,
    ]);
    await h.abort();
    const flags = FLAG_NAMES.filter(([, v]) => i.flags & v).map(([n]) => n);
    const out = {
      export: i.name ?? u.export,
      size: i.size,
      description: i.description ?? "",
      readOnly: (i.flags & TxFlag.READ_ONLY) !== 0,
      flags,
      blockSize: i.blockSize,
    };
    if (json) console.log(JSON.stringify(out));
    else {
      console.log(
        [
          `export:      ${out.export || "(default)"}`,
          `size:        ${out.size} bytes`,
          ...(out.description ? [`description: ${out.description}`] : []),
          `read-only:   ${out.readOnly ? "yes" : "no"}`,
          `flags:       ${flags.join(" ")}`,
          ...(i.blockSize
            ? [
              `block size:  min ${i.blockSize.min}, preferred ${i.blockSize.preferred}, max ${i.blockSize.max}`,
            ]
            : []),
        ].join("\n"),
      );
    }
    return 0;
  } finally {
    h.close();
  }
}

/** One end of a copy. */
interface End {
  readonly size: number;
  read?(offset: number, into: Uint8Array): Promise<void>;
  write?(offset: number, data: Uint8Array): Promise<void>;
  zero?(offset: number, length: number): Promise<void>;
  /** Only in order, one at a time (standard input and output). */
  readonly sequential: boolean;
  close(): Promise<void>;
}

const CHUNK = 1 << 20;

async function nbdEnd(
  u: NbdUri,
  ca: string | undefined,
  writing: boolean,
): Promise<End> {
  const disk: NbdConnection = await connectNbd({
    ...u,
    tls: await tlsOf(u, ca),
  });
  if (writing && (disk.flags & TxFlag.READ_ONLY)) {
    await disk.close();
    throw new UsageError(
      `Destination export is read-only: ${u.export || "(default)"}`,
    );
  }
  const zeroes = (disk.flags & TxFlag.SEND_WRITE_ZEROES) !== 0;
  return {
    size: disk.size,
    sequential: false,
    read: async (offset, into) => {
      into.set(await disk.readAt(offset, into.byteLength));
    },
    write: (offset, data) => disk.writeAt(offset, data),
    zero: zeroes
      ? (offset, length) => disk.writeZeroes(offset, length)
      : undefined,
    close: async () => {
      try {
        if (writing) await disk.flush();
      } finally {
        await disk.close();
      }
    },
  };
}

async function copy(
  src: string,
  dst: string,
  o: { ca?: string; json: boolean; inFlight: number },
): Promise<number> {
  const su = parseNbdUri(src);
  const du = parseNbdUri(dst);
  if (!su && !du) {
    throw new UsageError("Copy needs an NBD URI on at least one side");
  }
  const needs: Need[] = [];
  if (su) needs.push(netNeed(su.hostname, su.port));
  else if (src !== "-") needs.push(...fileNeeds(src, false));
  if (du) needs.push(netNeed(du.hostname, du.port));
  else if (dst !== "-") needs.push(...fileNeeds(dst, true));
  if (o.ca) needs.push(...fileNeeds(o.ca, false));
  checkPermissions(needs);
  const from = su ? await nbdEnd(su, o.ca, false) : await fileSource(src);
  let to: End | undefined;
  let closed = false;
  try {
    to = du ? await nbdEnd(du, o.ca, true) : await fileDest(dst, from.size);
    if (to.size < from.size) {
      throw new UsageError(
        `Destination is smaller than the source: ${to.size} < ${from.size} bytes`,
      );
    }
    const progress = new Progress(from.size, !o.json && dst !== "-");
    const started = performance.now();
    const window = from.sequential || to.sequential ? 1 : o.inFlight;
    let next = 0;
    let failed = false;
    const target = to;
    const worker = async () => {
      const buf = new Uint8Array(CHUNK);
      while (!failed && next < from.size) {
        const at = next;
        const n = Math.min(CHUNK, from.size - at);
        next += n;
        const chunk = buf.subarray(0, n);
        await from.read!(at, chunk);
        if (allZero(chunk) && target.zero) await target.zero(at, n);
        else await target.write!(at, chunk);
        progress.add(n);
      }
    };
    // The first failure stops the other workers at their next chunk, and
    // both ends close only once none is inside a read or write.
    const ran = await Promise.allSettled(
      Array.from({ length: window }, () =>
        worker().catch((e) => {
          failed = true;
          throw e;
        })),
    );
    const failure = ran.find((r) => r.status === "rejected");
    if (failure !== undefined) throw failure.reason;
    // The destination's close is its FLUSH or fsync, the copy's only step
    // to stable storage: its failure fails the copy (exit 1). The source
    // closes either way.
    closed = true;
    try {
      await target.close();
    } finally {
      await from.close().catch(() => {});
    }
    progress.done();
    const seconds = (performance.now() - started) / 1000;
    if (o.json && dst !== "-") {
      console.log(
        JSON.stringify({
          source: src,
          destination: dst,
          bytes: from.size,
          seconds,
        }),
      );
    }
    return 0;
  } finally {
    if (!closed) await Promise.allSettled([from.close(), to?.close()]);
  }
}

function allZero(b: Uint8Array): boolean {
  // Eight bytes at a time where the view is aligned; the rest by byte.
  const head = (8 - (b.byteOffset % 8)) % 8;
  for (let i = 0; i < Math.min(head, b.length); i++) if (b[i]) return false;
  const words = new BigUint64Array(
    b.buffer,
    b.byteOffset + head,
    Math.max(0, Math.floor((b.length - head) / 8)),
  );
  for (let i = 0; i < words.length; i++) if (words[i]) return false;
  for (let i = head + words.length * 8; i < b.length; i++) {
    if (b[i]) return false;
  }
  return true;
}

/**
 * Repeats a positional read or write (`step(done)` moves bytes from `done`
 * on and says how many) until `length` bytes moved or it moves none;
 * resolves with the bytes moved.
 */
async function whole(
  step: (done: number) => Promise<number>,
  length: number,
): Promise<number> {
  let done = 0;
  while (done < length) {
    const n = await step(done);
    if (n === 0) break;
    done += n;
  }
  return done;
}

/** Opens `path` for reading ("r") or as a new file ("w"); a failure names it. */
function opened(path: string, mode: "r" | "w") {
  return openFile(path, mode).catch((e) => {
    if (e instanceof Deno.errors.NotCapable) throw e;
    throw new UsageError(
      `Cannot ${mode === "r" ? "open" : "create"} ${path}: ${
        (e as Error).message
      }`,
    );
  });
}

async function fileSource(path: string): Promise<End> {
  if (path === "-") {
    throw new UsageError(
      "Standard input has no size: copy from a file or an NBD URI",
    );
  }
  const f = await opened(path, "r");
  const size = (await f.stat()).size;
  return {
    size,
    sequential: false,
    read: async (offset, into) => {
      const got = await whole(
        (at) =>
          f.read(into, at, into.byteLength - at, offset + at).then((r) =>
            r.bytesRead
          ),
        into.byteLength,
      );
      into.fill(0, got);
    },
    close: () => f.close(),
  };
}

async function fileDest(path: string, size: number): Promise<End> {
  if (path === "-") {
    const out = Deno.stdout.writable.getWriter();
    return {
      size,
      sequential: true,
      write: (_offset, data) => out.write(data.slice()),
      close: async () => {
        await out.close().catch(() => {});
      },
    };
  }
  const f = await opened(path, "w");
  // Truncated to nothing, then sized: chunks of zeroes are left as holes.
  await f.truncate(size);
  return {
    size,
    sequential: false,
    write: async (offset, data) => {
      const n = await whole(
        (at) =>
          f.write(data, at, data.byteLength - at, offset + at).then((r) =>
            r.bytesWritten
          ),
        data.byteLength,
      );
      if (n < data.byteLength) throw new Error(`Short write to ${path}`);
    },
    zero: () => Promise.resolve(),
    close: async () => {
      try {
        await f.sync();
      } finally {
        await f.close();
      }
    },
  };
}
