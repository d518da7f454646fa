// The transmission phase without a stream: what a request header means,
// and every command's reply in each of the three reply shapes (simple,
// structured, extended), byte for byte.
import assert from "node:assert/strict";
import {
  clipExtents,
  onRequest,
  parseRequest,
  run,
  shutdownReply,
  sparseSegments,
  validate,
} from "../../nbd/_commands.ts";
import { BufferPool } from "../../nbd/_stream.ts";
import { type Device, readOnly } from "../../nbd/device.ts";
import { MemoryDevice } from "../../nbd/memory_device.ts";
import {
  Cmd,
  CmdFlag,
  decodeBlockStatus,
  decodeErrorPayload,
  encodeRequest,
  Errno,
  type NbdRequest,
  ReplyType,
  State,
} from "../../nbd/protocol.ts";
import { getU64 } from "../../nbd/_u64.ts";
import {
  bytesOf,
  chunks,
  COOKIE,
  req,
  SHAPES,
  simple,
  tx,
} from "./_commands_util.ts";

Deno.test("commands: request headers parse in the negotiated size, or close", () => {
  for (const shape of SHAPES) {
    const t = tx(shape);
    const h = encodeRequest({
      type: Cmd.READ,
      flags: 0,
      cookie: COOKIE,
      offset: 2 ** 40,
      length: 512,
    }, { extended: shape === "extended" });
    assert.equal(h.length, t.headerSize);
    assert.deepEqual(parseRequest(t, h), req(Cmd.READ, 2 ** 40, 512));
    const other = encodeRequest({
      type: Cmd.READ,
      flags: 0,
      cookie: 1,
      offset: 0,
      length: 0,
    }, { extended: shape !== "extended" });
    assert.deepEqual(
      parseRequest(t, other.subarray(0, t.headerSize)),
      { do: "close", log: "bad request magic, closing" },
      `${shape}: the other header size's magic is wrong`,
    );
  }
});

Deno.test("commands: what a header asks of the stream", () => {
  const c = tx("simple", undefined, { max: 65536 });
  assert.deepEqual(onRequest(c, req(Cmd.READ, 0, 512)), { do: "run" });
  assert.deepEqual(onRequest(c, req(Cmd.WRITE, 0, 512)), { do: "payload" });
  assert.deepEqual(onRequest(c, req(Cmd.WRITE, 0, 65536)), { do: "payload" });
  assert.deepEqual(onRequest(c, req(Cmd.DISC)), { do: "disconnect" });
  const over = onRequest(c, req(Cmd.WRITE, 0, 65537));
  assert.equal(over.do, "skip", "over the maximum: skipped and refused");
  if (over.do === "skip") {
    assert.deepEqual(simple(over.reply).slice(0, 2), [Errno.EINVAL, COOKIE]);
  }
  assert.deepEqual(onRequest(c, req(Cmd.WRITE, 0, 2 ** 27)).do, "skip");
  assert.deepEqual(onRequest(c, req(Cmd.WRITE, 0, 2 ** 27 + 1)), {
    do: "close",
    log: `payload of ${2 ** 27 + 1} bytes, closing`,
  }, "past the hard limit (128 MiB) the stream is not worth reading");

  const e = tx("extended");
  const P = CmdFlag.PAYLOAD_LEN;
  assert.deepEqual(onRequest(e, req(Cmd.WRITE, 0, 4, P)), { do: "payload" });
  assert.deepEqual(onRequest(e, req(Cmd.WRITE, 0, 4)), {
    do: "close",
    log: "extended WRITE without PAYLOAD_LEN, closing",
  });
  for (const type of [Cmd.READ, Cmd.FLUSH, Cmd.DISC, 42]) {
    const n = onRequest(e, req(type, 0, 5, P));
    assert.equal(n.do, "skip", `command ${type} with a payload`);
    if (n.do !== "skip") continue;
    const [ch] = chunks(n.reply, true);
    assert.equal(ch.type, ReplyType.ERROR);
    assert.deepEqual(decodeErrorPayload(ch.payload, false), {
      error: Errno.EINVAL,
      message: `Command ${type} takes no payload`,
    });
  }
});

