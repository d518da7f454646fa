// Run by load_test.ts, several at once: clients FIRST..LAST (one NFSv3
// connection each, all at once) against 127.0.0.1:PORT, each doing OPS mixed
// operations (create, write, read, stat, readdir, rename, remove) in its own
// directory /cN, checking every answer against a model of what it wrote,
// then reading every file back. Prints {"ops", "errors", "files", "bytes"}:
// errors are the first few messages of anything that failed or differed.
//   deno run --allow-net=127.0.0.1 _load_client.ts PORT FIRST LAST OPS
import { NfsClient } from "../../client/nfs_client.ts";

const [port, first, last, opsText] = Deno.args.map(Number);
const errors: string[] = [];
let ops = 0;
let files = 0;
let bytes = 0;

function fail(what: string): void {
  if (errors.length < 20) errors.push(what);
  else errors[19] = `… and more (last: ${what})`;
}

function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let at = 0; at < n; at += 65536) {
    crypto.getRandomValues(out.subarray(at, Math.min(n, at + 65536)));
  }
  return out;
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

async function client(id: number): Promise<void> {
  const nfs = await NfsClient.connect(
    `nfs://127.0.0.1:${port}/?uid=0&gid=0`,
    { timeoutMs: 60_000 },
  );
  const dir = `/c${id}`;
  const model = new Map<string, Uint8Array>();
  let next = 0;
  const pick = () => [...model.keys()][Math.floor(Math.random() * model.size)];
  const step = async (op: number) => {
    const name = pick();
    if (op < 15 || name === undefined) { // create
      if (model.size >= 24) return;
      const n = `f${next++}`;
      const data = randomBytes(Math.floor(Math.random() * 8192));
      await nfs.writeFile(`${dir}/${n}`, data, { createNew: true });
      model.set(n, data);
    } else if (op < 35) { // write: replace the content
      const data = randomBytes(Math.floor(Math.random() * 8192));
      await nfs.writeFile(`${dir}/${name}`, data);
      model.set(name, data);
    } else if (op < 60) { // read
      const got = await nfs.readFile(`${dir}/${name}`);
      if (!same(got, model.get(name)!)) fail(`${dir}/${name}: read differs`);
    } else if (op < 75) { // stat
      const st = await nfs.stat(`${dir}/${name}`);
      const want = model.get(name)!.byteLength;
      if (st.size !== want) {
        fail(`${dir}/${name}: size ${st.size}, want ${want}`);
      }
    } else if (op < 85) { // readdir
      const names: string[] = [];
      for await (const e of nfs.readDir(dir)) names.push(e.name);
      const want = [...model.keys()].sort().join(",");
      if (names.sort().join(",") !== want) fail(`${dir}: listing differs`);
    } else if (op < 93) { // rename
      const to = `f${next++}`;
      await nfs.rename(`${dir}/${name}`, `${dir}/${to}`);
      model.set(to, model.get(name)!);
      model.delete(name);
    } else { // remove
      await nfs.remove(`${dir}/${name}`);
      model.delete(name);
    }
  };
  try {
    await nfs.mkdir(dir);
    for (let i = 0; i < opsText; i++) {
      try {
        await step(Math.floor(Math.random() * 100));
      } catch (e) {
        fail(`${dir}: ${(e as Error).message}`);
      }
      ops++;
    }
    for (const [name, data] of model) {
      const got = await nfs.readFile(`${dir}/${name}`);
      if (!same(got, data)) fail(`${dir}/${name}: final content differs`);
      files++;
      bytes += data.byteLength;
    }
  } catch (e) {
    fail(`${dir}: ${(e as Error).message}`);
  } finally {
    await nfs.close();
  }
}

const ids = Array.from({ length: last - first + 1 }, (_, i) => first + i);
await Promise.all(ids.map(client));
console.log(JSON.stringify({ ops, errors, files, bytes }));
