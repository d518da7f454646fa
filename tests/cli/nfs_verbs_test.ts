// The NFS client verbs against `netfs serve nfs` over a temp directory,
// both run as a user runs them (subprocesses, scoped permissions).
import assert from "node:assert/strict";
import { serve } from "./_cli.ts";

const CLI = new URL("../../cli.ts", import.meta.url).pathname;
import { clientPerms, exerciseVerbs, ok, under } from "./_verbs.ts";

async function served(dir: string) {
  return await serve(
    // NFSv2 is off by default: named here for the version-2 step.
    [
      "serve",
      "nfs",
      dir,
      "--port",
      "0",
      "--squash",
      "none",
      "--versions",
      "2,3,4",
    ],
    // LocalFs makes symbolic links with Deno.symlink, which wants
    // --allow-read and --allow-write without paths (else NFS3ERR_NOTSUPP).
    ["--allow-net=127.0.0.1", "--allow-read", "--allow-write"],
  );
}

Deno.test("cli nfs verbs: every verb against netfs serve nfs", async (t) => {
  const disk = await Deno.makeTempDir();
  const scratch = await Deno.makeTempDir();
  const { served: server, port } = await served(disk);
  try {
    await exerciseVerbs(t, {
      base: `nfs://127.0.0.1:${port}/`,
      disk,
      scratch,
      exportPath: "/",
      mountArgs: ["127.0.0.1", "--port", String(port)],
    });

    await t.step(
      "rpcinfo lists NFS and MOUNT on the server's port",
      async () => {
        const perms = clientPerms([scratch]);
        const r = await ok(
          ["rpcinfo", "127.0.0.1", "--port", String(port)],
          perms,
        );
        assert.match(r.stdout, /^ {3}program vers proto {3}port {2}service\n/);
        assert.match(
          r.stdout,
          new RegExp(`\\n +100003 +3 +tcp +${port} +nfs\\n`),
        );
        assert.match(
          r.stdout,
          new RegExp(`\\n +100005 +3 +tcp +${port} +mountd\\n`),
        );
        const j = JSON.parse(
          (await ok(
            ["rpcinfo", "--json", "127.0.0.1", "--port", String(port)],
            perms,
          )).stdout,
        );
        assert.ok(
          j.some((m: { program: number; port: number; service: string }) =>
            m.program === 100000 && m.port === port &&
            m.service === "portmapper"
          ),
        );
      },
    );

    await t.step(
      "showmount -a lists no mount once the verbs have unmounted",
      async () => {
        const r = await ok([
          "showmount",
          "-a",
          "127.0.0.1",
          "--port",
          String(port),
        ], clientPerms([scratch]));
        assert.equal(r.stdout, "All mount points on 127.0.0.1:\n");
      },
    );

    await t.step(
      "cp from standard input and a URL with ?version=3",
      async () => {
        const r = await ok([
          "cp",
          "-",
          under(`nfs://127.0.0.1:${port}/?version=3`, "in.txt"),
        ], clientPerms([scratch]));
        assert.equal(r.stderr, "");
        assert.equal(await Deno.readTextFile(`${disk}/in.txt`), "");
      },
    );

    await t.step(
      "serve nfs --versions 2,3,4 offers NFSv2: cp and cat with ?version=2",
      async () => {
        const perms = clientPerms([scratch]);
        const body = "over version 2\n".repeat(1000);
        await Deno.writeTextFile(`${scratch}/v2.txt`, body);
        await ok([
          "cp",
          `${scratch}/v2.txt`,
          under(`nfs://127.0.0.1:${port}/?version=2`, "v2.txt"),
        ], perms);
        assert.equal(await Deno.readTextFile(`${disk}/v2.txt`), body);
        const r = await ok([
          "cat",
          under(`nfs://127.0.0.1:${port}/?version=2`, "v2.txt"),
        ], perms);
        assert.equal(r.stdout, body);
      },
    );

    await t.step(
      "cp on a terminal draws bytes, percentage, rate and ETA",
      async () => {
        // script(1) gives the cp a pseudo-terminal as standard error.
        await Deno.writeFile(`${scratch}/tty.bin`, new Uint8Array(3 << 20));
        const cmd = [
          Deno.execPath(),
          "run",
          "--quiet",
          ...clientPerms([scratch]),
          CLI,
          "cp",
          `${scratch}/tty.bin`,
          `nfs://127.0.0.1:${port}/tty.bin`,
        ].join(" ");
        const out = await new Deno.Command("script", {
          args: ["-qec", cmd, "/dev/null"],
          stdin: "null",
          stdout: "piped",
          stderr: "piped",
          env: { NO_COLOR: "1" },
        }).output();
        const text = new TextDecoder().decode(out.stdout);
        assert.equal(out.code, 0, text);
        assert.match(
          text,
          // deno-lint-ignore no-control-regex -- the progress line ends with ESC [K
          /\r3\.0 MiB \/ 3\.0 MiB {2}100% {2}\d+\.\d [KMG]iB\/s {2}ETA 0:00\x1b\[K\r?\n/,
        );
        assert.equal((await Deno.stat(`${disk}/tty.bin`)).size, 3 << 20);
      },
    );

    await t.step(
      "a server that is not there: exit 1 naming the address",
      async () => {
        const r = await ok(
          ["ls", `nfs://127.0.0.1:1/`],
          clientPerms([scratch]),
          1,
        );
        assert.match(r.stderr, /^netfs: Cannot connect to 127\.0\.0\.1:1: /);
      },
    );
  } finally {
    const end = await server.stop();
    assert.equal(end.code, 0, end.stderr);
    await Deno.remove(disk, { recursive: true });
    await Deno.remove(scratch, { recursive: true });
  }
});