Deno.test("commands: validation refuses with the spec's errno", () => {
  const S = 1 << 26;
  const t = tx("structured", new MemoryDevice(S), { min: 512 });
  const cases: [string, NbdRequest, number | undefined][] = [
    ["aligned read", req(Cmd.READ, 512, 1024), undefined],
    ["misaligned offset", req(Cmd.READ, 1, 512), Errno.EINVAL],
    ["misaligned length", req(Cmd.WRITE, 0, 100), Errno.EINVAL],
    ["read at the end", req(Cmd.READ, S, 0), undefined],
    ["read past the end", req(Cmd.READ, S - 512, 1024), Errno.EINVAL],
    ["write past the end", req(Cmd.WRITE, S, 512), Errno.ENOSPC],
    ["zeroes past the end", req(Cmd.WRITE_ZEROES, S, 512), Errno.ENOSPC],
    ["offset 2^64-ish", req(Cmd.READ, 2 ** 64, 512), Errno.EINVAL],
    [
      "DF over the maximum",
      req(Cmd.READ, 0, 2 ** 25 + 512, CmdFlag.DF),
      Errno.EOVERFLOW,
    ],
    ["over the maximum", req(Cmd.READ, 0, 2 ** 25 + 512), Errno.EINVAL],
    ["FUA on flush", req(Cmd.FLUSH, 0, 0, CmdFlag.FUA), undefined],
    ["flush with length", req(Cmd.FLUSH, 0, 512), Errno.EINVAL],
    ["REQ_ONE on read", req(Cmd.READ, 0, 512, CmdFlag.REQ_ONE), Errno.EINVAL],
    ["zero-length status", req(Cmd.BLOCK_STATUS, 0, 0), Errno.EINVAL],
    ["DISC is not a command to run", req(Cmd.DISC), Errno.EINVAL],
    ["RESIZE", req(Cmd.RESIZE), Errno.EINVAL],
    ["unknown", req(0xffff), Errno.EINVAL],
  ];
  for (const [what, r, want] of cases) {
    assert.equal(validate(t, r)?.[0], want, what);
  }
  const ro = tx("simple", readOnly(new MemoryDevice(4096)));
  for (const type of [Cmd.WRITE, Cmd.TRIM, Cmd.WRITE_ZEROES]) {
    assert.deepEqual(validate(ro, req(type, 0, 1)), [
      Errno.EPERM,
      "Export is read-only",
    ]);
  }
  assert.deepEqual(
    validate(tx("simple"), req(Cmd.READ, 0, 1, CmdFlag.DF)),
    [Errno.EINVAL, "Invalid flags for command 0: 0x4"],
    "DF needs structured replies",
  );
  assert.deepEqual(
    validate(
      tx("structured", undefined, { allocation: false }),
      req(Cmd.BLOCK_STATUS, 0, 1),
    ),
    [Errno.EINVAL, "No metadata context selected for this export"],
  );
});

