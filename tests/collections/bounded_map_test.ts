import assert from "node:assert/strict";
import { BoundedMap } from "../../collections/_bounded_map.ts";

/** The keys, oldest first. */
const order = <K, V>(m: BoundedMap<K, V>): K[] => [...m.keys()];

Deno.test("BoundedMap: past the bound, the oldest entries go first", () => {
  const m = new BoundedMap<string, number>(3);
  for (const [i, k] of ["a", "b", "c", "d", "e"].entries()) m.set(k, i);
  assert.equal(m.size, 3, "never more than max entries after a set");
  assert.deepEqual(order(m), ["c", "d", "e"], "a and b, the oldest, went");
  assert.equal(m.has("a"), false);
  assert.equal(m.get("e"), 4);
  assert.equal(m.oldestKey(), "c");
});

Deno.test("BoundedMap: set of a held key keeps its place, evicts nothing", () => {
  const m = new BoundedMap<string, number>(2);
  m.set("a", 1).set("b", 2).set("a", 10);
  assert.deepEqual(order(m), ["a", "b"], "replacing a value does not renew it");
  m.set("c", 3);
  assert.deepEqual(order(m), ["b", "c"], "so a is still the oldest");
});

Deno.test("BoundedMap: touch makes a held key the newest", () => {
  const m = new BoundedMap<string, number>(3);
  m.set("a", 1).set("b", 2).set("c", 3);
  assert.equal(m.oldestKey(), "a");
  assert.equal(m.touch("a"), 1, "touch returns the value");
  assert.equal(m.touch("zz"), undefined, "touch of a missing key adds nothing");
  assert.equal(m.size, 3);
  m.set("d", 4);
  assert.deepEqual(order(m), ["c", "a", "d"], "b went, not the touched a");
  // A held value of undefined is still held.
  const u = new BoundedMap<string, undefined>(2);
  u.set("x", undefined).set("y", undefined);
  u.touch("x");
  u.set("z", undefined);
  assert.deepEqual(order(u), ["x", "z"]);
});

Deno.test("BoundedMap: deleting or renewing the oldest moves eviction on", () => {
  const m = new BoundedMap<number, number>(3);
  m.set(1, 1).set(2, 2).set(3, 3);
  assert.equal(m.oldestKey(), 1); // the cursor now rests on 1
  m.delete(1);
  assert.equal(m.oldestKey(), 2, "after a deleted oldest, the next one");
  m.delete(2);
  m.set(2, 20); // re-added: now the newest
  m.set(4, 4);
  assert.deepEqual(order(m), [3, 2, 4]);
  m.set(5, 5);
  assert.deepEqual(order(m), [2, 4, 5], "3 was the oldest, not the re-added 2");
  m.touch(2);
  m.set(6, 6);
  assert.deepEqual(order(m), [5, 2, 6]);
});

Deno.test("BoundedMap: onEvict sees evictions only, after the entry left", () => {
  const seen: [string, number, boolean][] = [];
  const m: BoundedMap<string, number> = new BoundedMap(2, {
    onEvict: (k, v) => seen.push([k, v, m.has(k)]),
  });
  m.set("a", 1).set("b", 2);
  m.delete("a");
  assert.deepEqual(seen, [], "delete is not an eviction");
  m.set("c", 3).set("d", 4);
  assert.deepEqual(seen, [["b", 2, false]]);
  assert.equal(m.evictOldest(), true);
  assert.deepEqual(seen[1], ["c", 3, false]);
  m.clear();
  assert.equal(m.evictOldest(), false, "nothing to evict when empty");
  assert.equal(m.oldestKey(), undefined);
  assert.equal(seen.length, 2, "clear is not an eviction");
});

