// What LocalFs.open says when Deno's permissions cannot reach the export:
// one line naming the flag to give, not an uncaught NotCapable. Deno asks
// for --allow-all for any path under /dev, whatever the scoped flags say,
// so /dev/shm is the case in point; the native engine serves it through
// libc when the FileId journal lives elsewhere.
import assert from "node:assert/strict";
import { AT_FDCWD, AT_REMOVEDIR, openLibc } from "../../vfs/localfs/_libc.ts";

const script = new URL("./_open_localfs.ts", import.meta.url).pathname;

async function open(
  dir: string,
  flags: string[],
  stateDir?: "none",
): Promise<{ engine?: string; code?: string; message?: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-prompt",
      `--allow-read=${dir}`,
      `--allow-write=${dir}`,
      ...flags,
      script,
      dir,
      ...(stateDir ? [stateDir] : []),
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  assert.equal(out.code, 0, text.decode(out.stderr));
  return JSON.parse(text.decode(out.stdout));
}

Deno.test({
  name:
    "localfs permissions: a root under /dev gets one line saying what to do",
  ignore: Deno.build.os !== "linux",
  async fn() {
    // Made through libc: Deno itself may not touch /dev/shm without -A.
    const lib = openLibc();
    assert.ok(typeof lib !== "string", `no native bindings: ${lib}`);
    const dir = `/dev/shm/netfs-perm-${crypto.randomUUID()}`;
    assert.equal(lib.mkdirat(AT_FDCWD, dir, 0o755), 0);
    try {
      const portable = await open(dir, []);
      assert.equal(portable.code, "EACCES");
      assert.match(
        portable.message!,
        /^Deno's permissions cannot reach \/dev\/shm\/.* with scoped flags .*: run with --allow-all, or --allow-ffi /,
      );
      assert.ok(!portable.message!.includes("\n"), "one line");
      const native = await open(dir, ["--allow-ffi"]);
      assert.equal(native.code, "EACCES");
      assert.match(
        native.message!,
        /run with --allow-all, or keep the FileId journal outside \/dev/,
      );
      // What the message suggests works: the native engine, journal elsewhere.
      const served = await open(dir, ["--allow-ffi"], "none");
      assert.deepEqual(served, { engine: "native" });
    } finally {
      lib.unlinkat(AT_FDCWD, `${dir}/.netfs/ids.jsonl`, 0);
      lib.unlinkat(AT_FDCWD, `${dir}/.netfs`, AT_REMOVEDIR);
      assert.equal(lib.unlinkat(AT_FDCWD, dir, AT_REMOVEDIR), 0);
      lib.release();
    }
  },
});

Deno.test("localfs permissions: a directory outside the scoped flags names them", async () => {
  const dir = await Deno.makeTempDir({ prefix: "netfs-perm-" });
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-prompt", `--allow-read=${script}`, script, dir],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const got = JSON.parse(new TextDecoder().decode(out.stdout));
    assert.equal(got.code, "EACCES");
    assert.equal(
      got.message,
      `Deno permission missing for ${dir}: run with --allow-read=${dir} --allow-write=${dir}`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
