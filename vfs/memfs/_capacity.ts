// The default capacity of a MemFs: a quarter of the machine's memory, so a
// client that fills it gets ENOSPC long before the process runs out of
// memory. Knowing the memory size needs `--allow-sys` (systemMemoryInfo);
// without it the default is FALLBACK_CAPACITY. Asked once per process, and
// only when granted, so it never prompts.

/** The default when the machine's memory size is not known: 1 GiB. */
export const FALLBACK_CAPACITY = 1 << 30;

let cached: number | undefined;

/** A quarter of the machine's memory, or {@link FALLBACK_CAPACITY}. */
export function defaultCapacity(): number {
  if (cached !== undefined) return cached;
  cached = FALLBACK_CAPACITY;
  try {
    const granted = Deno.permissions.querySync({
      name: "sys",
      kind: "systemMemoryInfo",
    }).state === "granted";
    if (granted) {
      const total = Deno.systemMemoryInfo().total;
      if (Number.isSafeInteger(total) && total > 0) {
        cached = Math.floor(total / 4);
      }
    }
  } catch {
    // No permission API or no memory figure on this platform.
  }
  return cached;
}
