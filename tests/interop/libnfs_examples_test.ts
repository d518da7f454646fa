// The examples run with exactly the permissions their first line documents,
// and serve what they promise to an independent client (libnfs-utils).
import assert from "node:assert/strict";
import { run, url } from "./_libnfs.ts";

const root = new URL("../../", import.meta.url).pathname;

/** Starts `deno run PERMS example ARGS` and waits for its banner's port. */
async function startExample(perms: string[], file: string, args: string[]) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...perms, `${root}examples/${file}`, ...args],
    stdout: "null",
    stderr: "piped",
    stdin: "null",
    cwd: root,
  }).spawn();
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  let port = 0;
  // The banner ends with the Windows line of the last export.
  while (!text.includes("Windows:") || !text.endsWith("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
  }
  const m = text.match(/portmap on [^ ]+:(\d+)/);
  if (m) port = Number(m[1]);
  // Keep draining so the child never blocks on a full pipe.
  const drained = (async () => {
    while (!(await reader.read()).done) { /* discard */ }
  })();
  assert.ok(port > 0, `no banner from ${file}: ${text}`);
  return {
    port,
    banner: text,
    async stop() {
      child.kill("SIGTERM");
      await child.status;
      await drained;
    },
  };
}

Deno.test("examples/memfs.ts: serves the seeded tree, writable, with --allow-net only", async () => {
  const ex = await startExample(["--allow-net"], "memfs.ts", ["--port", "0"]);
  try {
    assert.match(ex.banner, /sudo mount -t nfs -o vers=3/);
    // libnfs needs "//" to open a file in the "/" export (an empty export
    // name is refused by libnfs itself).
    const readme = await run("nfs-cat", [url(ex.port, "//README.txt")]);
    assert.equal(readme.code, 0, readme.stderr);
    assert.match(readme.stdout, /in-memory NFSv2, NFSv3 and NFSv4 export/);
    const ls = await run("nfs-ls", ["-R", url(ex.port, "/")]);
    assert.equal(ls.code, 0, ls.stdout);
    for (
      const p of ["sample/hello.txt", "sample/nested/numbers.csv", "README.txt"]
    ) {
      assert.match(ls.stdout, new RegExp(` ${p}\n`));
    }
    const dir = await Deno.makeTempDir();
    try {
      await Deno.writeTextFile(`${dir}/up.txt`, "uploaded\n");
      const cp = await run("nfs-cp", [
        `${dir}/up.txt`,
        url(ex.port, "//sample/up.txt", { uid: 1000, gid: 1000 }),
      ]);
      assert.equal(cp.code, 0, cp.stderr + cp.stdout);
      const back = await run("nfs-cat", [url(ex.port, "//sample/up.txt")]);
      assert.equal(back.stdout, "uploaded\n");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  } finally {
    await ex.stop();
  }
});

async function startLocalfs(tmp: string, extra: string[]) {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      "--allow-read=./export",
      "--allow-write=./export",
      `${root}examples/localfs.ts`,
      "--port",
      "0",
      ...extra,
      "./export",
    ],
    cwd: tmp,
    stdout: "null",
    stderr: "piped",
    stdin: "null",
  }).spawn();
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("Windows:") || !text.endsWith("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
  }
  const drained = (async () => {
    while (!(await reader.read()).done) { /* discard */ }
  })();
  const port = Number(text.match(/portmap on [^ ]+:(\d+)/)?.[1]);
  return {
    port,
    text,
    async stop() {
      child.kill("SIGTERM");
      await child.status;
      await drained;
    },
  };
}

Deno.test("examples/localfs.ts: serves a directory with scoped permissions", async () => {
  const tmp = await Deno.makeTempDir();
  const exp = `${tmp}/export`;
  await Deno.mkdir(exp);
  await Deno.mkdir(`${exp}/locked`);
  await Deno.chmod(`${exp}/locked`, 0o755);
  await Deno.writeTextFile(`${exp}/hello.txt`, "from the host\n");
  await Deno.writeTextFile(`${tmp}/up.txt`, "uploaded\n");
  try {
    // As documented: root squash by default.
    const a = await startLocalfs(tmp, []);
    try {
      assert.ok(a.port > 0, a.text);
      const cat = await run("nfs-cat", [url(a.port, "//hello.txt")]);
      assert.equal(cat.stdout, "from the host\n", cat.stderr);
      const squashed = await run("nfs-cp", [
        `${tmp}/up.txt`,
        url(a.port, "/locked/up.txt", { uid: 0, gid: 0 }),
      ]);
      assert.notEqual(squashed.code, 0);
      assert.match(
        squashed.stdout + squashed.stderr,
        /ACCES|Permission denied/,
      );
    } finally {
      await a.stop();
    }
    // Trusting the client's ids, root may write; the data lands on disk and
    // is still served after a restart.
    const b = await startLocalfs(tmp, ["--squash", "none"]);
    try {
      const up = await run("nfs-cp", [
        `${tmp}/up.txt`,
        url(b.port, "/locked/up.txt", { uid: 0, gid: 0 }),
      ]);
      assert.equal(up.code, 0, up.stderr + up.stdout);
      assert.equal(
        await Deno.readTextFile(`${exp}/locked/up.txt`),
        "uploaded\n",
      );
    } finally {
      await b.stop();
    }
    const c = await startLocalfs(tmp, ["--squash", "none"]);
    try {
      const again = await run("nfs-cat", [url(c.port, "/locked/up.txt")]);
      assert.equal(again.stdout, "uploaded\n", again.stderr);
    } finally {
      await c.stop();
    }
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
