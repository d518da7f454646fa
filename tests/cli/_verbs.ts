// The NFS client verbs run as a user runs them, against any server that
// exports a host directory the test can also read directly: the same
// scenario proves them against `netfs serve nfs` and against nfs-ganesha.
import assert from "node:assert/strict";
import { netfs, type Outcome } from "./_cli.ts";

/** The deno flags a client verb run needs: the server and the temp dirs. */
export function clientPerms(dirs: string[]): string[] {
  return [
    "--allow-net=127.0.0.1",
    "--allow-sys=uid,gid",
    `--allow-read=${dirs.join(",")}`,
    `--allow-write=${dirs.join(",")}`,
  ];
}

/** `base` (an nfs:// URL, query kept at the end) with `sub` appended. */
export function under(base: string, sub: string): string {
  const q = base.indexOf("?");
  const [path, query] = q < 0 ? [base, ""] : [base.slice(0, q), base.slice(q)];
  return `${path.replace(/\/+$/, "")}/${sub}${query}`;
}

/**
 * A tree of `files` small files in ten directories two levels deep, a
 * 300 KiB file of random bytes and a symbolic link.
 */
export async function makeTree(dir: string, files: number): Promise<void> {
  for (let d = 0; d < 10; d++) {
    await Deno.mkdir(`${dir}/d${d}/e`, { recursive: true });
  }
  const enc = new TextEncoder();
  for (let i = 0; i < files; i++) {
    await Deno.writeFile(
      `${dir}/d${i % 10}/e/f${i}.txt`,
      enc.encode(`file ${i} ${"x".repeat(i % 97)}\n`),
    );
  }
  await Deno.writeFile(`${dir}/big.bin`, randomBytes(300 * 1024));
  await Deno.chmod(`${dir}/d3/e/f3.txt`, 0o600);
  await Deno.symlink("d0/e/f0.txt", `${dir}/link`);
}

/** Random bytes (crypto.getRandomValues fills at most 64 KiB at a time). */
export function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let off = 0; off < n; off += 65536) {
    crypto.getRandomValues(out.subarray(off, Math.min(n, off + 65536)));
  }
  return out;
}

/** Every path below `dir` with a SHA-256 of each file and each link's target. */
export async function checksums(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (rel: string) => {
    for await (const e of Deno.readDir(rel ? `${dir}/${rel}` : dir)) {
      const p = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory) {
        out.set(p, "dir");
        await walk(p);
      } else if (e.isSymlink) {
        out.set(p, `-> ${await Deno.readLink(`${dir}/${p}`)}`);
      } else {
        const sum = await crypto.subtle.digest(
          "SHA-256",
          await Deno.readFile(`${dir}/${p}`),
        );
        out.set(
          p,
          Array.from(
            new Uint8Array(sum),
            (b) => b.toString(16).padStart(2, "0"),
          ).join(""),
        );
      }
    }
  };
  await walk("");
  return out;
}

/** `ls -l`'s mode column for a local lstat, written apart from cli/nfs/ls.ts. */
function modeColumn(i: Deno.FileInfo): string {
  const type = i.isDirectory ? "d" : i.isSymlink ? "l" : "-";
  const bits = "rwxrwxrwx".split("").map((c, k) =>
    (i.mode! & (0o400 >> k)) ? c : "-"
  ).join("");
  return type + bits;
}

/**
 * Checks `netfs ls -l` output against the directory on disk: every entry
 * in order, with its mode, links, owner, group, size, time and name.
 */
