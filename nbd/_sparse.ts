// What the file-backed devices (FileDevice, VfsDevice) share about sparse
// ranges: block status read from "where is the next data / hole" answers,
// and zeroing by writing zero buffers where nothing faster exists.
import type { Device } from "./device.ts";
import { type Extent, State } from "./protocol.ts";

/** The next data or hole at or after `pos`; `eof` when there is none before the end. */
export type SeekFn = (
  pos: number,
  what: "data" | "hole",
) => Promise<{ offset: number; eof: boolean }>;

const ZERO_CHUNK = 1 << 20;

/**
 * The `base:allocation` extents of `[offset, offset + length)`, clipped to
 * `size`, from `seek`: data (flags 0) up to the next hole, holes (HOLE |
 * ZERO) up to the next data; at most `max` extents.
 */
export async function extentsBySeek(
  seek: SeekFn,
  offset: number,
  length: number,
  size: number,
  max: number,
): Promise<Extent[]> {
  const end = Math.min(offset + length, size);
  const out: Extent[] = [];
  let pos = offset;
  while (pos < end && out.length < max) {
    const hole = await seek(pos, "hole");
    const holeAt = hole.eof ? end : Math.min(hole.offset, end);
    if (holeAt > pos) {
      out.push({ length: holeAt - pos, flags: 0 });
      pos = holeAt;
      continue;
    }
    const data = await seek(pos, "data");
    const dataAt = data.eof ? end : Math.min(data.offset, end);
    out.push({
      length: Math.max(dataAt - pos, 1),
      flags: State.HOLE | State.ZERO,
    });
    pos = Math.max(dataAt, pos + 1);
  }
  return out;
}

/** Writes zeroes over `[offset, offset + length)` in 1 MiB buffers. */
export async function writeZeroBuffers(
  dev: Pick<Device, "writeAt">,
  offset: number,
  length: number,
): Promise<void> {
  const z = new Uint8Array(Math.min(ZERO_CHUNK, length));
  for (let pos = offset, end = offset + length; pos < end;) {
    const n = Math.min(z.length, end - pos);
    await dev.writeAt(pos, z.subarray(0, n));
    pos += n;
  }
}
