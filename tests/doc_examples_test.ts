// Keeps the rule "examples are tests" (STYLE.md) enforced on the library's
// doc comments. `deno test --doc` (in `deno task check`) runs every example;
// this file checks what running cannot: that an example asserts instead of
// printing, that a public one imports the package path a user would write,
// that an ignored one says why it cannot run, and that a private module
// (one no entry point re-exports whole) has a header, not an example per
// symbol.
//
// Run: deno test --allow-read=. tests/doc_examples_test.ts

import assert from "node:assert/strict";

/** The library's folders, next to mod.ts. */
const LIBRARY_DIRS = [
  "rpc",
  "proto",
  "client",
  "server",
  "nbd",
  "vfs",
  "telemetry",
];

const ROOT = new URL("../", import.meta.url);

interface Example {
  /** Path from the repository root and 1-based line of the `@example` tag. */
  where: string;
  /** The fence's info string after "ts", such as "ignore". */
  attrs: string;
  /** The code, without the comment's leading asterisks. */
  code: string;
  /** Whether it is in the `@module` doc comment. */
  inModuleDoc: boolean;
  /** The exported declaration it documents (a member's class). */
  symbol?: string;
}

const DECLARATION =
  /^export\s+(?:declare\s+)?(?:async\s+)?(?:function\*?|(?:abstract\s+)?class|const|let|interface|type|enum)\s+([\w$]+)/;

/** Every fenced code block after an `@example` tag in `source`'s doc comments. */
function examplesOf(path: string, source: string): Example[] {
  const out: Example[] = [];
  const lines = source.split("\n");
  let comment = 0; // the line where the current doc comment starts
  for (let i = 0; i < lines.length; i++) {
    if (/^\s*\/\*\*/.test(lines[i])) comment = i;
    if (!/^\s*\*\s*@example\b/.test(lines[i])) continue;
    const tag = i;
    let end = i;
    while (end < lines.length && !/\*\//.test(lines[end])) end++;
    const inModuleDoc = lines.slice(comment, end + 1)
      .some((l) => /^\s*\*\s*@module\b/.test(l));
    let symbol = DECLARATION.exec(lines[end + 1] ?? "")?.[1];
    for (let j = comment; symbol === undefined && j >= 0; j--) {
      symbol = /^export\s+(?:abstract\s+)?class\s+([\w$]+)/.exec(lines[j])?.[1];
    }
    while (++i < lines.length && !/^\s*\*\s*```/.test(lines[i])) {
      if (/\*\//.test(lines[i])) break;
    }
    if (i >= lines.length || !/```/.test(lines[i])) continue;
    const attrs = lines[i].replace(/^\s*\*\s*```(ts|typescript)?\s*/, "");
    const code: string[] = [];
    while (++i < lines.length && !/^\s*\*\s*```/.test(lines[i])) {
      code.push(lines[i].replace(/^\s*\* ?/, ""));
    }
    out.push({
      where: `${path}:${tag + 1}`,
      attrs,
      code: code.join("\n"),
      inModuleDoc,
      symbol: inModuleDoc ? undefined : symbol,
    });
  }
  return out;
}

/** What is wrong with one example, or an empty list. */
function problemsOf(example: Example, isPublic: boolean): string[] {
  const { code, attrs } = example;
  const problems: string[] = [];
  const asserts = /\bassert(?:\.\w+)?\(/.test(code); // a call, not the import
  if (/console\.log\(/.test(code) && !asserts) {
    problems.push("prints instead of asserting with node:assert/strict");
  } else if (!attrs.includes("ignore") && !asserts) {
    problems.push("runs but asserts nothing");
  }
  if (isPublic && /from\s+["']\.\.?\//.test(code)) {
    problems.push("imports a relative path, not the package path");
  }
  if (attrs.includes("ignore") && !/\/\/|\/\*/.test(code)) {
    problems.push("is ignored without a comment saying why it cannot run");
  }
  if (!isPublic && !example.inModuleDoc) {
    problems.push(
      "documents a symbol of a private module: give the module a header instead",
    );
  }
  return problems;
}

/** What a user can import of each module: all of it, or some names. */
type Exposure = Map<string, "all" | Set<string>>;

/**
 * Follows deno.json "exports" through `export * from` (the whole module)
 * and `export { a, b } from` (those names only), recursively.
 */
async function publicModules(): Promise<Exposure> {
  const config = JSON.parse(
    await Deno.readTextFile(new URL("deno.json", ROOT)),
  );
  const out: Exposure = new Map();
  const todo: { href: string; names: "all" | Set<string> }[] = Object.values(
    config.exports as Record<string, string>,
  ).map((p) => ({ href: new URL(p, ROOT).href, names: "all" }));
  const done = new Set<string>();
  while (todo.length > 0) {
    const { href, names } = todo.pop()!;
    const path = href.slice(ROOT.href.length);
    const had = out.get(path);
    if (names === "all" || had === undefined) out.set(path, names);
    else if (had !== "all") { for (const n of names) had.add(n); }
    if (done.has(href)) continue;
    done.add(href);
    const source = await Deno.readTextFile(new URL(href));
    for (const m of source.matchAll(/^export (?:type )?\* from "([^"]+)"/gm)) {
      todo.push({ href: new URL(m[1], href).href, names: "all" });
    }
    const named = /^export (?:type )?\{([^}]*)\} from "([^"]+)"/gm;
    for (const m of source.matchAll(named)) {
      const list = m[1].split(",").map((n) =>
        n.trim().replace(/^type\s+/, "").split(/\s+as\s+/)[0]
      ).filter((n) => n !== "");
      todo.push({ href: new URL(m[2], href).href, names: new Set(list) });
    }
  }
  return out;
}

