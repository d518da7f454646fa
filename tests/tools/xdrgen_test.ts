import assert from "node:assert/strict";
import { XdrError, XdrReader, XdrWriter } from "../../rpc/xdr.ts";
import { emitTs } from "../../tools/xdrgen/emit.ts";
import { generate } from "../../tools/xdrgen/main.ts";
import { JOBS } from "../../tools/xdrgen/config.ts";
import { type GenConfig, Model } from "../../tools/xdrgen/model.ts";
import { parseXdr } from "../../tools/xdrgen/parse.ts";

const XDR = new URL("../../rpc/xdr.ts", import.meta.url).href;

function source(src: string, config: GenConfig = {}): string {
  return emitTs(new Model(parseXdr(src, "t.x"), config), {
    xdrModule: XDR,
    specPath: "t.x",
    task: "deno task gen",
    moduleDoc: "Test.",
  });
}

type Codec = {
  [k: string]: any;
};

/** Generates TypeScript for `src` and imports it. */
async function compile(src: string, config: GenConfig = {}): Promise<Codec> {
  const dir = await Deno.makeTempDir({ prefix: "xdrgen_" });
  try {
    const path = `${dir}/gen.ts`;
    await Deno.writeTextFile(path, source(src, config));
    return await import(new URL(`file://${path}`).href);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function hex(s: string): Uint8Array {
  const clean = s.replace(/\s+/g, "");
  return Uint8Array.from(clean.match(/../g) ?? [], (b) => parseInt(b, 16));
}

function enc(m: Codec, name: string, v: unknown): Uint8Array {
  const w = new XdrWriter();
  m[`encode_${name}`](w, v);
  return w.bytes();
}

function dec(m: Codec, name: string, bytes: Uint8Array): unknown {
  const r = new XdrReader(bytes);
  const v = m[`decode_${name}`](r);
  r.end();
  return v;
}

Deno.test("xdrgen: constants keep their values; beyond 2^53 they are bigint", async () => {
  const m = await compile(`
    const A = 10; const B = 0x1F; const C = -3; const D = 017;
    const E = 0xffffffffffffffff; const F = A;`);
  assert.deepEqual([m.A, m.B, m.C, m.D, m.F], [10, 31, -3, 15, 10]);
  assert.equal(m.E, 2n ** 64n - 1n);
});

Deno.test("xdrgen: an enum is a const object; decoding refuses other values", async () => {
  const m = await compile(`enum color { RED = 0, GREEN = 1, BLUE = -2 };`);
  assert.deepEqual(m.color, { RED: 0, GREEN: 1, BLUE: -2 });
  assert.deepEqual(enc(m, "color", -2), hex("fffffffe"));
  assert.equal(dec(m, "color", hex("00000001")), 1);
  assert.throws(
    () => dec(m, "color", hex("00000002")),
    /Invalid enum value: 2 \(field color\)/,
  );
  assert.deepEqual(m.sizeof_color, { min: 4, max: 4 });
});

Deno.test("xdrgen: a struct encodes its fields in order, byte for byte", async () => {
  const m = await compile(`
    struct s {
      int i; unsigned int u; bool b; hyper h; unsigned hyper uh;
      opaque fixed[3]; opaque var<5>; string name<6>;
    };`);
  const v = {
    i: -1,
    u: 0xfffffffe,
    b: true,
    h: -2n,
    uh: 2n ** 64n - 1n,
    fixed: new Uint8Array([1, 2, 3]),
    var: new Uint8Array([4, 5]),
    name: "héllo",
  };
  const bytes = enc(m, "s", v);
  assert.deepEqual(
    bytes,
    hex(
      "ffffffff fffffffe 00000001 fffffffffffffffe ffffffffffffffff" +
        "01020300 00000002 04050000 00000006 68c3a96c 6c6f0000",
    ),
  );
  assert.deepEqual(dec(m, "s", bytes), v);
  assert.deepEqual(m.sizeof_s, {
    min: 4 + 4 + 4 + 8 + 8 + 4 + 4 + 4,
    max: 40 + 8 + 8, // opaque<5> and string<6> may take 8 bytes more each
  });
});

Deno.test("xdrgen: a union has a member per case group, with default and void arms", async () => {
  const m = await compile(`
    enum kind { A = 1, B = 2, C = 3, D = 4 };
    union u switch (kind k) {
    case A: int a;
    case B: case C: void;
    default: hyper h;
    };`);
  assert.deepEqual(enc(m, "u", { k: 1, a: 7 }), hex("00000001 00000007"));
  assert.deepEqual(enc(m, "u", { k: 3 }), hex("00000003"));
  assert.deepEqual(
    enc(m, "u", { k: 4, h: 5n }),
    hex("00000004 0000000000000005"),
  );
  assert.deepEqual(dec(m, "u", hex("00000002")), { k: 2 });
  assert.deepEqual(dec(m, "u", hex("00000004 ffffffffffffffff")), {
    k: 4,
    h: -1n,
  });
  assert.throws(
    () => dec(m, "u", hex("00000009")),
    /Invalid enum value: 9.*u\.k/,
  );
  assert.deepEqual(m.sizeof_u, { min: 4, max: 12 });
});

Deno.test("xdrgen: bool and int discriminants; a union without default refuses others", async () => {
  const m = await compile(`
    const SPECIAL = 6;
    union b switch (bool set) { case TRUE: unsigned int v; case FALSE: void; };
    union i switch (unsigned int flavor) { case SPECIAL: int x; default: void; };
    union n switch (int code) { case 1: void; case -1: int y; };`);
  assert.deepEqual(enc(m, "b", { set: true, v: 3 }), hex("00000001 00000003"));
  assert.deepEqual(dec(m, "b", hex("00000000")), { set: false });
  assert.deepEqual(dec(m, "i", hex("00000006 00000009")), { flavor: 6, x: 9 });
  assert.deepEqual(
    dec(m, "i", hex("00000007")),
    { flavor: 7 },
    "the default takes any other value",
  );
  assert.deepEqual(enc(m, "n", { code: -1, y: 2 }), hex("ffffffff 00000002"));
  assert.throws(
    () => dec(m, "n", hex("00000002")),
    /Invalid union discriminant: 2.*n\.code/,
  );
  assert.throws(() => enc(m, "n", { code: 2 }), XdrError);
});

Deno.test("xdrgen: optional data is a flag and the value", async () => {
  const m = await compile(`struct s { int *p; int q; };`);
  assert.deepEqual(
    enc(m, "s", { p: 5, q: 1 }),
    hex("00000001 00000005 00000001"),
  );
  assert.deepEqual(
    enc(m, "s", { p: undefined, q: 1 }),
    hex("00000000 00000001"),
  );
  assert.deepEqual(dec(m, "s", hex("00000000 00000001")), {
    p: undefined,
    q: 1,
  });
  assert.throws(
    () => dec(m, "s", hex("00000002 00000001")),
    /Invalid boolean.*s\.p/,
  );
});

Deno.test("xdrgen: arrays, opaques and strings check their maxima both ways", async () => {
  const m = await compile(`
    struct s { int two[2]; int upto3<3>; opaque o<4>; string t<4>; unsigned int any<>; };`);
  const ok = {
    two: [1, 2],
    upto3: [3],
    o: new Uint8Array(4),
    t: "abcd",
    any: [],
  };
  assert.deepEqual(dec(m, "s", enc(m, "s", ok)), ok);
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ two: [1] }, /Array length 1 differs from the fixed size 2.*s\.two/],
    [{ upto3: [1, 2, 3, 4] }, /Array length 4 exceeds maximum 3.*s\.upto3/],
    [{ o: new Uint8Array(5) }, /Length 5 exceeds maximum 4.*s\.o/],
    [{ t: "abcdé" }, /Length 6 exceeds maximum 4.*s\.t/],
  ];
  for (const [change, error] of cases) {
    assert.throws(() => enc(m, "s", { ...ok, ...change }), error);
  }
  const w = new XdrWriter();
  w.u32(1).u32(2).u32(4).u32(1).u32(2).u32(3).u32(4);
  assert.throws(
    () => dec(m, "s", w.bytes()),
    /Array length 4 exceeds maximum 3.*s\.upto3/,
  );
  const big = hex("00000001 00000002 00000000 00000005 0000000000");
  assert.throws(() => dec(m, "s", big), /Length 5 exceeds maximum 4.*s\.o/);
  const huge = hex("00000001 00000002 00000000 00000000 00000000 ffffffff");
  assert.throws(() => dec(m, "s", huge), /4294967295 cannot fit.*s\.any/);
});