Deno.test("commands: success without data in each shape", async () => {
  const pool = new BufferPool();
  for (const shape of SHAPES) {
    const t = tx(shape);
    const runs: [string, NbdRequest, Uint8Array?][] = [
      ["write", req(Cmd.WRITE, 4096, 3), new Uint8Array([1, 2, 3])],
      ["write FUA", req(Cmd.WRITE, 0, 1, CmdFlag.FUA), new Uint8Array(1)],
      ["flush", req(Cmd.FLUSH)],
      ["trim", req(Cmd.TRIM, 0, 4096)],
      ["cache", req(Cmd.CACHE, 0, 4096)],
      ["zeroes", req(Cmd.WRITE_ZEROES, 8192, 100, CmdFlag.NO_HOLE)],
      ["zero-length zeroes", req(Cmd.WRITE_ZEROES, 100, 0)],
    ];
    for (const [what, r, payload] of runs) {
      const b = bytesOf(await run(t, r, payload, pool));
      if (shape !== "extended") {
        assert.deepEqual(
          simple(b),
          [0, COOKIE, new Uint8Array(0)],
          `${shape} ${what}`,
        );
        continue;
      }
      assert.deepEqual(chunks(b, true), [{
        flags: 1,
        type: ReplyType.NONE,
        cookie: COOKIE,
        offset: r.offset,
        payload: new Uint8Array(0),
      }], `extended ${what}: a final NONE chunk`);
    }
    const data = bytesOf(await run(t, req(Cmd.READ, 4096, 3), undefined, pool));
    assert.deepEqual(
      [...data.subarray(-3)],
      [1, 2, 3],
      `${shape}: the write landed`,
    );
  }
});

Deno.test("commands: errors in each shape", async () => {
  const pool = new BufferPool();
  const failing: Device = {
    size: 1 << 20,
    readAt: () => Promise.reject(new Error("Medium error")),
    writeAt: () =>
      Promise.reject(Object.assign(new Error("Quota"), { code: "EDQUOT" })),
    flush: () => Promise.reject(new Error("Flush failed")),
  };
  for (const shape of SHAPES) {
    const t = tx(shape, failing);
    const cases: [NbdRequest, number, string, Uint8Array?][] = [
      [req(Cmd.READ, 0, 512), Errno.EIO, "Medium error"],
      [req(Cmd.WRITE, 0, 4), Errno.ENOSPC, "Quota", new Uint8Array(4)],
      [req(Cmd.FLUSH), Errno.EIO, "Flush failed"],
      [
        req(Cmd.WRITE_ZEROES, 0, 4, CmdFlag.FAST_ZERO),
        Errno.ENOTSUP,
        "Zeroing is not faster than writing here",
      ],
      [
        req(Cmd.READ, 1 << 20, 1),
        Errno.EINVAL,
        `Request past the end of the export: offset ${1 << 20} length 1 size ${
          1 << 20
        }`,
      ],
      [req(Cmd.TRIM, 0, 1), Errno.EINVAL, "TRIM is not supported"],
    ];
    for (const [r, errno, message, payload] of cases) {
      const b = bytesOf(await run(t, r, payload, pool));
      if (shape === "simple") {
        assert.deepEqual(
          simple(b),
          [errno, COOKIE, new Uint8Array(0)],
          message,
        );
        continue;
      }
      // A failed structured read names where (the segment's start).
      const where = r.type === Cmd.READ && r.offset < failing.size;
      const [c, ...more] = chunks(b, shape === "extended");
      assert.equal(more.length, 0);
      assert.deepEqual(
        [c.flags, c.type, c.cookie, c.offset],
        [
          1,
          where ? ReplyType.ERROR_OFFSET : ReplyType.ERROR,
          COOKIE,
          shape === "extended" ? r.offset : undefined,
        ],
      );
      assert.deepEqual(
        decodeErrorPayload(c.payload, where),
        where
          ? { error: errno, message, offset: r.offset }
          : { error: errno, message },
      );
    }
    const down = bytesOf(shutdownReply(t, req(Cmd.FLUSH)));
    assert.equal(
      shape === "simple" ? simple(down)[0] : decodeErrorPayload(
        chunks(down, shape === "extended")[0].payload,
        false,
      ).error,
      Errno.ESHUTDOWN,
    );
  }
});