Deno.test("BoundedMap: edges at max 0 and 1, and reuse after emptying", () => {
  const zero = new BoundedMap<string, number>(0);
  zero.set("a", 1);
  assert.equal(zero.size, 0, "max 0 holds nothing");
  const one = new BoundedMap<string, number>(1);
  one.set("a", 1).set("b", 2);
  assert.deepEqual(order(one), ["b"]);
  one.delete("b");
  assert.equal(one.oldestKey(), undefined);
  one.set("c", 3).set("d", 4);
  assert.deepEqual(order(one), ["d"], "the cursor restarts on a map refilled");
  const neg = new BoundedMap<string, number>(-5);
  assert.equal(neg.max, 0);
});

Deno.test("BoundedMap: the oldest survives the map emptying and growing", () => {
  const m = new BoundedMap<number, number>(5000);
  m.set(1, 1).set(2, 2);
  assert.equal(m.oldestKey(), 1);
  m.delete(1);
  m.delete(2);
  // Empty, without a look at the oldest: refilled past several rebuilds of
  // the underlying table.
  for (let i = 3; i < 10_000; i++) m.set(i, i);
  assert.equal(m.size, 5000);
  assert.equal(m.oldestKey(), 5000, "3 to 4999 were evicted in order");
  for (let i = 5000; i < 9000; i++) m.delete(i);
  assert.equal(m.oldestKey(), 9000, "deletes before the oldest are skipped");
  m.set(1, 1);
  assert.deepEqual(order(m).slice(0, 2), [9000, 9001]);
  assert.equal(order(m).at(-1), 1);
});

/**
 * Runs `steps` random operations on a BoundedMap and on an array of entries
 * in order, and fails at the first step where they disagree. The oldest key
 * is looked at only now and then, so the map also empties and refills
 * between looks.
 */
function agreeWithModel(max: number, keys: number, steps: number): void {
  let seed = 12345 + max;
  const rand = (k: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % k;
  };
  let evicted: number[] = [];
  const m = new BoundedMap<number, number>(max, {
    onEvict: (k) => evicted.push(k),
  });
  let model: [number, number][] = [];
  const find = (k: number) => model.findIndex(([mk]) => mk === k);
  for (let step = 0; step < steps; step++) {
    const k = rand(keys);
    const op = rand(100);
    evicted = [];
    if (op < 55) {
      m.set(k, step);
      const at = find(k);
      if (at >= 0) model[at][1] = step;
      else model.push([k, step]);
      const gone = model.splice(0, Math.max(0, model.length - max));
      assert.deepEqual(evicted, gone.map(([g]) => g), `step ${step}: evicted`);
    } else if (op < 75) {
      const at = find(k);
      assert.equal(m.touch(k), at >= 0 ? model[at][1] : undefined);
      if (at >= 0) model.push(...model.splice(at, 1));
    } else if (op < 95) {
      const at = find(k);
      assert.equal(m.delete(k), at >= 0, `step ${step}: delete`);
      if (at >= 0) model.splice(at, 1);
    } else if (op < 99) {
      assert.equal(m.evictOldest(), model.length > 0);
      const gone = model.splice(0, 1).map(([g]) => g);
      assert.deepEqual(evicted, gone, `step ${step}: evictOldest`);
    } else if (rand(10) === 0) {
      m.clear();
      model = [];
    }
    assert.equal(m.size, model.length, `step ${step}: size`);
    if (rand(8) === 0) {
      assert.equal(m.oldestKey(), model[0]?.[0], `step ${step}: oldest key`);
    }
    if (step % 997 === 0) {
      assert.deepEqual([...m], model, `step ${step}: entries in order`);
    }
  }
  assert.deepEqual([...m], model, "entries in order at the end");
}

Deno.test("BoundedMap: agrees with an array model, small and often full", () => {
  agreeWithModel(50, 120, 200_000);
});

Deno.test("BoundedMap: agrees with an array model while tables grow and shrink", () => {
  // A key space much larger than the bound: most keys are new, the map
  // fills from empty after each clear, and V8 rebuilds its table as it grows
  // and as deleted slots pile up.
  agreeWithModel(2000, 20_000, 60_000);
});