export async function assertLsMatches(out: string, dir: string): Promise<void> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) names.push(e.name);
  names.sort();
  const lines = out.trimEnd().split("\n");
  assert.equal(lines.length, names.length, `one line per entry:\n${out}`);
  const p = (n: number) => String(n).padStart(2, "0");
  for (let k = 0; k < names.length; k++) {
    const i = await Deno.lstat(`${dir}/${names[k]}`);
    const f = lines[k].trim().split(/\s+/);
    const m = i.mtime!;
    const when = `${m.getFullYear()}-${p(m.getMonth() + 1)}-${p(m.getDate())} ${
      p(m.getHours())
    }:${p(m.getMinutes())}`;
    const name = i.isSymlink
      ? `${names[k]} -> ${await Deno.readLink(`${dir}/${names[k]}`)}`
      : names[k];
    assert.deepEqual(
      f,
      [
        modeColumn(i),
        String(i.nlink),
        String(i.uid),
        String(i.gid),
        String(i.size),
        ...when.split(" "),
        ...name.split(" "),
      ],
      `ls -l line for ${names[k]}`,
    );
  }
}

/** Runs a verb and insists on exit status `code`. */
export async function ok(
  args: string[],
  perms: string[],
  code = 0,
): Promise<Outcome> {
  const r = await netfs(args, perms);
  assert.equal(r.code, code, `netfs ${args.join(" ")}:\n${r.stderr}`);
  return r;
}

/**
 * Every client verb but rpcinfo against `base`, an empty directory of an
 * NFS server that is `disk` on this machine; `scratch` is a local temp dir.
 */