Deno.test("xdrgen: a linked list becomes an array, read in a loop", async () => {
  const m = await compile(`
    struct node { int v; node *next; };
    struct list { node *head; bool done; };`);
  const bytes = enc(m, "list", { head: [{ v: 1 }, { v: 2 }], done: true });
  assert.deepEqual(
    bytes,
    hex("00000001 00000001 00000001 00000002 00000000 00000001"),
  );
  assert.deepEqual(dec(m, "list", hex("00000000 00000000")), {
    head: [],
    done: false,
  });
  const n = 200_000;
  const w = new XdrWriter({ size: n * 8 + 8 });
  for (let i = 0; i < n; i++) w.u32(1).u32(i);
  w.u32(0).u32(1);
  const long = dec(m, "list", w.bytes()) as { head: { v: number }[] };
  assert.equal(long.head.length, n);
  assert.deepEqual(m.sizeof_node, { min: 8, max: Infinity });
  assert.deepEqual(m.sizeof_list, { min: 8, max: Infinity });
});

Deno.test("xdrgen: hyper is bigint unless configured as a number", async () => {
  const m = await compile(
    `typedef unsigned hyper size64; struct s { size64 a; hyper b; unsigned hyper c; };`,
    { hyperAsNumber: ["size64", "s.b"] },
  );
  const v = { a: 2 ** 40, b: -(2 ** 40), c: 2n ** 63n };
  assert.deepEqual(dec(m, "s", enc(m, "s", v)), v);
  const max = hex("ffffffffffffffff 0000000000000000 0000000000000000");
  assert.equal(
    (dec(m, "s", max) as { a: number }).a,
    Number.MAX_SAFE_INTEGER,
    "unsigned saturates",
  );
  const far = hex("0000000000000000 0040000000000000 0000000000000000");
  assert.throws(
    () => dec(m, "s", far),
    /out of safe range.*s\.b/,
    "signed is refused past 2^53",
  );
  assert.equal(dec(m, "size64", hex("0000000000000010")), 16);
});

