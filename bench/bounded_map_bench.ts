// In process: what one new entry costs once a bounded cache is full, for the
// NFS handle cache (server/_targets.ts `HandleCache`, 65,536 handles per
// export) and the duplicate-request cache (rpc/drc.ts), bounded by entries
// and by bytes; and, for the mechanism alone, a bare Map evicting with
// `map.delete(map.keys().next().value)` against `BoundedMap`.
//
//   deno run --allow-read --allow-env=NETFS_CACHE,HOME bench/bounded_map_bench.ts [--baseline DIR] [--reps 3] [--n 65536]
//
// `--baseline DIR` (a `git archive` of an earlier commit, say) runs DIR's
// HandleCache and DuplicateRequestCache too, interleaved with this tree's.
// Each case fills its cache to the bound (the "fill" column: µs per entry
// while nothing is evicted), then adds `--n` new entries past it (µs per
// entry, each evicting one). Medians of `--reps`, min–max in brackets.
// Nothing is recorded: copy the table into bench/RESULTS.md.
import { parseArgs } from "node:util";
import { BoundedMap } from "../collections/_bounded_map.ts";
import { HandleCache } from "../server/_targets.ts";
import type { Export } from "../server/exports.ts";
import { DuplicateRequestCache } from "../rpc/drc.ts";
import { spread } from "./_bench_util.ts";

const args = parseArgs({
  args: Deno.args,
  options: {
    baseline: { type: "string" },
    reps: { type: "string", default: "3" },
    n: { type: "string", default: "65536" },
  },
});
const reps = Math.max(1, Number(args.values.reps));
const n = Math.max(1, Number(args.values.n));

/** The two caches as one tree builds them. */
interface Impl {
  name: string;
  HandleCache: typeof HandleCache;
  DuplicateRequestCache: typeof DuplicateRequestCache;
}

/** µs per entry filling up to the bound, and past it. */
interface Sample {
  fill: number;
  past: number;
}

/** Runs `add(i)` for entries `from` to `to - 1`: µs per entry. */
function perEntry(from: number, to: number, add: (i: number) => void): number {
  const t0 = performance.now();
  for (let i = from; i < to; i++) add(i);
  return (performance.now() - t0) * 1000 / (to - from);
}

/** The fields HandleCache reads of an export. */
const EXPORT = { id: 0, verifier: new Uint8Array(8) } as unknown as Export;
const HANDLES = 1 << 16;

function handleCase(impl: Impl): Sample {
  const cache = new impl.HandleCache();
  const add = (i: number) => cache.get(EXPORT, i + 1);
  return {
    fill: perEntry(0, HANDLES, add),
    past: perEntry(HANDLES, HANDLES + n, add),
  };
}

/** A DRC holding `held` entries, by its entry bound or by its byte bound. */
function drcCase(
  impl: Impl,
  held: number,
  options: { entries: number; maxBytes: number },
  replyBytes: number,
): Sample {
  const drc = new impl.DuplicateRequestCache({ ...options, ttlMs: 1e12 });
  const reply = new Uint8Array(replyBytes);
  // The shape of a real key: client, xid, program, version, procedure,
  // argument length and checksum.
  const add = (i: number) => {
    const key = `192.0.2.7|${i}|100003|3|8|128|${i * 2654435761 >>> 0}`;
    drc.begin(key, 0);
    drc.finish(key, reply);
  };
  return { fill: perEntry(0, held, add), past: perEntry(held, held + n, add) };
}

/** The mechanism alone: a Map evicting its first key per insert. */
function bareMap(): Sample {
  const map = new Map<number, number>();
  const add = (i: number) => {
    if (map.size >= HANDLES) map.delete(map.keys().next().value!);
    map.set(i, i);
  };
  return {
    fill: perEntry(0, HANDLES, add),
    past: perEntry(HANDLES, HANDLES + n, add),
  };
}

function boundedMap(): Sample {
  const map = new BoundedMap<number, number>(HANDLES);
  const add = (i: number) => map.set(i, i);
  return {
    fill: perEntry(0, HANDLES, add),
    past: perEntry(HANDLES, HANDLES + n, add),
  };
}

const impls: Impl[] = [{
  name: "this tree",
  HandleCache,
  DuplicateRequestCache,
}];
if (args.values.baseline !== undefined) {
  const dir = new URL(`${args.values.baseline}/`, `file://${Deno.cwd()}/`);
  const targets = await import(new URL("server/_targets.ts", dir).href);
  const drc = await import(new URL("rpc/drc.ts", dir).href);
  impls.unshift({
    name: `baseline (${args.values.baseline})`,
    HandleCache: targets.HandleCache,
    DuplicateRequestCache: drc.DuplicateRequestCache,
  });
}

const cases: { name: string; run: (impl: Impl) => Sample }[] = [
  { name: "HandleCache, 65,536 handles", run: handleCase },
  {
    name: "DRC, 1,024 entries (the default), 200-byte replies",
    run: (impl) =>
      drcCase(impl, 1024, { entries: 1024, maxBytes: 4 << 20 }, 200),
  },
  {
    name: "DRC, 65,536 entries, 200-byte replies",
    run: (impl) =>
      drcCase(impl, 65536, { entries: 65536, maxBytes: 1 << 30 }, 200),
  },
  {
    name: "DRC, bound by 4 MiB of 128-byte replies (32,768 entries)",
    run: (impl) =>
      drcCase(impl, 32768, { entries: 1 << 20, maxBytes: 4 << 20 }, 128),
  },
];

const fmt = (x: number) => x < 10 ? x.toFixed(2) : x.toFixed(1);
const cell = (xs: number[]) => {
  const s = spread(xs);
  return `${fmt(s.median)} (${fmt(s.min)}–${fmt(s.max)})`;
};

console.log(`${n} new entries past each bound, ${reps} repetitions\n`);
console.log("| cache | code | fill µs/entry | past the bound µs/entry |");
console.log("|---|---|---|---|");
for (const c of cases) {
  const samples = impls.map(() => [] as Sample[]);
  for (let r = 0; r < reps; r++) {
    impls.forEach((impl, i) => samples[i].push(c.run(impl)));
  }
  impls.forEach((impl, i) => {
    const s = samples[i];
    console.log(
      `| ${c.name} | ${impl.name} | ${cell(s.map((x) => x.fill))} | ${
        cell(s.map((x) => x.past))
      } |`,
    );
  });
}
const bare: Sample[] = [];
const bounded: Sample[] = [];
for (let r = 0; r < reps; r++) {
  bare.push(bareMap());
  bounded.push(boundedMap());
}
for (
  const [name, s] of [["Map + keys().next()", bare], [
    "BoundedMap",
    bounded,
  ]] as const
) {
  console.log(
    `| 65,536 numbers | ${name} | ${cell(s.map((x) => x.fill))} | ${
      cell(s.map((x) => x.past))
    } |`,
  );
}
