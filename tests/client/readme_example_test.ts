// The README's "NFS clients" example runs as written and its assertions
// hold (imports of the package point at this checkout).
import assert from "node:assert/strict";

const root = new URL("../../", import.meta.url).pathname;

Deno.test("README: the NFS clients example runs and asserts", async () => {
  const readme = await Deno.readTextFile(`${root}README.md`);
  const section = readme.split("\n## NFS clients")[1];
  assert.ok(section, "the README has an NFS clients section");
  const code = section.match(/```ts\n([\s\S]*?)```/)?.[1] ?? "";
  assert.ok(code.includes("NfsClient.connect"), "its first ts block");
  const { exports } = JSON.parse(await Deno.readTextFile(`${root}deno.json`));
  const local = code.replace(
    /"@netfs\/netfs(\/[a-z/]+)?"/g,
    (_, sub) => JSON.stringify(`${root}${exports[`.${sub ?? ""}`].slice(2)}`),
  );
  const file = await Deno.makeTempFile({ suffix: ".ts" });
  try {
    await Deno.writeTextFile(file, local);
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-net=127.0.0.1", file],
      stdout: "piped",
      stderr: "piped",
      stdin: "null",
    }).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  } finally {
    await Deno.remove(file);
  }
});