Deno.test("xdrgen: sizeof gives the smallest and largest encoding", async () => {
  const m = await compile(`
    typedef opaque fh<64>; typedef string text<>;
    struct pair { fh a; int b[3]; };
    union maybe switch (bool has) { case TRUE: pair p; case FALSE: void; };
    struct many { pair items<2>; maybe *opt; };`);
  assert.deepEqual(m.sizeof_fh, { min: 4, max: 68 });
  assert.deepEqual(m.sizeof_text, { min: 4, max: Infinity });
  assert.deepEqual(m.sizeof_pair, { min: 16, max: 80 });
  assert.deepEqual(m.sizeof_maybe, { min: 4, max: 84 });
  assert.deepEqual(m.sizeof_many, { min: 8, max: 4 + 160 + 4 + 84 });
});

Deno.test("xdrgen: excluded codecs are imported from the hand-written module", () => {
  const ts = source(`struct big { opaque data<>; }; struct res { big b; };`, {
    exclude: { big: { encode: "./hand.ts", reason: "zero copy" } },
  });
  assert.match(ts, /import \{ encode_big \} from "\.\/hand\.ts";/);
  assert.doesNotMatch(ts, /export function encode_big/);
  assert.match(ts, /export function decode_big/);
  assert.match(ts, /encode_big\(w, v\.b\);/, "the generated caller uses it");
  assert.match(
    ts,
    /`encode_big` \(\.\/hand\.ts\): zero copy/,
    "the header lists it",
  );
});

