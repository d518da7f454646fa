// Bounded waits for tests that check a promise settles, or does not, in time.

/** Resolves with `p`, or fails with "Hung: `what`" after `ms`. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`Hung: ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Whether `p` settles (resolves or rejects) within `ms`. */
export async function settlesWithin(
  p: Promise<unknown>,
  ms: number,
): Promise<boolean> {
  try {
    await within(p, ms, "");
    return true;
  } catch (e) {
    return !(e instanceof Error && e.message === "Hung: ");
  }
}