Deno.test("commands: reads in each shape, data and holes", async () => {
  const pool = new BufferPool();
  const dev = new MemoryDevice(1 << 20, { chunkSize: 4096 });
  await dev.writeAt(65536, new Uint8Array(4096).fill(7));
  for (const shape of SHAPES) {
    const t = tx(shape, dev);
    const ext = shape === "extended";
    // A short read: one data chunk (or a simple reply and the data).
    const small = bytesOf(
      await run(t, req(Cmd.READ, 65536 + 4000, 200), undefined, pool),
    );
    if (shape === "simple") {
      const [err, cookie, data] = simple(small);
      assert.deepEqual([err, cookie, data.length], [0, COOKIE, 200]);
      assert.deepEqual([data[95], data[96]], [7, 0]);
    } else {
      const [c] = chunks(small, ext);
      assert.deepEqual([c.flags, c.type], [1, ReplyType.OFFSET_DATA]);
      assert.equal(
        getU64(new DataView(c.payload.buffer, c.payload.byteOffset), 0),
        65536 + 4000,
      );
      assert.equal(c.payload.length, 208);
    }
    // A long sparse read: holes around the data, the last chunk final.
    const long = bytesOf(
      await run(t, req(Cmd.READ, 0, 131072), undefined, pool),
    );
    if (shape === "simple") {
      assert.equal(
        simple(long)[2].length,
        131072,
        "simple replies carry every byte",
      );
      continue;
    }
    const cs = chunks(long, ext);
    assert.deepEqual(cs.map((c) => [c.flags, c.type, c.payload.length]), [
      [0, ReplyType.OFFSET_HOLE, 12],
      [0, ReplyType.OFFSET_DATA, 8 + 4096],
      [1, ReplyType.OFFSET_HOLE, 12],
    ]);
    const hole = new DataView(cs[2].payload.buffer, cs[2].payload.byteOffset);
    assert.deepEqual([getU64(hole, 0), hole.getUint32(8)], [69632, 61440]);
    // DF: one data chunk.
    const df = chunks(
      bytesOf(
        await run(t, req(Cmd.READ, 0, 131072, CmdFlag.DF), undefined, pool),
      ),
      ext,
    );
    assert.deepEqual(df.map((c) => [c.flags, c.type, c.payload.length]), [[
      1,
      ReplyType.OFFSET_DATA,
      8 + 131072,
    ]]);
    // Nothing to read: a bare final chunk.
    assert.deepEqual(
      chunks(bytesOf(await run(t, req(Cmd.READ, 0, 0), undefined, pool)), ext)
        .map((c) => [c.flags, c.type, c.payload.length]),
      [[1, ReplyType.NONE, 0]],
    );
  }
});

Deno.test("commands: a failed segment of a sparse read says where (ERROR_OFFSET)", async () => {
  const mem = new MemoryDevice(1 << 20, { chunkSize: 4096 });
  await mem.writeAt(0, new Uint8Array(4096).fill(1));
  await mem.writeAt(65536, new Uint8Array(4096).fill(1));
  let inFlight = 0;
  const dev: Device = {
    size: mem.size,
    blockStatus: (o, l, opt) => mem.blockStatus!(o, l, opt),
    async readAt(o, into) {
      inFlight++;
      await new Promise((r) => setTimeout(r, o === 0 ? 0 : 20));
      inFlight--;
      if (o === 0) throw new Error("Unreadable sector: 0");
      await mem.readAt(o, into);
    },
    writeAt: (o, d) => mem.writeAt(o, d),
    flush: () => mem.flush(),
  };
  for (const shape of ["structured", "extended"] as const) {
    const t = tx(shape, dev);
    const b = bytesOf(
      await run(t, req(Cmd.READ, 0, 131072), undefined, new BufferPool()),
    );
    assert.equal(inFlight, 0, "the reply waits for the other segments' reads");
    const [c, ...more] = chunks(b, shape === "extended");
    assert.equal(more.length, 0);
    assert.deepEqual([c.flags, c.type], [1, ReplyType.ERROR_OFFSET]);
    assert.deepEqual(decodeErrorPayload(c.payload, true), {
      error: Errno.EIO,
      message: "Unreadable sector: 0",
      offset: 0,
    });
  }
});

