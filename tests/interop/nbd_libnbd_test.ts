// Our NBD server driven by libnbd's tools: nbdinfo, nbdcopy and nbdsh
// (Python scripts through Debian's python3-libnbd).
import assert from "node:assert/strict";
import { readOnly } from "../../nbd/device.ts";
import { MemoryDevice } from "../../nbd/memory_device.ts";
import {
  type NbdServer,
  serveNbd,
  type ServeNbdOptions,
} from "../../nbd/server.ts";
import { makeCerts, nbdsh, ok, run } from "../nbd/_peers.ts";

const MiB = 1 << 20;

function start(extra: Partial<ServeNbdOptions> = {}): NbdServer {
  return serveNbd({
    port: 0,
    exports: [
      {
        name: "mem",
        device: new MemoryDevice(512 * MiB, { chunkSize: 65536 }),
        description: "RAM disk",
      },
      { name: "ro", device: readOnly(new MemoryDevice(MiB)) },
    ],
    defaultExport: "mem",
    ...extra,
  });
}

/** Runs an nbdsh script that prints one JSON value on its last line. */
async function py(script: string): Promise<any> {
  const r = await nbdsh(`import json, errno\n${script}`);
  assert.equal(r.code, 0, `nbdsh failed:\n${r.stdout}\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").at(-1)!);
}

Deno.test("libnbd: nbdinfo --list --json shows exports and capabilities", async () => {
  const s = start();
  try {
    const j = JSON.parse(
      await ok("nbdinfo", [
        "--list",
        "--json",
        `nbd://127.0.0.1:${s.addr.port}`,
      ]),
    );
    assert.equal(j.protocol, "newstyle-fixed");
    assert.equal(j.structured, true);
    const byName = Object.fromEntries(
      j.exports.map((e: any) => [e["export-name"], e]),
    );
    const mem = byName.mem;
    assert.equal(mem.description, "RAM disk");
    assert.equal(mem["export-size"], 512 * MiB);
    assert.deepEqual(mem.contexts, ["base:allocation"]);
    for (
      const k of [
        "can_cache",
        "can_df",
        "can_fast_zero",
        "can_flush",
        "can_fua",
        "can_multi_conn",
        "can_trim",
        "can_zero",
      ]
    ) {
      assert.equal(mem[k], true, k);
    }
    assert.equal(mem.is_read_only, false);
    assert.equal(mem.block_size_minimum, 1);
    assert.equal(mem.block_size_maximum, 64 * MiB);
    const ro = byName.ro;
    assert.equal(ro.is_read_only, true);
    assert.equal(ro.can_trim, false);
    assert.equal(ro.can_zero, false);
  } finally {
    await s.shutdown();
  }
});