Deno.test("xdrgen: the header marks the file generated; comments become documentation", () => {
  const ts = source(`
/* A colour. */
enum color {
  RED = 0,   /* warm */
  BLUE = 1
};`);
  assert.match(
    ts,
    /^\/\/ Code generated by tools\/xdrgen from t\.x\. DO NOT EDIT\.\n/,
  );
  assert.match(ts, /`deno task gen`/);
  assert.match(ts, /\/\*\* A colour\. \*\/\nexport const color/);
  assert.match(ts, /\/\*\* warm \*\/\n {2}RED: 0,/);
});

Deno.test("xdrgen: errors name the problem and where it is", () => {
  const cases: [string, RegExp, GenConfig?][] = [
    ["struct s { int a }", /Expected ';', found '}': at t\.x:1/],
    ["\n\nstruct s { float f; };", /Unsupported type: float: at t\.x:3/],
    ["struct s { struct { int a; } x; };", /Unsupported anonymous struct/],
    ["struct s { t x; };", /Unknown type: t/],
    ["const A = 1; const A = 2;", /Name defined twice: A/],
    [
      "struct a { b x; }; struct b { a *y; };",
      /Unsupported recursive type: a -> b -> a/,
    ],
    [
      "struct n { int v; n *next; }; struct s { n first; };",
      /linked list n in s\.first/,
    ],
    [
      "enum e { A = 1 }; union u switch (e d) { case 2: void; };",
      /case 2 is not a value of e/,
    ],
    [
      "union u switch (int d) { case 1: void; case 1: int x; };",
      /repeats the case 1/,
    ],
    ["enum e { A = 1, B = 1 };", /repeats the value 1/],
    [
      "struct s { int a; };",
      /hyperAsNumber: s\.a is not a plain 64-bit field/,
      { hyperAsNumber: ["s.a"] },
    ],
    ["struct s { int a; };", /exclude: unknown type t/, {
      exclude: { t: { encode: "x", reason: "" } },
    }],
    ["struct s { opaque o[0x100000000]; };", /out of range/],
  ];
  for (const [src, error, config] of cases) {
    assert.throws(() => source(src, config), error, src);
  }
});

Deno.test("xdrgen: generated code for every construct type-checks", async () => {
  const dir = await Deno.makeTempDir({ prefix: "xdrgen_check_" });
  try {
    const path = `${dir}/gen.ts`;
    await Deno.writeTextFile(
      path,
      source(
        `
        const N = 4; const RPCSEC = 6;
        enum e { A = 1, B = 2, C = 3 };
        typedef unsigned hyper big; typedef opaque fh<N>; typedef string s<>;
        struct node { int v; node *next; };
        struct all { int i; bool b; hyper h; big g; fh f; s t; e k; int fx[2];
                     int vr<N>; all2 *opt; node *list; opaque o[3]; };
        struct all2 { unsigned int u; };
        union u1 switch (e d) { case A: all a; case B: case C: void; };
        union u2 switch (unsigned int flavor) { case RPCSEC: all2 x; default: void; };
        union u3 switch (bool on) { case TRUE: int y; case FALSE: void; };
        union u4 switch (e d) { case A: int z; default: hyper w; };
        program P { version V { void NUL(void) = 0; } = 1; } = 0x20000001;`,
        {
          hyperAsNumber: ["big"],
        },
      ),
    );
    const out = await new Deno.Command("deno", {
      args: ["check", "--quiet", path],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(out.success, new TextDecoder().decode(out.stderr));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("xdrgen: every generated file is what deno task gen makes of its spec", async () => {
  for (const job of JOBS) {
    const committed = await Deno.readTextFile(
      new URL(`../../${job.out}`, import.meta.url),
    );
    assert.ok(
      committed === await generate(job),
      `${job.out} is stale: run deno task gen`,
    );
  }
});