/**
 * Whether a user reads `example` as part of the public API: it documents
 * an exposed symbol, or it heads a module something of which is exposed.
 */
function isPublic(example: Example, exposed: "all" | Set<string> | undefined) {
  if (exposed === undefined) return false;
  if (exposed === "all" || example.inModuleDoc) return true;
  return example.symbol !== undefined && exposed.has(example.symbol);
}

async function libraryFiles(): Promise<string[]> {
  const files = ["mod.ts"];
  const walk = async (dir: string) => {
    for await (const e of Deno.readDir(new URL(dir, ROOT))) {
      const path = `${dir}/${e.name}`;
      if (e.isDirectory) await walk(path);
      else if (e.name.endsWith(".ts")) files.push(path);
    }
  };
  for (const d of LIBRARY_DIRS) await walk(d);
  return files.sort();
}

Deno.test("doc examples: every library example asserts, imports the package path, says why it is ignored", async () => {
  const pub = await publicModules();
  assert.equal(pub.get("rpc/xdr.ts"), "all", "re-exports are followed");
  assert.deepEqual(
    pub.get("vfs/errors.ts"),
    new Set(["isVfsError", "VfsError", "VfsErrorCode"]),
  );
  const problems: string[] = [];
  let checked = 0;
  for (const path of await libraryFiles()) {
    const source = await Deno.readTextFile(new URL(path, ROOT));
    for (const ex of examplesOf(path, source)) {
      checked++;
      for (const p of problemsOf(ex, isPublic(ex, pub.get(path)))) {
        problems.push(`${ex.where}: ${p}`);
      }
    }
  }
  assert.ok(
    checked > 50,
    `found only ${checked} examples: is the parser broken?`,
  );
  assert.deepEqual(problems, [], "examples are tests (STYLE.md)");
});

// The checker itself, on made-up doc comments.

/** A doc comment with one example, on a symbol or (`module`) on the module. */
function doc(fence: string, body: string, module = false): string {
  return [
    "/**",
    " * @example",
    ` * ${fence}`,
    ...body.split("\n").map((l) => ` * ${l}`),
    " * ```",
    ...(module ? [" *", " * @module"] : []),
    " */",
  ].join("\n");
}

const ASSERTS =
  'import assert from "node:assert/strict";\nassert.equal(1 + 1, 2);';

Deno.test("doc examples: a printing example is flagged, an asserting one is not", () => {
  const [printing] = examplesOf(
    "x.ts",
    doc("```ts", "console.log(1 + 1); // 2"),
  );
  assert.deepEqual(problemsOf(printing, true), [
    "prints instead of asserting with node:assert/strict",
  ]);
  const [asserting] = examplesOf("x.ts", doc("```ts", ASSERTS));
  assert.deepEqual(problemsOf(asserting, true), []);
  assert.equal(asserting.where, "x.ts:2");
  const [silent] = examplesOf("x.ts", doc("```ts", "const two = 1 + 1;"));
  assert.deepEqual(problemsOf(silent, true), ["runs but asserts nothing"]);
});

Deno.test("doc examples: a public example must import the package path", () => {
  const body = 'import { XdrWriter } from "./xdr.ts";\n' + ASSERTS;
  const [ex] = examplesOf("rpc/xdr.ts", doc("```ts", body, true));
  assert.deepEqual(problemsOf(ex, true), [
    "imports a relative path, not the package path",
  ]);
  assert.deepEqual(problemsOf(ex, false), [], "a private module's header may");
});

Deno.test("doc examples: a private module documents itself in its header only", () => {
  const [onSymbol] = examplesOf("proto/nfs3.ts", doc("```ts", ASSERTS));
  assert.equal(onSymbol.inModuleDoc, false);
  assert.deepEqual(problemsOf(onSymbol, false), [
    "documents a symbol of a private module: give the module a header instead",
  ]);
  assert.deepEqual(problemsOf(onSymbol, true), [], "fine in a public module");
  const [inHeader] = examplesOf("proto/nfs3.ts", doc("```ts", ASSERTS, true));
  assert.equal(inHeader.inModuleDoc, true);
  assert.deepEqual(problemsOf(inHeader, false), []);
});

Deno.test("doc examples: an ignored example needs a reason and may not print alone", () => {
  const [bare] = examplesOf("x.ts", doc("```ts ignore", "await connect();"));
  assert.equal(bare.attrs, "ignore");
  assert.deepEqual(problemsOf(bare, true), [
    "is ignored without a comment saying why it cannot run",
  ]);
  const why = "// Needs a kernel NFS client.\nconsole.log(await mount());";
  const [printing] = examplesOf("x.ts", doc("```ts ignore", why));
  assert.deepEqual(problemsOf(printing, true), [
    "prints instead of asserting with node:assert/strict",
  ]);
});

Deno.test("doc examples: only the names a mod.ts re-exports are public", () => {
  const source = [
    doc("```ts", ASSERTS),
    "export function shown(): void {}",
    doc("```ts", ASSERTS),
    "export function hidden(): void {}",
    "export class Box {",
    doc("```ts", ASSERTS).replace(/^/gm, "  "),
    "  open(): void {}",
    "}",
  ].join("\n");
  const [shown, hidden, member] = examplesOf("m.ts", source);
  assert.deepEqual(
    [shown.symbol, hidden.symbol, member.symbol],
    ["shown", "hidden", "Box"],
  );
  const exposed = new Set(["shown", "Box"]);
  assert.equal(isPublic(shown, exposed), true);
  assert.equal(isPublic(hidden, exposed), false);
  assert.equal(isPublic(member, exposed), true, "a member of an exposed class");
  assert.equal(isPublic(hidden, "all"), true);
  assert.equal(isPublic(shown, undefined), false);
});
