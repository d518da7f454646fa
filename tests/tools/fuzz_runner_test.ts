// `deno task fuzz`: the budget reaches the fuzzers, bad arguments are
// refused. Runs the runner on the portmap/RPC fuzzer with a tiny budget.
import assert from "node:assert/strict";

const MAIN = new URL("../../tools/fuzz/main.ts", import.meta.url).pathname;

async function fuzz(...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", "--allow-run=deno,ps", MAIN, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return {
    code: out.code,
    text: dec.decode(out.stdout) + dec.decode(out.stderr),
  };
}

Deno.test("fuzz runner: --records and --seconds reach the fuzzers", async () => {
  const { code, text } = await fuzz(
    "--records",
    "300",
    "--seconds",
    "5",
    "--seed",
    "7",
    "--only",
    "portmap",
  );
  assert.equal(code, 0, text);
  assert.match(text, /records 300, seconds 5, seed 7/);
  assert.match(text, /ok +tests\/fuzz\/rpc_fuzz_test\.ts/);
  // The live fuzzer sends in batches of 40: at least 300, less than 340.
  const sent = Number(/fuzz: (\d+) records, \d+ replies/.exec(text)?.[1]);
  assert.ok(sent >= 300 && sent < 340, `live records sent: ${sent}`);
  assert.match(text, /fuzz: 300 inputs through every decoder/);
  assert.match(text, /fuzz: 1 of 1 files passed/);
});

Deno.test("fuzz runner: bad arguments are refused before anything runs", async () => {
  const zero = await fuzz("--records", "0");
  assert.equal(zero.code, 2);
  assert.match(zero.text, /--records takes a positive number: 0/);
  const bogus = await fuzz("--only", "smb");
  assert.equal(bogus.code, 2);
  assert.match(bogus.text, /Unknown protocol: smb \(one of rpc, portmap, nfs3/);
});

Deno.test("fuzz runner: without --seed one seed from the clock reaches the fuzzers and is printed", async () => {
  const { code, text } = await fuzz(
    "--records",
    "300",
    "--seconds",
    "10",
    "--only",
    "nbd",
  );
  assert.equal(code, 0, text);
  const seed = /, seed (\d+) \(from the clock: --seed replays it\)/.exec(text)
    ?.[1];
  assert.ok(seed, `the first line names the seed: ${text}`);
  // Both NBD fuzzers ran from it, the session fuzz too (it had its own).
  assert.match(
    text,
    new RegExp(`nbd session fuzz: \\d+ sessions \\(seed ${seed}\\)`),
  );
  assert.match(
    text,
    new RegExp(`nbd fuzz: \\d+ mutated messages .*\\(seed ${seed}\\)`),
  );
  assert.match(text, /fuzz: 2 of 2 files passed/);
});
