// The NFS client verbs' command lines: help for each, and every bad flag,
// value or URL answered with exit status 2 and one line naming it. None of
// these reaches a server.
import assert from "node:assert/strict";
import { netfs } from "./_cli.ts";

const NET = ["--allow-net=127.0.0.1"];
const VERBS = [
  "ls",
  "cat",
  "cp",
  "stat",
  "mkdir",
  "rm",
  "mv",
  "showmount",
  "rpcinfo",
];

Deno.test("cli nfs verbs: --help names the verb, its permissions and an example", async () => {
  const runs = await Promise.all(VERBS.map((v) => netfs([v, "--help"])));
  runs.forEach((r, i) => {
    const verb = VERBS[i];
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^Usage: netfs ${verb} `), verb);
    assert.match(
      r.stdout,
      /\nPermissions \(deno run\): --allow-net=HOST/,
      verb,
    );
    assert.match(
      r.stdout,
      new RegExp(`\\nExamples:\\n  (tar .*\\| )?netfs ${verb} `),
      verb,
    );
  });
  const top = await netfs(["--help"]);
  for (const v of VERBS) {
    assert.match(
      top.stdout,
      new RegExp(`\\n  ${v} `),
      `netfs --help lists ${v}`,
    );
  }
});

// [args, the one line on standard error after "netfs: "]
const BAD: [string[], RegExp][] = [
  [
    ["ls", "--bogus", "nfs://127.0.0.1/x"],
    /^Unknown option: --bogus \(see: netfs ls --help\)$/,
  ],
  [
    ["ls", "-x", "nfs://127.0.0.1/x"],
    /^Unknown option: -x \(see: netfs ls --help\)$/,
  ],
  [["ls"], /^Missing URL \(see: netfs ls --help\)$/],
  [
    ["ls", "/srv/data"],
    /^Not an NFS URL: \/srv\/data \(expected nfs:\/\/HOST\[:PORT\]\/EXPORT\/PATH\)$/,
  ],
  [
    ["ls", "nfs://127.0.0.1/x?version=4"],
    /^Unsupported NFS version: 4 \(2 or 3\) \(in nfs:\/\/127\.0\.0\.1\/x\?version=4\)$/,
  ],
  [
    ["ls", "nfs://127.0.0.1/x?versoin=3"],
    /^Unknown NFS URL argument: versoin /,
  ],
  [
    ["ls", "nfs://127.0.0.1:99999/x"],
    /^Invalid NFS URL: nfs:\/\/127\.0\.0\.1:99999\/x$/,
  ],
  [
    ["ls", "nfs://127.0.0.1/a", "nfs://127.0.0.1/b"],
    /^Too many arguments: nfs:\/\/127\.0\.0\.1\/b$/,
  ],
  [
    ["cat", "--json", "nfs://127.0.0.1/x"],
    /^Unknown option: --json \(see: netfs cat --help\)$/,
  ],
  [["cat", "./notes.txt"], /^Not an NFS URL: \.\/notes\.txt /],
  [
    ["cp", "nfs://127.0.0.1/x"],
    /^cp needs a source and a destination \(see: netfs cp --help\)$/,
  ],
  [["cp", "a", "b"], /^cp needs an nfs:\/\/ URL on at least one side /],
  [
    ["cp", "nfs://127.0.0.1/x", "-"],
    /^cp writes no standard output: use netfs cat URL for that$/,
  ],
  [
    ["cp", "-R", "a", "nfs://127.0.0.1/x"],
    /^Unknown option: -R \(see: netfs cp --help\)$/,
  ],
  [
    ["cp", "a", "nfs://127.0.0.1/x?uid=me"],
    /^Invalid NFS URL argument: uid=me /,
  ],
  [
    ["stat", "--long", "nfs://127.0.0.1/x"],
    /^Unknown option: --long \(see: netfs stat --help\)$/,
  ],
  [
    ["mkdir", "--mode", "999", "nfs://127.0.0.1/x"],
    /^Invalid --mode: 999 \(expected octal bits such as 755\)$/,
  ],
  [["mkdir", "--mode"], /^Missing value: --mode /],
  [
    ["mkdir", "nfs://127.0.0.1/"],
    /^URL names the server's root, not an entry: nfs:\/\/127\.0\.0\.1\/ /,
  ],
  [
    ["rm", "-f", "nfs://127.0.0.1/x"],
    /^Unknown option: -f \(see: netfs rm --help\)$/,
  ],
  [
    ["rm", "--recursive=yes", "nfs://127.0.0.1/x"],
    /^Option takes no value: --recursive/,
  ],
  [["mv", "nfs://127.0.0.1/a"], /^Missing URL \(see: netfs mv --help\)$/],
  [
    ["mv", "nfs://127.0.0.1/a", "nfs://127.0.0.2/b"],
    /^mv works on one server: 127\.0\.0\.1 and 127\.0\.0\.2 differ \(use cp, then rm\)$/,
  ],
  [["mv", "nfs://127.0.0.1/a", "./b"], /^Not an NFS URL: \.\/b /],
  [["showmount"], /^Missing HOST \(see: netfs showmount --help\)$/],
  [
    ["showmount", "nfs://127.0.0.1/"],
    /^Expected a host, not a URL: nfs:\/\/127\.0\.0\.1\/ /,
  ],
  [
    ["showmount", "-e", "-a", "127.0.0.1"],
    /^-e and -a cannot be used together$/,
  ],
  [
    ["showmount", "--port", "x", "127.0.0.1"],
    /^Invalid --port: x \(expected a whole number from 0 to 65535\)$/,
  ],
  [
    ["rpcinfo", "-p", "127.0.0.1"],
    /^Unknown option: -p \(see: netfs rpcinfo --help\)$/,
  ],
  [["rpcinfo", "--port", "70000", "127.0.0.1"], /^Invalid --port: 70000 /],
  [
    ["rpcinfo", "1.2.3.4.5"],
    /^Invalid HOST: 1\.2\.3\.4\.5 \(expected an IP address\)$/,
  ],
  [
    ["ls", "--metrics", "127.0.0.1:9", "nfs://127.0.0.1/"],
    /^Unknown option: --metrics /,
  ],
  [
    ["--metrics", "127.0.0.1:9", "ls", "nfs://127.0.0.1/"],
    /^--metrics is for the serve verbs$/,
  ],
  [
    ["--log-level", "loud", "ls", "nfs://127.0.0.1/"],
    /^Invalid --log-level: loud /,
  ],
];

Deno.test("cli nfs verbs: every bad flag, value or URL exits 2 with one line naming it", async () => {
  // Two at a time: the machine is shared.
  for (let i = 0; i < BAD.length; i += 2) {
    const batch = BAD.slice(i, i + 2);
    const runs = await Promise.all(batch.map(([args]) => netfs(args, NET)));
    runs.forEach((r, k) => {
      const [args, want] = batch[k];
      const what = `netfs ${args.join(" ")}`;
      assert.equal(r.code, 2, `${what}: exit 2\n${r.stderr}`);
      assert.equal(r.stdout, "", what);
      const lines = r.stderr.split("\n").filter((l) => l !== "");
      assert.equal(lines.length, 1, `${what}: one line\n${r.stderr}`);
      assert.match(lines[0].replace(/^netfs: /, ""), want, what);
    });
  }
});

Deno.test("cli nfs verbs: a missing permission exits 2 naming the flag", async () => {
  const r = await netfs(["ls", "nfs://127.0.0.1:2049/x"], []);
  assert.equal(r.code, 2);
  assert.equal(
    r.stderr,
    "netfs: Missing permission: run deno with --allow-net=127.0.0.1\n",
  );
  const cp = await netfs(["cp", "/tmp/nothing-here", "nfs://127.0.0.1/x"], NET);
  assert.equal(cp.code, 2);
  assert.match(
    cp.stderr,
    /^netfs: Missing permission: run deno with --allow-read=\/tmp\/nothing-here\n$/,
  );
});
