import assert from "node:assert/strict";
import { netfs } from "./_cli.ts";
import { validateConfig } from "../../cli/_nfs_config.ts";
import { UsageError } from "../../cli/_args.ts";
import { AT_FDCWD, AT_REMOVEDIR, openLibc } from "../../vfs/localfs/_libc.ts";

const NET = ["--allow-net=127.0.0.1"];

// [args, what the one-line message must say]
const BAD_FLAGS: [string[], RegExp][] = [
  [
    ["serve", "nfs", "--memory", "--bogus"],
    /^Unknown option: --bogus \(see: netfs serve nfs --help\)$/,
  ],
  [["serve", "nbd", "--memory", "1G", "-x"], /^Unknown option: -x /],
  [["nbd", "list", "--frob", "nbd://127.0.0.1"], /^Unknown option: --frob /],
  [["--frob", "serve", "nfs"], /^Unknown option: --frob /],
  [["serve", "nfs", "--memory", "--port"], /^Missing value: --port /],
  [
    ["serve", "nfs", "--memory", "--read-only=yes"],
    /^Option takes no value: --read-only/,
  ],
  [
    ["serve", "nfs", "--memory", "--port", "65536"],
    /^Invalid --port: 65536 \(expected a whole number from 0 to 65535\)$/,
  ],
  [["serve", "nfs", "--memory", "--port", "http"], /^Invalid --port: http /],
  [
    ["serve", "nfs", "--memory", "--host", "example.com"],
    /^Invalid --host: example.com \(expected an IP address\)$/,
  ],
  [
    ["serve", "nfs", "--memory", "--versions", "3,5"],
    /^Invalid --versions: 5 \(this netfs serves 2, 3, 4.0, 4.1, 4.2\)$/,
  ],
  [
    ["serve", "nfs", "--memory", "--versions", "4.3"],
    /^Invalid --versions: 4.3 /,
  ],
  [
    ["serve", "nfs", "--memory", "--clients", "10.1.2.0/99"],
    /^Invalid --clients: 10.1.2.0\/99 /,
  ],
  [
    ["serve", "nfs", "--memory", "--squash", "some"],
    /^Invalid --squash: some \(expected root, none or all\)$/,
  ],
  [
    ["serve", "nfs", "--memory", "--anon-uid", "-1"],
    /^Missing value: --anon-uid \(for a value starting with "-", write --anon-uid=-…\)/,
  ],
  [["serve", "nfs", "--memory", "--anon-uid=-1"], /^Invalid --anon-uid: -1 /],
  [
    ["serve", "nfs", "--memory", "--anon-gid", "4294967296"],
    /^Invalid --anon-gid: 4294967296 /,
  ],
  [
    ["serve", "nfs", "--memory", "--lease", "0"],
    /^Invalid --lease: 0 \(expected a whole number from 1 to 3600\)$/,
  ],
  [["serve", "nfs", "--memory", "--grace", "x"], /^Invalid --grace: x /],
  [
    ["serve", "nfs", "--memory", "--export", "data"],
    /^Invalid --export: data \(expected \/ or an absolute name such as \/data\)$/,
  ],
  [
    ["serve", "nfs", "--memory", "--export", "/a/../b"],
    /^Invalid --export: \/a\/..\/b /,
  ],
  [
    ["serve", "nfs", "--memory", "--log-level", "trace"],
    /^Invalid --log-level: trace \(expected error, warn, info or debug\)$/,
  ],
  [
    ["--log-format", "xml", "serve", "nfs", "--memory"],
    /^Invalid --log-format: xml \(expected text or json\)$/,
  ],
  [
    ["serve", "nfs", "--memory", "--metrics", "nowhere"],
    /^Invalid --metrics: nowhere /,
  ],
  [
    ["serve", "nfs", "--memory", "--metrics", "127.0.0.1:99999"],
    /^Invalid --metrics: 99999 /,
  ],
  [
    ["serve", "nfs", "--memory", "--shutdown-timeout=-3"],
    /^Invalid --shutdown-timeout: -3 /,
  ],
  [
    ["serve", "nfs"],
    /^Nothing to export: give a DIR, --memory or --config FILE$/,
  ],
  [["serve", "nfs", "./a", "--memory"], /^Give a DIR or --memory, not both$/],
  [["serve", "nfs", "./a", "./b"], /^Too many arguments: .\/a .\/b /],
  [
    ["serve", "nfs", "--config", "x.json", "--read-only"],
    /^--read-only cannot be used with --config /,
  ],
  [
    ["serve", "nfs", "--config", "x.json", "./dir"],
    /^DIR cannot be used with --config/,
  ],
  [["serve", "nbd"], /^Nothing to serve: give a FILE or --memory SIZE$/],
  [["serve", "nbd", "--memory", "0"], /^Invalid --memory: 0 /],
  [["serve", "nbd", "--memory", "12Q"], /^Invalid --memory: 12Q /],
  [
    ["serve", "nbd", "--memory", "1G", "--memory", "1G"],
    /^Export name used twice: mem /,
  ],
  [
    ["serve", "nbd", "--memory", "1G", "--memory", "b=1G", "--name", "x"],
    /^--name needs exactly one export/,
  ],
  [
    ["serve", "nbd", "--memory", "1G", "--create", "1G"],
    /^--create needs a FILE$/,
  ],
  [
    ["serve", "nbd", "disk.img", "--workers", "2"],
    /^--workers serves RAM disks only/,
  ],
  [
    ["serve", "nbd", "--memory", "1G", "--workers", "0"],
    /^Invalid --workers: 0 /,
  ],
  [
    ["serve", "nbd", "--memory", "1G", "--tls-cert", "c.pem"],
    /^--tls-cert needs --tls-key too$/,
  ],
  [
    ["serve", "nbd", "--memory", "1G", "--tls", "optional"],
    /^--tls needs --tls-cert and --tls-key$/,
  ],
  [["serve", "frob"], /^Unknown thing to serve: frob \(expected nfs or nbd\)$/],
  [["nbd", "frob"], /^Unknown nbd verb: frob /],
  [
    ["nbd", "info", "http://127.0.0.1/x"],
    /^Not an NBD URI: http:\/\/127.0.0.1\/x /,
  ],
  [
    ["nbd", "copy", "nbd://127.0.0.1/a"],
    /^Copy needs a source and a destination/,
  ],
  [
    ["nbd", "copy", "a.img", "b.img"],
    /^Copy needs an NBD URI on at least one side$/,
  ],
  [
    ["nbd", "copy", "nbd://127.0.0.1/a", "b.img", "--connections", "0"],
    /^Invalid --connections: 0 /,
  ],
  [["nbd", "list", "--metrics", "9000"], /^Unknown option: --metrics /],
  [["nbd", "attach"], /^Missing URI \(see: netfs nbd attach --help\)$/],
  [["nbd", "attach", "/dev/sda"], /^Not an NBD URI: \/dev\/sda /],
  [
    ["nbd", "attach", "nbds://127.0.0.1/x"],
    /^The kernel cannot take a TLS connection: nbds:\/\/127.0.0.1\/x /,
  ],
  [
    ["nbd", "attach", "nbd://127.0.0.1/x", "--connections", "0"],
    /^Invalid --connections: 0 \(expected a whole number from 1 to 16\)$/,
  ],
  [
    ["nbd", "attach", "nbd://127.0.0.1/x", "--memory", "1G"],
    /^--memory is for nbd loopback$/,
  ],
  [
    ["nbd", "attach", "nbd://127.0.0.1/x", "--frob"],
    /^Unknown option: --frob /,
  ],
  [
    ["nbd", "loopback"],
    /^Loopback serves a FILE or --memory SIZE, one of them /,
  ],
  [
    ["nbd", "loopback", "disk.img", "--memory", "1G"],
    /^Loopback serves a FILE or --memory SIZE, one of them /,
  ],
  [["nbd", "loopback", "--memory", "12Q"], /^Invalid --memory: 12Q /],
  [
    ["nbd", "loopback", "--memory", "1G", "--timeout", "soon"],
    /^Invalid --timeout: soon /,
  ],
  [["nbd", "loopback", "a.img", "b.img"], /^Too many arguments: b.img$/],
  [["frob"], /^Unknown verb: frob /],
];

