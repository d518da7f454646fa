// deno run --allow-net=127.0.0.1 --allow-read=./copy --allow-write=./copy examples/nfs_copy.ts nfs://127.0.0.1:11111/ ./copy
//
// Copies a directory tree out of any NFS server (NFSv3, or NFSv2 where
// the server has no v3 or the URL says version=2) into a local
// folder, with a progress line on stderr (redrawn on a terminal, printed
// once at the end otherwise). Files keep their mode and
// modification time; symbolic links are recreated when the permissions
// allow it (Deno.symlink needs unscoped --allow-read and --allow-write) and
// counted as skipped otherwise. Devices, FIFOs and sockets are skipped.
//
// The run line above copies from examples/memfs.ts on its default port; for
// another server, widen --allow-net to it (and to its portmapper, port 111,
// when the URL gives no ports). URL arguments as libnfs writes them:
//   nfs://host[:port]/export/dir?version=2|3&uid=N&gid=N&nfsport=N&mountport=N&readahead=N
/**
 * Example: copy a tree out of an NFS server.
 *
 * @module
 */
import { NfsClient } from "../client/mod.ts";

const [url, dest] = Deno.args;
if (url === undefined || dest === undefined) {
  console.error("Usage: nfs_copy.ts nfs://host[:port]/export/dir DEST");
  Deno.exit(2);
}

const stats = { files: 0, dirs: 0, bytes: 0, skipped: 0 };
const started = performance.now();
let shownAt = 0;
const enc = new TextEncoder();
const live = Deno.stderr.isTerminal();

/** Rewrites the progress line, at most ten times a second. */
function progress(current: string, force = false): void {
  const now = performance.now();
  if (!force && (!live || now - shownAt < 100)) return;
  shownAt = now;
  const secs = Math.max((now - started) / 1000, 0.001);
  const mib = stats.bytes / 1048576;
  const line = `${stats.files} files, ${stats.dirs} dirs, ${
    mib.toFixed(1)
  } MiB, ${(mib / secs).toFixed(1)} MiB/s  ${current}`;
  Deno.stderr.writeSync(
    enc.encode(live ? `\r\x1b[K${line.slice(0, 120)}` : line),
  );
}

/** Counts the bytes flowing through. */
function counter(path: string): TransformStream<Uint8Array, Uint8Array> {
  return new TransformStream({
    transform(chunk, controller) {
      stats.bytes += chunk.byteLength;
      progress(path);
      controller.enqueue(chunk);
    },
  });
}

async function copyTree(nfs: NfsClient, from: string, to: string) {
  await Deno.mkdir(to, { recursive: true });
  stats.dirs++;
  for await (const entry of nfs.readDir(from)) {
    const src = `${from === "/" ? "" : from}/${entry.name}`;
    const dst = `${to}/${entry.name}`;
    if (entry.isDirectory) {
      await copyTree(nfs, src, dst);
    } else if (entry.isFile) {
      const info = await nfs.stat(src);
      const file = await nfs.open(src);
      const out = await Deno.open(dst, {
        write: true,
        create: true,
        truncate: true,
      });
      await file.readable.pipeThrough(counter(src)).pipeTo(out.writable);
      await Deno.chmod(dst, (info.mode ?? 0o644) & 0o7777);
      if (info.mtime) await Deno.utime(dst, info.mtime, info.mtime);
      stats.files++;
    } else if (entry.isSymlink) {
      try {
        await Deno.symlink(await nfs.readLink(src), dst);
      } catch (e) {
        if (!(e instanceof Deno.errors.NotCapable)) throw e;
        stats.skipped++;
      }
    } else {
      stats.skipped++;
    }
    progress(src);
  }
}

try {
  await using nfs = await NfsClient.connect(url);
  await copyTree(nfs, "/", dest);
} catch (e) {
  if (live) Deno.stderr.writeSync(enc.encode("\n"));
  console.error(`nfs_copy: ${(e as Error).message}`);
  Deno.exit(1);
}
progress("done", true);
Deno.stderr.writeSync(enc.encode("\n"));
if (stats.skipped > 0) {
  console.error(`${stats.skipped} links or special files skipped`);
}
