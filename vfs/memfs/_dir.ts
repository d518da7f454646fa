// A MemFs directory's entries: a name index for O(1) lookup beside a list of
// slots in cookie order. A slot's cookie is the directory's insertion number,
// never reused, so a cookie stays valid across unrelated inserts and
// removals, and a listing resumes from it by binary search. Removed slots are
// tombstones until they outnumber the live ones.
import type { DirEntry } from "../types.ts";
import type { Inodes, Node, Slot } from "./_nodes.ts";

/** The node `dir` names `name`, if any. */
export function entry(dir: Node, name: string): Node | undefined {
  const slot = dir.index!.get(name);
  return slot?.node;
}

/** Adds `dir/name` for `node`, with the next cookie. */
export function addEntry(dir: Node, name: string, node: Node): void {
  const slot: Slot = {
    name,
    id: node.id,
    node,
    seq: dir.nextSeq++,
    live: true,
  };
  dir.index!.set(name, slot);
  dir.slots!.push(slot);
}

/** Removes the existing entry `dir/name`. */
export function removeEntry(dir: Node, name: string): void {
  const slot = dir.index!.get(name)!;
  slot.live = false;
  dir.index!.delete(name);
  const slots = dir.slots!;
  // Removing the newest entry (create then delete) needs no tombstone.
  if (slots[slots.length - 1] === slot) slots.pop();
  else dir.dead++;
  if (dir.dead > 64 && dir.dead * 2 > slots.length) {
    dir.slots = slots.filter((s) => s.live);
    dir.dead = 0;
  }
}

/**
 * Up to `limit` live entries after `cookie` (below 3, from the start: the
 * first entry's cookie is 3), with attributes when `table` is given.
 */
export function page(
  dir: Node,
  cookie: bigint,
  limit: number,
  table: Inodes | undefined,
): { entries: DirEntry[]; eof: boolean } {
  const slots = dir.slots!;
  let i = 0;
  if (cookie >= 3n) {
    // First slot with seq > cookie; slots are sorted by seq.
    const after = Number(cookie);
    let lo = 0;
    let hi = slots.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (slots[mid].seq <= after) lo = mid + 1;
      else hi = mid;
    }
    i = lo;
  }
  const entries: DirEntry[] = [];
  for (; i < slots.length; i++) {
    const slot = slots[i];
    if (!slot.live) continue;
    if (entries.length >= limit) break;
    const entry: DirEntry = {
      name: slot.name,
      fileid: slot.id,
      cookie: BigInt(slot.seq),
    };
    if (table !== undefined) entry.attrs = table.attrs(slot.node);
    entries.push(entry);
  }
  while (i < slots.length && !slots[i].live) i++;
  return { entries, eof: i >= slots.length };
}