Deno.test("cli: every bad flag and value exits 2 with one line naming what was wrong", async (t) => {
  for (const [args, said] of BAD_FLAGS) {
    await t.step(args.join(" "), async () => {
      const r = await netfs(args, NET);
      assert.equal(
        r.code,
        2,
        `exit status for: ${args.join(" ")}\n${r.stderr}`,
      );
      assert.equal(r.stdout, "");
      const lines = r.stderr.trimEnd().split("\n");
      assert.equal(lines.length, 1, `one line: ${r.stderr}`);
      assert.ok(lines[0].startsWith("netfs: "), lines[0]);
      assert.match(lines[0].slice(7), said);
    });
  }
});

Deno.test("cli: missing permissions are named as the flags to add, before anything starts", async () => {
  const dir = await Deno.makeTempDir();
  try {
    let r = await netfs(["serve", "nfs", dir, "--port", "0"]);
    assert.equal(r.code, 2);
    assert.equal(
      r.stderr,
      `netfs: Missing permission: run deno with --allow-net=127.0.0.1 --allow-read=${dir} --allow-write=${dir}\n`,
    );
    r = await netfs(["serve", "nfs", dir, "--read-only", "--port", "2049"], [
      `--allow-read=${dir}`,
    ]);
    assert.equal(
      r.stderr,
      "netfs: Missing permission: run deno with --allow-net=127.0.0.1:2049\n",
    );
    r = await netfs([
      "serve",
      "nbd",
      `${dir}/disk.img`,
      "--port",
      "0",
      "--metrics",
      "127.0.0.2:9",
    ], NET);
    assert.equal(
      r.stderr,
      `netfs: Missing permission: run deno with --allow-net=127.0.0.2:9 --allow-read=${dir}/disk.img --allow-write=${dir}/disk.img\n`,
    );
    r = await netfs(["nbd", "info", "nbd://127.0.0.1:10809/x"]);
    assert.equal(
      r.stderr,
      "netfs: Missing permission: run deno with --allow-net=127.0.0.1:10809\n",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cli: a directory that cannot be exported is a usage error naming it", async () => {
  const r = await netfs([
    "serve",
    "nfs",
    "/nonexistent-netfs-dir",
    "--port",
    "0",
  ], [
    ...NET,
    "--allow-read=/nonexistent-netfs-dir",
    "--allow-write=/nonexistent-netfs-dir",
  ]);
  assert.equal(r.code, 2);
  assert.match(
    r.stderr,
    /^netfs: Cannot export \/nonexistent-netfs-dir: No such file or directory/,
  );
});

Deno.test({
  name:
    "cli: a root under /dev with scoped flags is one line saying what to do, not a stack trace",
  ignore: Deno.build.os !== "linux",
  async fn() {
    // Made through libc: Deno itself may not touch /dev/shm without -A.
    const lib = openLibc();
    assert.ok(typeof lib !== "string", `no native bindings: ${lib}`);
    const dir = `/dev/shm/netfs-cli-${crypto.randomUUID()}`;
    assert.equal(lib.mkdirat(AT_FDCWD, dir, 0o755), 0);
    try {
      for (const extra of [[], ["--allow-ffi"]]) {
        const r = await netfs(["serve", "nfs", dir, "--port", "0"], [
          ...NET,
          `--allow-read=${dir}`,
          `--allow-write=${dir}`,
          ...extra,
        ]);
        assert.equal(r.code, 2, r.stderr);
        assert.match(
          r.stderr,
          /^netfs: Cannot export \/dev\/shm\/\S+: Deno's permissions cannot reach \S+ with scoped flags \(paths under \/dev need --allow-all\): run with --allow-all, or [^\n]*\n$/,
        );
      }
    } finally {
      assert.equal(lib.unlinkat(AT_FDCWD, dir, AT_REMOVEDIR), 0);
      lib.release();
    }
  },
});

// [config, the field the message must name]
const BAD_CONFIGS: [unknown, RegExp][] = [
  [[], /\(top level\): expected an object, got an array$/],
  [
    { exports: [] },
    /exports: expected a list of at least one export, got an array$/,
  ],
  [{}, /exports: missing \(a list of exports\)$/],
  [
    { exports: [{ path: "/", memory: true }], colour: "red" },
    /colour: unknown field/,
  ],
  [
    { exports: [{ path: "/", memory: true }], port: "2049" },
    /port: expected a number, got string$/,
  ],
  [
    { exports: [{ path: "/", memory: true }], port: 70000 },
    /port: 70000 \(expected a whole number from 0 to 65535\)$/,
  ],
  [
    { exports: [{ path: "/", memory: true }], host: "nowhere" },
    /host: nowhere \(expected an IP address\)$/,
  ],
  [
    { exports: [{ path: "/", memory: true }], versions: "3,5" },
    /versions: 5 \(this netfs serves/,
  ],
  [{ exports: [{ path: "/", memory: true }], lease: 0 }, /lease: 0 /],
  [
    { exports: [{ path: "/", memory: true }], portmap111: "yes" },
    /portmap111: expected true or false, got "yes"$/,
  ],
  [{ exports: ["/data"] }, /exports\[0\]: expected an object, got string$/],
  [{ exports: [{ memory: true }] }, /exports\[0\].path: missing$/],
  [
    { exports: [{ path: "data", memory: true }] },
    /exports\[0\].path: data \(expected \/ or an absolute name/,
  ],
  [
    { exports: [{ path: "/a", memory: true }, { path: "/a/", memory: true }] },
    /exports\[1\].path: exported twice: \/a$/,
  ],
  [
    { exports: [{ path: "/a" }] },
    /exports\[0\]: give either "dir" \(a host directory\) or "memory": true$/,
  ],
  [
    { exports: [{ path: "/a", dir: "x", memory: true }] },
    /exports\[0\]: give either/,
  ],
  [
    { exports: [{ path: "/a", dir: 5 }] },
    /exports\[0\].dir: expected a string, got number$/,
  ],
  [
    { exports: [{ path: "/a", memory: true, squash: "most" }] },
    /exports\[0\].squash: most \(expected root, none or all\)$/,
  ],
  [
    { exports: [{ path: "/a", memory: true, clients: "10.0.0.0/8" }] },
    /exports\[0\].clients: expected a list of addresses and CIDRs, got string$/,
  ],
  [
    { exports: [{ path: "/a", memory: true, clients: ["10.0.0.0/40"] }] },
    /exports\[0\].clients: 10.0.0.0\/40 /,
  ],
  [
    { exports: [{ path: "/a", memory: true, anonUid: -5 }] },
    /exports\[0\].anonUid: -5 /,
  ],
  [
    { exports: [{ path: "/a", memory: true, readOnly: 1 }] },
    /exports\[0\].readOnly: expected true or false, got 1$/,
  ],
  [
    { exports: [{ path: "/a", memory: true, rw: true }] },
    /exports\[0\].rw: unknown field/,
  ],
];

Deno.test("cli config: every bad field is a usage error that names the file and the field", () => {
  for (const [json, said] of BAD_CONFIGS) {
    assert.throws(
      () => validateConfig(json, "exports.json", "/srv"),
      (e) =>
        e instanceof UsageError &&
        e.message.startsWith("Invalid config exports.json: ") &&
        said.test(e.message),
      `${JSON.stringify(json)} should fail with ${said}`,
    );
  }
});

Deno.test("cli config: a good file, with relative dirs taken from its folder", () => {
  const { server, exports } = validateConfig(
    {
      host: "0.0.0.0",
      port: 0,
      versions: ["3", "4.1"],
      lease: 30,
      grace: 0,
      exports: [
        {
          path: "/data/",
          dir: "data",
          clients: ["192.168.1.0/24", "::1"],
          squash: "none",
        },
        {
          path: "/scratch",
          memory: true,
          readOnly: true,
          anonUid: 1000,
          anonGid: 100,
          secure: true,
          async: true,
        },
      ],
    },
    "/srv/exports.json",
    "/srv",
  );
  assert.deepEqual(server, {
    host: "0.0.0.0",
    port: 0,
    versions: { versions: [3, 4], minors: [1], names: ["3", "4.1"] },
    lease: 30,
    grace: 0,
  });
  assert.deepEqual(exports, [
    {
      path: "/data",
      dir: "/srv/data",
      readOnly: false,
      clients: ["192.168.1.0/24", "::1"],
      squash: "none",
      anonUid: 65534,
      anonGid: 65534,
      secure: false,
      async: false,
    },
    {
      path: "/scratch",
      dir: undefined,
      readOnly: true,
      clients: undefined,
      squash: "root",
      anonUid: 1000,
      anonGid: 100,
      secure: true,
      async: true,
    },
  ]);
});

Deno.test("cli config: a bad file as a user meets it: exit 2, the file and the field named", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/exports.json`;
    await Deno.writeTextFile(
      file,
      JSON.stringify({
        exports: [{ path: "/a", memory: true, squash: "most" }],
      }),
    );
    let r = await netfs(["serve", "nfs", "--config", file], [
      ...NET,
      `--allow-read=${dir}`,
    ]);
    assert.equal(r.code, 2);
    assert.equal(
      r.stderr,
      `netfs: Invalid config ${file}: exports[0].squash: most (expected root, none or all)\n`,
    );
    await Deno.writeTextFile(file, "{ exports: ");
    r = await netfs(["serve", "nfs", "--config", file], [
      ...NET,
      `--allow-read=${dir}`,
    ]);
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      new RegExp(`^netfs: Invalid config ${file}: not JSON: `),
    );
    r = await netfs(["serve", "nfs", "--config", `${dir}/none.json`], [
      ...NET,
      `--allow-read=${dir}`,
    ]);
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      /^netfs: Cannot read config .*none.json: No such file/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
