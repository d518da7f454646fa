// What the crash tests cannot see: a killed server process leaves its
// written pages in the host's page cache, so "answered stable writes read
// back" holds even if no fsync was ever made. Here the server subprocess
// runs under strace, and each stable request must have an fsync or
// fdatasync of the right file or directory complete before the server
// starts writing the reply to the client's socket: NFSv3 WRITE FILE_SYNC and
// COMMIT (the file), CREATE, MKDIR, REMOVE and RENAME (the parent
// directories, LocalFs's `syncMetadata`), on both LocalFs engines; NBD FLUSH
// and a FUA write (the image). A power loss is not simulated: this proves
// the calls are made, in order, and the kernel's own promise does the rest.
import assert from "node:assert/strict";
import { MountClient } from "../../client/mount.ts";
import { Nfs3Client } from "../../client/nfs3.ts";
import { connectNbd } from "../../nbd/client.ts";
import { CreateMode, StableHow } from "../../proto/nfs3.ts";
import { RpcClient } from "../../rpc/client.ts";
import { type Child, startChild } from "./_child.ts";

/** Why strace cannot run here, or undefined when it can. */
function straceSkipReason(): string | undefined {
  if (Deno.build.os !== "linux") return "strace runs on Linux only";
  try {
    const r = new Deno.Command("strace", {
      args: ["-f", "-qq", "-o", "/dev/null", "true"],
      stdout: "null",
      stderr: "null",
    }).outputSync();
    return r.success ? undefined : "strace cannot trace here (ptrace denied)";
  } catch {
    return "strace is not installed (apt-get install strace)";
  }
}

const SKIP = straceSkipReason();
const ENGINES = ["portable", "native"] as const;

/** One thing a traced thread did, in the trace's order. */
type Event =
  | { kind: "synced"; path: string }
  | { kind: "reply" };

/**
 * The events of strace -f -yy lines: a completed fsync or fdatasync and the
 * path of its descriptor, or the start of a write to a TCP socket.
 */
function events(lines: string[]): Event[] {
  // strace pads the pid to five columns: "2020  write(" on a machine whose
  // pids are still short (a fresh CI machine), "17057 write(" here.
  const out: Event[] = [];
  const pending = new Map<string, string>();
  for (const line of lines) {
    const pid = line.slice(0, line.indexOf(" "));
    const call = /^\d+ +(fsync|fdatasync|sync_file_range)\(\d+<([^>]*)>/.exec(
      line,
    );
    if (call !== null) {
      if (line.endsWith("<unfinished ...>")) pending.set(pid, call[2]);
      else if (/\) = 0$/.test(line)) {
        out.push({ kind: "synced", path: call[2] });
      }
      continue;
    }
    if (/^\d+ +<\.\.\. (fsync|fdatasync|sync_file_range) resumed>/.test(line)) {
      const path = pending.get(pid);
      pending.delete(pid);
      if (path !== undefined && /\) = 0$/.test(line)) {
        out.push({ kind: "synced", path });
      }
      continue;
    }
    if (isSocketWrite(line)) out.push({ kind: "reply" });
  }
  return out;
}

/**
 * Whether a trace line starts a write to a socket. strace -yy names a TCP
 * socket `TCP:[...]` (or `TCPv6`) when it can ask the kernel through
 * sock_diag, but only `socket:[inode]` where it cannot; sendto and sendmsg
 * go to sockets whatever the name says.
 */