Deno.test("libnbd: nbdcopy 256 MiB of random data in and out, 1 and 4 connections", async () => {
  const s = start({ lowWater: true }); // receive marks, on or an error
  const dir = await Deno.makeTempDir({ prefix: "nbdcopy-" });
  try {
    const src = `${dir}/src.img`;
    await ok("sh", ["-c", `head -c ${256 * MiB} /dev/urandom > ${src}`]);
    const sum = async (f: string) => (await ok("sha256sum", [f])).split(" ")[0];
    const want = await sum(src);
    const uri = `nbd://127.0.0.1:${s.addr.port}/mem`;
    for (const conns of [1, 4]) {
      // Wipe the export first so a stale copy cannot pass.
      await ok("/usr/bin/nbdsh", ["-u", uri, "-c", `h.zero(h.get_size(), 0)`]);
      await ok("nbdcopy", [`--connections=${conns}`, src, uri]);
      const out = `${dir}/out${conns}.img`;
      await ok("nbdcopy", [`--connections=${conns}`, uri, out]);
      await ok("truncate", ["-s", String(256 * MiB), out]); // the export is 512 MiB
      assert.equal(await sum(out), want, `${conns} connection(s)`);
      // nbdinfo --map sees the data and the untouched tail as a hole.
      const map = JSON.parse(await ok("nbdinfo", ["--map", "--json", uri]));
      assert.deepEqual(map.map((e: any) => [e.offset, e.length, e.type]), [
        [0, 256 * MiB, 0],
        [256 * MiB, 256 * MiB, 3],
      ]);
    }
  } finally {
    await s.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("libnbd: structured reads, block status after writes, trims and zeroes, FUA", async () => {
  const s = start();
  try {
    const j = await py(`
h.add_meta_context("base:allocation")
h.connect_uri("nbd://127.0.0.1:${s.addr.port}/mem")
M = 1024 * 1024
res = {"sr": h.get_structured_replies_negotiated(), "fua": h.can_fua(), "mc": h.can_meta_context("base:allocation")}
h.pwrite(b"\\xab" * 65536, 4 * M, nbd.CMD_FLAG_FUA)
h.pwrite(b"\\xcd" * 4096, 6 * M)
h.flush()
chunks = []
def chunk(buf, off, status, err):
    chunks.append([off, len(buf), status, bytes(buf).count(0) == len(buf)])
    return 0
h.pread_structured(4 * M, 3 * M, chunk)
res["chunks"] = sorted(chunks)
res["df"] = []
def chunk_df(buf, off, status, err):
    res["df"].append([off, len(buf), status])
    return 0
h.pread_structured(4 * M, 3 * M, chunk_df, nbd.CMD_FLAG_DF)
def status():
    out = []
    def ext(ctx, off, entries, err):
        out.append([ctx, off, list(entries)])
        return 0
    h.block_status(8 * M, 0, ext)
    return out
res["written"] = status()
h.trim(65536, 4 * M)
h.zero(4096, 6 * M, nbd.CMD_FLAG_NO_HOLE)
h.zero(M, 7 * M)
h.zero(65536, 5 * M, nbd.CMD_FLAG_NO_HOLE)
res["after"] = status()
res["zeroed"] = h.pread(4096, 6 * M).count(0)
res["one"] = []
def one(ctx, off, entries, err):
    res["one"].append(list(entries))
    return 0
h.block_status(3 * M, 0, one, nbd.CMD_FLAG_REQ_ONE)
print(json.dumps(res))
`);
    assert.deepEqual([j.sr, j.fua, j.mc], [true, true, true]);
    const D = 1, H = 2; // libnbd READ_DATA, READ_HOLE
    assert.deepEqual(j.chunks, [
      [3 * MiB, MiB, H, true],
      [4 * MiB, 65536, D, false],
      [4 * MiB + 65536, 2 * MiB - 65536, H, true],
      [6 * MiB, 65536, D, false],
      [6 * MiB + 65536, MiB - 65536, H, true],
    ]);
    assert.deepEqual(j.df, [[3 * MiB, 4 * MiB, D]], "DF: one data chunk");
    assert.deepEqual(j.written, [["base:allocation", 0, [
      4 * MiB,
      3,
      65536,
      0,
      2 * MiB - 65536,
      3,
      65536,
      0,
      2 * MiB - 65536,
      3,
    ]]]);
    assert.deepEqual(j.after, [["base:allocation", 0, [
      5 * MiB,
      3,
      65536,
      2,
      MiB - 65536,
      3,
      65536,
      0,
      2 * MiB - 65536,
      3,
    ]]]);
    assert.equal(j.zeroed, 4096);
    assert.deepEqual(j.one, [[3 * MiB, 3]]);
  } finally {
    await s.shutdown();
  }
});

Deno.test("libnbd: error replies carry the right errno", async () => {
  const s = start({ blockSize: { min: 512 } });
  try {
    const j = await py(`
res = {}
def attempt(name, f):
    try:
        f()
        res[name] = 0
    except nbd.Error as e:
        res[name] = e.errno
h.set_strict_mode(0)
h.connect_uri("nbd://127.0.0.1:${s.addr.port}/mem")
size = h.get_size()
attempt("read past end", lambda: h.pread(1024, size - 512))
attempt("write past end", lambda: h.pwrite(b"x" * 1024, size - 512))
attempt("zero past end", lambda: h.zero(1024, size - 512))
attempt("unaligned", lambda: h.pread(100, 3))
attempt("fine", lambda: h.pread(512, 512))
res["min"] = h.get_block_size(nbd.SIZE_MINIMUM)
h2 = nbd.NBD()
h2.set_strict_mode(0)
h2.connect_uri("nbd://127.0.0.1:${s.addr.port}/ro")
attempt("write read-only", lambda: h2.pwrite(b"x" * 512, 0))
attempt("trim read-only", lambda: h2.trim(512, 0))
print(json.dumps(res))
`);
    assert.deepEqual(j, {
      "read past end": "EINVAL",
      "write past end": "ENOSPC",
      "zero past end": "ENOSPC",
      "unaligned": "EINVAL",
      "fine": 0,
      "min": 512,
      "write read-only": "EPERM",
      "trim read-only": "EPERM",
    });
  } finally {
    await s.shutdown();
  }
});

Deno.test("libnbd: TLS with a certificate made by openssl (required and optional)", async () => {
  const certs = await makeCerts();
  try {
    for (const mode of ["required", "optional"] as const) {
      const s = start({ tls: { mode, cert: certs.cert, key: certs.key } });
      try {
        const uri =
          `nbds://127.0.0.1:${s.addr.port}/mem?tls-certificates=${certs.dir}`;
        const j = await py(`
h.add_meta_context("base:allocation")
h.set_uri_allow_local_file(True)
h.connect_uri("${uri}")
h.pwrite(b"secret" * 1000, 0, nbd.CMD_FLAG_FUA)
print(json.dumps({"tls": h.get_tls_negotiated(), "data": h.pread(6, 5994).decode(), "sr": h.get_structured_replies_negotiated()}))
`);
        assert.deepEqual(j, { tls: true, data: "secret", sr: true });
        const list = JSON.parse(await ok("nbdinfo", ["--list", "--json", uri]));
        assert.equal(list.TLS, true);
        assert.equal(list.exports.length, 2);
        // Plaintext clients: refused when TLS is required, served when optional.
        const plain = await run("nbdinfo", [
          "--size",
          `nbd://127.0.0.1:${s.addr.port}/mem`,
        ]);
        if (mode === "required") {
          assert.notEqual(plain.code, 0);
          assert.match(plain.stderr, /TLS/i);
        } else {
          assert.equal(plain.code, 0, plain.stderr);
          assert.equal(plain.stdout.trim(), String(512 * MiB));
        }
      } finally {
        await s.shutdown();
      }
    }
    // A client that does not trust our CA gives up.
    const s = start({
      tls: { mode: "required", cert: certs.cert, key: certs.key },
    });
    const empty = await Deno.makeTempDir();
    try {
      await Deno.writeTextFile(
        `${empty}/ca-cert.pem`,
        await makeCerts().then(async (o) => {
          await Deno.remove(o.dir, { recursive: true });
          return o.ca;
        }),
      );
      const bad = await run("nbdinfo", [
        "--size",
        `nbds://127.0.0.1:${s.addr.port}/mem?tls-certificates=${empty}`,
      ]);
      assert.notEqual(bad.code, 0);
    } finally {
      await s.shutdown();
      await Deno.remove(empty, { recursive: true });
    }
  } finally {
    await Deno.remove(certs.dir, { recursive: true });
  }
});