export async function exerciseVerbs(
  t: Deno.TestContext,
  o: {
    base: string;
    disk: string;
    scratch: string;
    exportPath: string;
    mountArgs: string[];
  },
): Promise<void> {
  const { base, disk, scratch } = o;
  const perms = clientPerms([scratch, disk]);
  const src = `${scratch}/src`;
  await makeTree(src, 1000);
  const want = await checksums(src);

  await t.step(
    "cp -r of 1,000 files into NFS: equal checksums, nothing on a pipe",
    async () => {
      const r = await ok(["cp", "-r", src, base], perms);
      assert.equal(r.stdout, "");
      assert.equal(r.stderr, "", "no progress on a pipe");
      assert.deepEqual(await checksums(`${disk}/src`), want);
    },
  );

  await t.step("cp -r back out of NFS: equal checksums", async () => {
    // Deno.symlink wants --allow-read and --allow-write without paths.
    const linking = [
      "--allow-net=127.0.0.1",
      "--allow-sys=uid,gid",
      "--allow-read",
      "--allow-write",
    ];
    await ok(["cp", "-r", under(base, "src"), `${scratch}/back`], linking);
    assert.deepEqual(await checksums(`${scratch}/back`), want);
  });

  await t.step("ls -l matches the tree", async () => {
    const top = await ok(["ls", "-l", under(base, "src")], perms);
    await assertLsMatches(top.stdout, `${disk}/src`);
    const sub = await ok(["ls", "-l", under(base, "src/d3/e")], perms);
    assert.equal(sub.stdout.split("\n").length - 1, 100);
    await assertLsMatches(sub.stdout, `${disk}/src/d3/e`);
  });

  await t.step(
    "ls -R --json names every path with its type and size",
    async () => {
      const r = await ok(["ls", "-R", "--json", under(base, "src")], perms);
      const entries = JSON.parse(r.stdout) as {
        path: string;
        type: string;
        size: number;
      }[];
      assert.deepEqual(
        entries.map((e) => e.path).sort(),
        [...want.keys()].sort(),
      );
      const big = entries.find((e) => e.path === "big.bin")!;
      assert.deepEqual([big.type, big.size], ["file", 300 * 1024]);
      assert.equal(entries.find((e) => e.path === "link")?.type, "symlink");
    },
  );

  await t.step("ls without -l: names, one a line", async () => {
    const r = await ok(["ls", under(base, "src")], perms);
    assert.equal(
      r.stdout,
      "big.bin\nd0\nd1\nd2\nd3\nd4\nd5\nd6\nd7\nd8\nd9\nlink\n",
    );
  });

  await t.step("cat writes the file, through a link too", async () => {
    const r = await ok([
      "cat",
      under(base, "src/d0/e/f10.txt"),
      under(base, "src/link"),
    ], perms);
    assert.equal(r.stdout, `file 10 ${"x".repeat(10)}\nfile 0 \n`);
  });

  await t.step("stat --json and stat", async () => {
    const r = await ok(
      ["stat", "--json", under(base, "src/d3/e/f3.txt")],
      perms,
    );
    const s = JSON.parse(r.stdout);
    assert.deepEqual([s.type, s.size, s.mode & 0o777, s.isFile], [
      "file",
      11,
      0o600,
      true,
    ]);
    const l = await ok(["stat", under(base, "src/link")], perms);
    assert.match(
      l.stdout,
      /File: nfs:\/\/\S+\/src\/link\S* -> d0\/e\/f0\.txt\n/,
    );
    assert.match(l.stdout, /symbolic link/);
  });

  await t.step(
    "mkdir, mkdir -p, and mkdir of what exists fails with the status and URL",
    async () => {
      await ok(["mkdir", under(base, "made")], perms);
      await ok(["mkdir", "-p", under(base, "made/a/b/c")], perms);
      assert.ok((await Deno.stat(`${disk}/made/a/b/c`)).isDirectory);
      const r = await ok(["mkdir", under(base, "made")], perms, 1);
      assert.match(
        r.stderr,
        /^netfs: File exists \(NFS3ERR_EXIST from MKDIR\): nfs:\/\/\S+\/made(\?\S*)?\n$/,
      );
    },
  );

  await t.step("mv renames, and into a directory", async () => {
    await ok(["mv", under(base, "src/big.bin"), under(base, "made/a")], perms);
    await ok([
      "mv",
      under(base, "made/a/big.bin"),
      under(base, "made/big2.bin"),
    ], perms);
    assert.deepEqual(
      await checksums(`${disk}/made`),
      new Map([
        ["a", "dir"],
        ["a/b", "dir"],
        ["a/b/c", "dir"],
        ["big2.bin", want.get("big.bin")!],
      ]),
    );
  });

  await t.step("cp NFS to NFS", async () => {
    await ok(
      ["cp", under(base, "made/big2.bin"), under(base, "made/a/b/c")],
      perms,
    );
    assert.equal(
      (await checksums(`${disk}/made/a/b/c`)).get("big2.bin"),
      want.get("big.bin"),
    );
  });

  await t.step(
    "rm: a directory needs -r; missing paths fail with the status",
    async () => {
      const r = await ok(["rm", under(base, "made")], perms, 1);
      assert.match(
        r.stderr,
        /^netfs: Is a directory \(use -r\): nfs:\/\/\S+\/made/,
      );
      await ok(["rm", under(base, "made/big2.bin")], perms);
      await ok(["rm", "-r", under(base, "made")], perms);
      await assert.rejects(Deno.stat(`${disk}/made`), Deno.errors.NotFound);
      const gone = await ok(["rm", under(base, "made")], perms, 1);
      assert.match(
        gone.stderr,
        /^netfs: No such file or directory \(NFS3ERR_NOENT from LOOKUP\): nfs:\/\/\S+\/made/,
      );
      const cat = await ok(["cat", under(base, "src/nothing.txt")], perms, 1);
      assert.match(cat.stderr, /NFS3ERR_NOENT.*\/src\/nothing\.txt/);
    },
  );

  await t.step("showmount -e lists the export; --json too", async () => {
    const r = await ok(["showmount", "-e", ...o.mountArgs], perms);
    assert.match(
      r.stdout,
      new RegExp(`^Export list for 127\\.0\\.0\\.1:\\n${o.exportPath} `),
    );
    const j = await ok(["showmount", "--json", ...o.mountArgs], perms);
    const got = JSON.parse(j.stdout);
    assert.ok(got.exports.some((e: { dir: string }) => e.dir === o.exportPath));
    assert.ok(Array.isArray(got.mounts));
  });
}
