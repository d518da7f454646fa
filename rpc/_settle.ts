/**
 * The wait before reading a socket again after a record read to its last
 * byte, shared by the RPC server's and client's read loops.
 *
 * A record too large for the receive buffer is read straight into its own
 * storage, and its last read fills exactly what it asks for
 * (`RecordReader.filledLast`). Tokio forgets
 * that a socket is readable only on a short read or `EAGAIN`, so a read
 * started right after such a record tries `recvfrom` at once. When the peer
 * is waiting for this side (a client with one call in flight waiting for
 * the reply, a server waiting for the next call) the socket is empty: the
 * `recvfrom` fails, and the next message costs an `epoll_wait` and a
 * wake-up more. strace of 256 × 1 MiB WRITEs on one CPU: 257 failed reads
 * and 277 `epoll_wait` before, 2 and 20 with the wait (bench/RESULTS.md,
 * issue 16, "the read after the reply").
 *
 * @module
 */

/**
 * Microtask turns {@link settle} waits at most: a MemFs call replies within
 * 3–7 (counted: 4 KiB NFSv3 WRITEs 5, NFSv4 READs 7); something waiting on
 * real I/O only delays the read by these turns (32 cost under a
 * microsecond).
 */
export const SETTLE_TURNS = 32;

/**
 * Waits while `busy()` holds, for at most {@link SETTLE_TURNS} microtask
 * turns: long enough for work that needs no I/O to answer before the
 * socket is read again.
 */
export async function settle(busy: () => boolean): Promise<void> {
  for (let t = 0; t < SETTLE_TURNS && busy(); t++) await undefined;
}