Deno.test("commands: block status, compact and extended, REQ_ONE, clipped", async () => {
  const dev = new MemoryDevice(1 << 20, { chunkSize: 65536 });
  await dev.writeAt(65536, new Uint8Array(10).fill(1));
  const H = State.HOLE | State.ZERO;
  for (const shape of ["structured", "extended"] as const) {
    const ext = shape === "extended";
    const t = tx(shape, dev);
    const status = async (r: NbdRequest) => {
      const [c, ...more] = chunks(
        bytesOf(await run(t, r, undefined, new BufferPool())),
        ext,
      );
      assert.equal(more.length, 0);
      assert.deepEqual([c.flags, c.type], [
        1,
        ext ? ReplyType.BLOCK_STATUS_EXT : ReplyType.BLOCK_STATUS,
      ]);
      if (ext) {
        const v = new DataView(c.payload.buffer, c.payload.byteOffset);
        assert.equal(
          v.getUint32(4),
          (c.payload.length - 8) / 16,
          "descriptor count",
        );
      }
      return decodeBlockStatus(c.payload, ext);
    };
    assert.deepEqual(await status(req(Cmd.BLOCK_STATUS, 0, 1 << 20)), {
      id: 1,
      extents: [
        { length: 65536, flags: H },
        { length: 65536, flags: 0 },
        { length: (1 << 20) - 131072, flags: H },
      ],
    });
    assert.deepEqual(
      (await status(req(Cmd.BLOCK_STATUS, 1000, 100000, CmdFlag.REQ_ONE)))
        .extents,
      [
        { length: 64536, flags: H },
      ],
    );
    assert.deepEqual(
      (await status(req(Cmd.BLOCK_STATUS, 60000, 10000))).extents,
      [
        { length: 5536, flags: H },
        { length: 4464, flags: 0 },
      ],
      "clipped to the request",
    );
  }
  // Without the device's help, everything is data.
  const plain: Device = {
    size: 8192,
    readAt: async () => {},
    writeAt: async () => {},
    flush: async () => {},
  };
  const [c] = chunks(
    bytesOf(
      await run(
        tx("structured", plain),
        req(Cmd.BLOCK_STATUS, 0, 8192),
        undefined,
        new BufferPool(),
      ),
    ),
    false,
  );
  assert.deepEqual(decodeBlockStatus(c.payload, false).extents, [{
    length: 8192,
    flags: 0,
  }]);
});

Deno.test("commands: extents are clipped to the length and count", () => {
  const e = [{ length: 100, flags: 1 }, { length: 100, flags: 2 }, {
    length: 100,
    flags: 3,
  }];
  assert.deepEqual(clipExtents(e, 150, 10), [{ length: 100, flags: 1 }, {
    length: 50,
    flags: 2,
  }]);
  assert.deepEqual(clipExtents(e, 1000, 2), e.slice(0, 2));
  assert.deepEqual(clipExtents(e, 0, 10), []);
  assert.deepEqual(clipExtents([], 10, 10), []);
});

Deno.test("commands: sparse segments merge, keep small holes as data, cover the range", () => {
  const H = State.HOLE | State.ZERO;
  assert.deepEqual(
    sparseSegments(
      [{ length: 8192, flags: H }, { length: 100, flags: H }, {
        length: 4096,
        flags: 0,
      }],
      0,
      20000,
    ),
    [[false, 0, 8192], [true, 8192, 20000 - 8192]],
    "a hole under 4096 bytes is data; the tail no extent covers is data",
  );
  assert.deepEqual(
    sparseSegments(
      [{ length: 4096, flags: 0 }, { length: 1000, flags: H }, {
        length: 4096,
        flags: 0,
      }],
      0,
      9192,
    ),
    [[true, 0, 9192]],
    "a hole under 4096 bytes is sent as data",
  );
  assert.deepEqual(
    sparseSegments([{ length: 1 << 20, flags: H }], 4096, 8192),
    [[false, 4096, 8192]],
  );
});