function isSocketWrite(line: string): boolean {
  const call = /^\d+ +(write|writev|sendto|sendmsg)\(\d+(<[^>]*>)?/.exec(line);
  if (call === null) return false;
  if (call[1] === "sendto" || call[1] === "sendmsg") return true;
  const name = call[2] ?? "";
  return name.startsWith("<TCP") || name.startsWith("<socket:");
}

Deno.test("strace sync: the trace parser reads short and long pids, and sockets strace could not name", () => {
  const lines = [
    '2020  write(21</x/.netfs/ids.jsonl>, "{}", 2) = 2',
    "2024  fsync(26</x/export> <unfinished ...>",
    "17057 fdatasync(25</x/disk.img>) = 0",
    "2024  <... fsync resumed>) = 0",
    '2020  write(23<socket:[5564653]>, "\\0", 1) = 1',
    '17057 sendto(24<TCP:[127.0.0.1:1->127.0.0.1:2]>, "\\0", 1, MSG_NOSIGNAL, NULL, 0) = 1',
    '2020  write(9<anon_inode:[eventfd]>, "\\1", 8) = 8',
    "2020  fsync(26</x/failed>) = -1 EIO (Input/output error)",
  ];
  assert.deepEqual(events(lines), [
    { kind: "synced", path: "/x/disk.img" },
    { kind: "synced", path: "/x/export" },
    { kind: "reply" },
    { kind: "reply" },
  ]);
});

/** A server subprocess under strace, writing its trace to a file. */
class Traced {
  readonly #trace: string;
  readonly child: Child;

  private constructor(trace: string, child: Child) {
    this.#trace = trace;
    this.child = child;
  }

  static async start(trace: string, args: string[]): Promise<Traced> {
    const child = await startChild(args, [], [
      "strace",
      "-f",
      "-qq",
      "-yy",
      "-e",
      "trace=fsync,fdatasync,sync_file_range,write,writev,sendto,sendmsg",
      "-o",
      trace,
    ]);
    return new Traced(trace, child);
  }

  /** Whole lines of the trace from byte `from`. */
  async #linesFrom(from: number): Promise<string[]> {
    const text = new TextDecoder().decode(
      (await Deno.readFile(this.#trace)).subarray(from),
    );
    return text.slice(0, text.lastIndexOf("\n") + 1).split("\n").filter((l) =>
      l !== ""
    );
  }

  /**
   * Runs `request` (one call, answered before it resolves) and asserts that
   * a sync of each of `paths` completed before the reply's first write.
   */
  async expectSynced(
    what: string,
    paths: string[],
    request: () => Promise<unknown>,
  ): Promise<void> {
    const from = (await Deno.stat(this.#trace)).size;
    await request();
    // strace writes a line when the write returns: the client may have
    // read the reply first. Wait for the line, at most 20 s (a loaded
    // machine has taken more than 5).
    let seen: Event[] = [];
    let lines: string[] = [];
    for (let i = 0; i < 1000; i++) {
      lines = await this.#linesFrom(from);
      seen = events(lines);
      if (seen.some((e) => e.kind === "reply")) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const reply = seen.findIndex((e) => e.kind === "reply");
    assert.ok(
      reply >= 0,
      `${what}: the reply's write is in the trace; the trace:\n${
        lines.filter((l) => !l.includes("eventfd")).join("\n").slice(0, 4000)
      }`,
    );
    const synced = new Set(
      seen.slice(0, reply).flatMap((e) => e.kind === "synced" ? [e.path] : []),
    );
    for (const path of paths) {
      assert.ok(
        synced.has(path),
        `${what}: an fsync or fdatasync of ${path} completes before the reply is written; the trace:\n${
          lines.filter((l) => !l.includes("eventfd")).join("\n").slice(0, 4000)
        }`,
      );
    }
  }

  async stop(): Promise<void> {
    await this.child.kill9();
  }
}

for (const engine of ENGINES) {
  Deno.test({
    name:
      `strace sync (${engine}): NFSv3 stable writes, COMMIT and namespace changes fsync before the reply`,
    ignore: SKIP !== undefined,
    async fn() {
      const dir = await Deno.realPath(
        await Deno.makeTempDir({ prefix: "netfs-strace-" }),
      );
      const exported = `${dir}/export`;
      await Deno.mkdir(exported);
      const server = await Traced.start(`${dir}/trace`, [
        "nfs",
        exported,
        engine,
      ]);
      const rpc = await RpcClient.connect({
        hostname: "127.0.0.1",
        port: server.child.port,
        auth: { stamp: 1, machineName: "strace", uid: 0, gid: 0, gids: [] },
        timeoutMs: 20_000,
      });
      try {
        const { handle: root } = await new MountClient(rpc).mnt("/");
        const nfs = new Nfs3Client(rpc);
        let file: Uint8Array | undefined;
        await server.expectSynced("CREATE", [exported], async () => {
          file = (await nfs.create({
            dir: root,
            name: "f",
            mode: CreateMode.GUARDED,
            attrs: { mode: 0o644 },
          })).object!;
        });
        const data = new Uint8Array(4096).fill(7);
        await server.expectSynced(
          "WRITE FILE_SYNC",
          [`${exported}/f`],
          () =>
            nfs.write({
              file: file!,
              offset: 0,
              count: data.length,
              stable: StableHow.FILE_SYNC,
              data,
            }),
        );
        await nfs.write({
          file: file!,
          offset: 4096,
          count: data.length,
          stable: StableHow.UNSTABLE,
          data,
        });
        await server.expectSynced(
          "COMMIT",
          [`${exported}/f`],
          () => nfs.commit({ file: file!, offset: 0, count: 0 }),
        );
        let sub: Uint8Array | undefined;
        await server.expectSynced("MKDIR", [exported], async () => {
          sub = (await nfs.mkdir({
            dir: root,
            name: "d",
            attrs: { mode: 0o755 },
          })).object!;
        });
        await server.expectSynced(
          "RENAME",
          [exported, `${exported}/d`],
          () =>
            nfs.rename({
              fromDir: root,
              fromName: "f",
              toDir: sub!,
              toName: "g",
            }),
        );
        await server.expectSynced(
          "REMOVE",
          [`${exported}/d`],
          () => nfs.remove({ dir: sub!, name: "g" }),
        );
      } finally {
        rpc.close();
        await server.stop();
        await Deno.remove(dir, { recursive: true });
      }
    },
  });
}

Deno.test({
  name: "strace sync: NBD FLUSH and FUA writes fdatasync before the reply",
  ignore: SKIP !== undefined,
  async fn() {
    const dir = await Deno.realPath(
      await Deno.makeTempDir({ prefix: "netfs-strace-" }),
    );
    const image = `${dir}/disk.img`;
    const server = await Traced.start(`${dir}/trace`, [
      "nbd",
      image,
      String(1 << 20),
    ]);
    const disk = await connectNbd({ port: server.child.port, export: "disk" });
    try {
      const data = new Uint8Array(4096).fill(3);
      await disk.writeAt(0, data);
      await server.expectSynced("NBD FLUSH", [image], () => disk.flush());
      await server.expectSynced(
        "NBD FUA write",
        [image],
        () => disk.writeAt(8192, data, { fua: true }),
      );
    } finally {
      await disk.close().catch(() => {});
      await server.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
