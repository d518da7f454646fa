/**
 * TypeScript from a resolved XDR specification: types, encoders, decoders
 * and encoded sizes, in the order of the specification.
 *
 * What each construct becomes:
 * - `const` → `export const NAME = value` (a `bigint` beyond 2^53 − 1);
 * - `enum E` → `export const E = { A: 1, ... } as const` and
 *   `export type E` (the union of its values); decoding refuses other values;
 * - `struct S` → `export interface S` with the XDR field names;
 * - `union U switch (T d)` → a discriminated union on `d`, one member per
 *   `case` group, the `default` member typed with the values left
 *   (`Exclude<E, ...>`; plain `number` for an int discriminant);
 * - `typedef` → a type alias;
 * - `opaque` → `Uint8Array` (decoded as a subarray, never copied),
 *   `string` → `string` (UTF-8, invalid input refused), `bool` → `boolean`,
 *   `int`/`unsigned` → `number`, `hyper` → `bigint` or, where the
 *   configuration says so, `number`;
 * - `T x[n]`, `T x<n>` → `T[]`; `T *x` → an optional field `x?: T`,
 *   except a linked list (`struct T { ...; T *next; }`), which becomes
 *   `T[]`: the interface leaves out the link, and the list is read in a
 *   loop, never by recursion.
 *
 * For every named type `X` it writes `encode_X(w, v)`, `decode_X(r)` and
 * `sizeof_X` ({ min, max } in bytes, `max` Infinity when unbounded). Codecs
 * use `rpc/xdr.ts`: every length is checked against its maximum and the
 * bytes left before anything is allocated, and each error names the field
 * (`stateid4.other`). Encoders refuse lengths over their maximum too.
 * Fields of primitive type are read and written inline; there are no
 * closures and no lookups by name at run time.
 *
 * @module
 */

import type { Decl, NamedDecl, TypeSpec, UnionDef, Value } from "./parse.ts";
import { type Model, XdrModelError } from "./model.ts";

/** Where the output lives and what its header says. */
export interface EmitOptions {
  /** Import specifier of `rpc/xdr.ts` as seen from the output file. */
  xdrModule: string;
  /** The specification's path, as the header names it. */
  specPath: string;
  /** The command that regenerates the output, e.g. `deno task gen`. */
  task: string;
  /** Module documentation, placed after the generated-file notice. */
  moduleDoc: string;
}

const U32_MAX = 0xffffffff;

type Prim = "int" | "uint" | "hyper" | "uhyper" | "bool";

const HELPERS: Record<string, string> = {
  _fixedOpaque: `function _fixedOpaque(
  w: XdrWriter,
  v: Uint8Array,
  n: number,
  field: string,
): void {
  if (v.byteLength !== n) {
    throw new XdrError(\`Length \${v.byteLength} differs from the fixed size \${n}\`, field);
  }
  w.fixedOpaque(v);
}`,
  _opaque: `function _opaque(
  w: XdrWriter,
  v: Uint8Array,
  max: number,
  field: string,
): void {
  if (v.byteLength > max) {
    throw new XdrError(\`Length \${v.byteLength} exceeds maximum \${max}\`, field);
  }
  w.opaque(v);
}`,
  _string: `const _utf8 = new TextEncoder();

function _string(w: XdrWriter, v: string, max: number, field: string): void {
  const bytes = _utf8.encode(v);
  if (bytes.byteLength > max) {
    throw new XdrError(\`Length \${bytes.byteLength} exceeds maximum \${max}\`, field);
  }
  w.opaque(bytes);
}`,
  _writeArray: `function _writeArray<T>(
  w: XdrWriter,
  v: readonly T[],
  max: number,
  fn: (w: XdrWriter, item: T) => void,
  field: string,
): void {
  if (v.length > max) {
    throw new XdrError(\`Array length \${v.length} exceeds maximum \${max}\`, field);
  }
  w.array(v, fn);
}`,
  _writeFixedArray: `function _writeFixedArray<T>(
  w: XdrWriter,
  v: readonly T[],
  n: number,
  fn: (w: XdrWriter, item: T) => void,
  field: string,
): void {
  if (v.length !== n) {
    throw new XdrError(\`Array length \${v.length} differs from the fixed size \${n}\`, field);
  }
  for (let i = 0; i < n; i++) fn(w, v[i]);
}`,
  _readFixedArray: `function _readFixedArray<T>(
  r: XdrReader,
  n: number,
  fn: (r: XdrReader) => T,
  field: string,
  minSize: number,
): T[] {
  if (n * minSize > r.remaining) {
    throw new XdrError(\`Array length \${n} cannot fit in \${r.remaining} bytes\`, field);
  }
  const out: T[] = new Array(n);
  for (let i = 0; i < n; i++) out[i] = fn(r);
  return out;
}`,
  _writeList:
    `/** Writes an XDR linked list: TRUE and an entry for each, then FALSE. */
function _writeList<T>(
  w: XdrWriter,
  v: readonly T[],
  fn: (w: XdrWriter, item: T) => void,
): void {
  for (let i = 0; i < v.length; i++) {
    w.u32(1);
    fn(w, v[i]);
  }
  w.u32(0);
}`,
  _read_int: `function _read_int(r: XdrReader): number {
  return r.i32();
}`,
  _read_uint: `function _read_uint(r: XdrReader): number {
  return r.u32();
}`,
  _read_hyper: `function _read_hyper(r: XdrReader): bigint {
  return r.i64big();
}`,
  _read_uhyper: `function _read_uhyper(r: XdrReader): bigint {
  return r.u64big();
}`,
  _read_bool: `function _read_bool(r: XdrReader): boolean {
  return r.bool();
}`,
  _write_int: `function _write_int(w: XdrWriter, v: number): void {
  w.i32(v);
}`,
  _write_uint: `function _write_uint(w: XdrWriter, v: number): void {
  w.u32(v);
}`,
  _write_hyper: `function _write_hyper(w: XdrWriter, v: bigint): void {
  w.i64big(v);
}`,
  _write_uhyper: `function _write_uhyper(w: XdrWriter, v: bigint): void {
  w.u64big(v);
}`,
  _write_bool: `function _write_bool(w: XdrWriter, v: boolean): void {
  w.bool(v);
}`,
};

/** Helpers whose bodies throw XdrError. */
const THROWING = new Set([
  "_fixedOpaque",
  "_opaque",
  "_string",
  "_writeArray",
  "_writeFixedArray",
  "_readFixedArray",
]);

/** Breaks generated prose into lines of at most 76 characters. */
function wrap(text: string, indent = ""): string {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line && line.length + 1 + word.length > 76) {
      lines.push(line);
      line = indent + word;
    } else line = line ? `${line} ${word}` : word;
  }
  lines.push(line);
  return lines.join("\n");
}

/** 2^32 − 1, the bound of `<>`, reads better in hex. */
function hex(n: number): string {
  return n === U32_MAX ? "0xffffffff" : String(n);
}

function doc(text: string, indent = ""): string {
  const lines = text.replaceAll("*/", "*\\/").split("\n");
  if (lines.length === 1) return `${indent}/** ${lines[0]} */\n`;
  return `${indent}/**\n${
    lines.map((l) => `${indent} *${l ? " " + l : ""}`).join("\n")
  }\n${indent} */\n`;
}

class Emitter {
  #m: Model;
  #helpers = new Set<string>();
  #imports = new Map<string, Set<string>>();
  #usesXdrError = false;
  #usesReader = false;
  #usesWriter = false;

  constructor(model: Model) {
    this.#m = model;
  }

  emit(opts: EmitOptions): string {
    const body: string[] = [];
    for (const d of this.#m.definitions) {
      switch (d.kind) {
        case "const":
          body.push(
            doc(d.doc || `Constant \`${d.name}\`.`) +
              `export const ${d.name} = ${this.#constLiteral(d.value)};`,
          );
          break;
        case "enum":
          body.push(this.#enum(d.name));
          break;
        case "typedef":
          body.push(this.#typedef(d.name));
          break;
        case "struct":
          body.push(this.#struct(d.name));
          break;
        case "union":
          body.push(this.#union(d.name));
          break;
        case "program":
          body.push(this.#program(d.name));
          break;
      }
    }
    return this.#header(opts) + body.join("\n\n") + "\n";
  }

  #header(opts: EmitOptions): string {
    const lines = [
      `// Code generated by tools/xdrgen from ${opts.specPath}. DO NOT EDIT.`,
      `// Change the specification or the generator's configuration and run`,
      `// \`${opts.task}\`; \`deno task gen:check\` fails while this file is stale.`,
      "",
    ];
    const notes: string[] = [];
    if (this.#m.exclusions.size > 0) {
      notes.push("Written by hand rather than generated:");
      for (const [name, ex] of this.#m.exclusions) {
        const dirs = [
          ex.encode ? `\`encode_${name}\` (${ex.encode})` : "",
          ex.decode ? `\`decode_${name}\` (${ex.decode})` : "",
        ].filter(Boolean).join(" and ");
        notes.push(wrap(`- ${dirs}: ${ex.reason}`, "  "));
      }
    }
    const numbers = [
      ...this.#m.numberTypedefs,
      ...this.#m.numberFields,
    ];
    if (numbers.length > 0) {
      notes.push(
        "",
        wrap(
          "64-bit integers are `bigint`, except these, which are `number` " +
            "(unsigned ones saturate at `Number.MAX_SAFE_INTEGER` when " +
            "decoded): " + numbers.map((n) => `\`${n}\``).join(", ") + ".",
        ),
      );
    }
    const text = [opts.moduleDoc.trim(), "", ...notes, "", "@module"]
      .join("\n");
    lines.push(doc(text).trimEnd(), "");
    const imports: string[] = [];
    const typeNames = [
      ...(this.#usesReader ? ["XdrReader"] : []),
      ...(this.#usesWriter ? ["XdrWriter"] : []),
    ];
    if (typeNames.length > 0) {
      imports.push(
        `import type { ${typeNames.join(", ")} } from "${opts.xdrModule}";`,
      );
    }
    if (this.#usesXdrError) {
      imports.push(`import { XdrError } from "${opts.xdrModule}";`);
    }
    for (const [mod, names] of this.#imports) {
      imports.push(`import { ${[...names].sort().join(", ")} } from "${mod}";`);
    }
    if (imports.length > 0) lines.push(imports.join("\n"), "");
    lines.push(
      doc("Smallest and largest encoded size of a type, in bytes.") +
        "export interface XdrSize {",
      "  /** The smallest encoding. */",
      "  readonly min: number;",
      "  /** The largest encoding; Infinity when unbounded. */",
      "  readonly max: number;",
      "}",
      "",
    );
    for (const h of Object.keys(HELPERS)) {
      if (this.#helpers.has(h)) lines.push(HELPERS[h], "");
    }
    return lines.join("\n") + "\n";
  }

  #helper(name: string): string {
    this.#helpers.add(name);
    if (THROWING.has(name)) this.#usesXdrError = true;
    return name;
  }

  #constLiteral(v: Value): string {
    if (v.kind === "ref") {
      const e = this.#m.memberOf.get(v.name);
      return e ? `${e}.${v.name}` : v.name;
    }
    const n = v.value;
    let text = v.text;
    if (/^-?0[0-7]+$/.test(text)) text = text.replace(/0(?=[0-7])/, "0o");
    const safe = n <= BigInt(Number.MAX_SAFE_INTEGER) &&
      n >= -BigInt(Number.MAX_SAFE_INTEGER);
    return safe ? text : `${text}n`;
  }

  #sizeOf(name: string): string {
    const s = this.#m.size(name);
    const max = s.max === Infinity ? "Infinity" : String(s.max);
    return doc(`Smallest and largest encoded size of {@link ${name}}.`) +
      `export const sizeof_${name}: XdrSize = { min: ${s.min}, max: ${max} };`;
  }

  #codecs(name: string, encBody: string[], decBody: string[]): string {
    const ex = this.#m.exclusions.get(name);
    const out: string[] = [];
    if (ex?.encode) {
      out.push(`// encode_${name} is written by hand in ${ex.encode}.`);
    } else {
      this.#usesWriter = true;
      out.push(
        doc(`Encodes a {@link ${name}}.`) +
          `export function encode_${name}(w: XdrWriter, v: ${name}): void {\n` +
          encBody.map((l) => `  ${l}`).join("\n") + "\n}",
      );
    }
    if (ex?.decode) {
      out.push(`// decode_${name} is written by hand in ${ex.decode}.`);
    } else {
      this.#usesReader = true;
      out.push(
        doc(`Decodes a {@link ${name}}.`) +
          `export function decode_${name}(r: XdrReader): ${name} {\n` +
          decBody.map((l) => `  ${l}`).join("\n") + "\n}",
      );
    }
    out.push(this.#sizeOf(name));
    return out.join("\n\n");
  }

  #enum(name: string): string {
    const e = this.#m.type(name);
    if (e.kind !== "enum") throw new Error("unreachable");
    const members = e.members.map((m) => {
      const v = m.value.kind === "num"
        ? m.value.text
        : String(this.#m.value(m.value));
      return (m.doc ? doc(m.doc, "  ") : "") + `  ${m.name}: ${v},`;
    });
    const values = e.members.map((m) => String(this.#m.value(m.value)));
    return [
      doc(e.doc || `XDR enum \`${name}\`.`) +
      `export const ${name} = {\n${members.join("\n")}\n} as const;`,
      doc(`One of the values of {@link ${name}}.`) +
      `export type ${name} = typeof ${name}[keyof typeof ${name}];`,
      `const _values_${name}: ReadonlySet<number> = new Set([${
        values.join(", ")
      }]);`,
      this.#codecs(
        name,
        ["w.i32(v);"],
        [`return r.enumOf<${name}>(_values_${name}, "${name}");`],
      ),
    ].join("\n\n");
  }

  #typedef(name: string): string {
    const t = this.#m.type(name);
    if (t.kind !== "typedef") throw new Error("unreachable");
    const asNumber = this.#m.numberTypedefs.has(name);
    const d = t.decl;
    let ts = this.#tsDecl(d, asNumber);
    if (d.kind === "optional" && !this.#m.isList(d)) ts += " | undefined";
    return [
      doc(t.doc || `XDR typedef \`${name}\`.`) + `export type ${name} = ${ts};`,
      this.#codecs(
        name,
        this.#enc(d, "v", name, asNumber),
        [`return ${this.#dec(d, name, asNumber)};`],
      ),
    ].join("\n\n");
  }

  #struct(name: string): string {
    const s = this.#m.type(name);
    if (s.kind !== "struct") throw new Error("unreachable");
    const list = this.#m.linkedLists.has(name);
    const fields = list ? s.fields.slice(0, -1) : s.fields;
    let text = s.doc || `XDR struct \`${name}\`.`;
    if (list) {
      const link = s.fields[s.fields.length - 1].name;
      text += "\n\n" + wrap(
        `In XDR a linked list: \`${link}\` points to the next entry. Here ` +
          "lists are arrays, and this type is one entry without the link; " +
          `\`encode_${name}\` and \`decode_${name}\` handle one entry too.`,
      );
    }
    const members = fields.map((f) => this.#field(f, `${name}.${f.name}`));
    const enc = fields.flatMap((f) =>
      this.#enc(f, `v.${f.name}`, `${name}.${f.name}`, this.#numField(name, f))
    );
    const dec = fields.map((f) =>
      `  ${f.name}: ${
        this.#dec(f, `${name}.${f.name}`, this.#numField(name, f))
      },`
    );
    return [
      doc(text) + `export interface ${name} {\n${members.join("\n")}\n}`,
      this.#codecs(name, enc, ["return {", ...dec, "};"]),
    ].join("\n\n");
  }

  #numField(owner: string, d: Decl): boolean {
    return d.kind !== "void" && this.#m.numberFields.has(`${owner}.${d.name}`);
  }

  #field(d: NamedDecl, key: string): string {
    const asNumber = this.#m.numberFields.has(key);
    const optional = d.kind === "optional" && !this.#m.isList(d);
    return (d.doc ? doc(d.doc, "  ") : "") +
      `  ${d.name}${optional ? "?" : ""}: ${this.#tsDecl(d, asNumber)};`;
  }

  #labelType(u: UnionDef, l: Value): string {
    if (this.#m.resolveDisc(u) === "bool") {
      return this.#m.value(l) === 1n ? "true" : "false";
    }
    if (l.kind === "ref") {
      const e = this.#m.memberOf.get(l.name);
      return e ? `typeof ${e}.${l.name}` : `typeof ${l.name}`;
    }
    return String(l.value);
  }

  #labelExpr(u: UnionDef, l: Value): string {
    if (this.#m.resolveDisc(u) === "bool") {
      return this.#m.value(l) === 1n ? "true" : "false";
    }
    if (l.kind === "ref") {
      const e = this.#m.memberOf.get(l.name);
      return e ? `${e}.${l.name}` : l.name;
    }
    return String(l.value);
  }

  #union(name: string): string {
    const u = this.#m.type(name);
    if (u.kind !== "union") throw new Error("unreachable");
    const discName = u.discriminant.name;
    const kind = this.#m.resolveDisc(u);
    const enumName = this.#m.discriminantEnum(u);
    const allLabels = u.arms.flatMap((a) => a.labels);
    const armField = (d: Decl) =>
      d.kind === "void" ? "" : this.#field(d, `${name}.${d.name}`);
    const members = u.arms.map((a) => {
      const disc = a.labels.map((l) => this.#labelType(u, l)).join(" | ");
      return `{\n  ${discName}: ${disc};\n${armField(a.decl)}\n}`;
    });
    let defaultDisc = "";
    if (u.defaultArm) {
      const covered = allLabels.map((l) => this.#labelType(u, l)).join(" | ");
      defaultDisc = kind === "bool"
        ? `Exclude<boolean, ${covered}>`
        : enumName
        ? `Exclude<${enumName}, ${covered}>`
        : "number";
      members.push(
        `{\n  ${discName}: ${defaultDisc};\n${armField(u.defaultArm)}\n}`,
      );
    }
    const typeText = doc(u.doc || `XDR union \`${name}\`.`) +
      `export type ${name} =\n${members.map((m) => `  | ${m}`).join("\n")};`;

    // Decoder: the discriminant, then a switch with one return per arm.
    const discLabel = `${name}.${discName}`;
    const readDisc = enumName
      ? `r.enumOf<${enumName}>(_values_${enumName}, "${discLabel}")`
      : kind === "bool"
      ? `r.bool("${discLabel}")`
      : kind === "uint"
      ? `r.u32("${discLabel}")`
      : `r.i32("${discLabel}")`;
    const dec: string[] = [`const d = ${readDisc};`, "switch (d) {"];
    const armValue = (d: Decl) =>
      d.kind === "void"
        ? ""
        : ` ${d.name}: ${
          this.#dec(d, `${name}.${d.name}`, this.#numField(name, d))
        }`;
    for (const a of u.arms) {
      for (const l of a.labels) dec.push(`  case ${this.#labelExpr(u, l)}:`);
      const discVal = a.labels.length === 1
        ? this.#labelExpr(u, a.labels[0])
        : kind === "int" || kind === "uint"
        ? `d as ${a.labels.map((l) => this.#labelType(u, l)).join(" | ")}`
        : "d";
      const sep = a.decl.kind === "void" ? "" : ",";
      dec.push(
        `    return { ${discName}: ${discVal}${sep}${armValue(a.decl)} };`,
      );
    }
    dec.push("  default:");
    if (u.defaultArm) {
      const sep = u.defaultArm.kind === "void" ? "" : ",";
      dec.push(`    return { ${discName}: d${sep}${armValue(u.defaultArm)} };`);
    } else {
      this.#usesXdrError = true;
      dec.push(
        `    throw new XdrError(\`Invalid union discriminant: \${d}\`, "${discLabel}");`,
      );
    }
    dec.push("}");

    // Encoder: the discriminant, then the arm's value.
    const writeDisc = kind === "bool"
      ? `w.bool(v.${discName});`
      : kind === "uint"
      ? `w.u32(v.${discName});`
      : `w.i32(v.${discName});`;
    // Members of a union on a plain int with a default do not narrow
    // (the default's `number` covers every label), so arms cast.
    const cast = (kind === "int" || kind === "uint") && u.defaultArm !== null;
    const enc: string[] = [writeDisc, `switch (v.${discName}) {`];
    const armEnc = (d: Decl) => {
      if (d.kind === "void") return [];
      const ts = this.#tsDecl(d, this.#numField(name, d));
      const ref = cast
        ? `(v as { ${d.name}: ${ts} }).${d.name}`
        : `v.${d.name}`;
      return this.#enc(d, ref, `${name}.${d.name}`, this.#numField(name, d));
    };
    for (const a of u.arms) {
      for (const l of a.labels) enc.push(`  case ${this.#labelExpr(u, l)}:`);
      for (const s of armEnc(a.decl)) enc.push(`    ${s}`);
      enc.push("    return;");
    }
    enc.push("  default:");
    if (u.defaultArm) {
      for (const s of armEnc(u.defaultArm)) enc.push(`    ${s}`);
      enc.push("    return;");
    } else {
      this.#usesXdrError = true;
      enc.push(
        `    throw new XdrError(\`Invalid union discriminant: \${(v as { ${discName}: unknown }).${discName}}\`, "${discLabel}");`,
      );
    }
    enc.push("}");
    return [typeText, this.#codecs(name, enc, dec)].join("\n\n");
  }

  #program(name: string): string {
    const p = this.#m.definitions.find((d) => d.name === name);
    if (p?.kind !== "program") throw new Error("unreachable");
    const out = [
      doc(p.doc || `RPC program \`${name}\`.`) +
      `export const ${name} = ${this.#constLiteral(p.number)};`,
    ];
    for (const v of p.versions) {
      out.push(
        doc(v.doc || `Version \`${v.name}\` of {@link ${name}}.`) +
          `export const ${v.name} = ${this.#constLiteral(v.number)};`,
      );
      for (const proc of v.procedures) {
        out.push(
          doc(proc.doc || `Procedure \`${proc.name}\` of {@link ${v.name}}.`) +
            `export const ${proc.name} = ${this.#constLiteral(proc.number)};`,
        );
      }
    }
    return out.join("\n\n");
  }

  // --- Types -------------------------------------------------------------

  #tsType(t: TypeSpec, asNumber: boolean): string {
    switch (t.kind) {
      case "int":
      case "uint":
        return "number";
      case "hyper":
      case "uhyper":
        return asNumber ? "number" : "bigint";
      case "bool":
        return "boolean";
      case "named":
        return asNumber ? "number" : t.name;
    }
  }

  #tsDecl(d: NamedDecl, asNumber: boolean): string {
    switch (d.kind) {
      case "plain":
        return this.#tsType(d.type, asNumber);
      case "fixedOpaque":
      case "varOpaque":
        return "Uint8Array";
      case "string":
        return "string";
      case "fixedArray":
      case "varArray":
        return `${this.#tsType(d.type, false)}[]`;
      case "optional":
        return this.#m.isList(d)
          ? `${this.#tsType(d.type, false)}[]`
          : this.#tsType(d.type, false);
    }
  }

  // --- Decoding ----------------------------------------------------------

  /** An expression reading `d` from `r`. */
  #dec(d: NamedDecl, label: string, asNumber: boolean): string {
    const m = this.#m;
    switch (d.kind) {
      case "plain":
        return this.#decType(d.type, label, asNumber);
      case "fixedOpaque":
        return `r.fixedOpaque(${m.count(d.size, label)}, "${label}")`;
      case "varOpaque":
        return `r.opaque(${hex(m.maxOf(d.max, label))}, "${label}")`;
      case "string":
        return `r.string(${hex(m.maxOf(d.max, label))}, "${label}")`;
      case "fixedArray":
        return `${this.#helper("_readFixedArray")}(r, ${
          m.count(d.size, label)
        }, ${this.#elemDec(d.type)}, "${label}", ${
          this.#elemMin(d.type, label)
        })`;
      case "varArray":
        return `r.array(${hex(m.maxOf(d.max, label))}, ${
          this.#elemDec(d.type)
        }, "${label}", ${this.#elemMin(d.type, label)})`;
      case "optional":
        if (m.isList(d)) {
          return `r.list(Infinity, ${this.#elemDec(d.type)}, "${label}")`;
        }
        return `r.bool("${label}") ? ${
          this.#decType(d.type, label, asNumber)
        } : undefined`;
    }
  }

  #elemMin(t: TypeSpec, label: string): number {
    const min = this.#m.typeSize(t).min;
    if (min === 0) {
      throw new XdrModelError(
        `Unsupported array of zero-size elements: ${label}`,
      );
    }
    return min;
  }

  #decPrim(p: Prim, label: string, asNumber: boolean): string {
    switch (p) {
      case "int":
        return `r.i32("${label}")`;
      case "uint":
        return `r.u32("${label}")`;
      case "bool":
        return `r.bool("${label}")`;
      case "hyper":
        return asNumber ? `r.i64("${label}")` : `r.i64big("${label}")`;
      case "uhyper":
        return asNumber ? `r.u64sat("${label}")` : `r.u64big("${label}")`;
    }
  }

  #decType(t: TypeSpec, label: string, asNumber: boolean): string {
    if (t.kind !== "named") return this.#decPrim(t.kind, label, asNumber);
    const def = this.#m.type(t.name);
    if (this.#m.exclusions.get(t.name)?.decode) {
      return this.#call("decode", t.name);
    }
    switch (def.kind) {
      case "enum":
        return `r.enumOf<${def.name}>(_values_${def.name}, "${label}")`;
      case "struct":
      case "union":
        return this.#call("decode", def.name);
      case "typedef": {
        const n = asNumber || this.#m.numberTypedefs.has(def.name);
        const d = def.decl;
        if (d.kind === "plain") return this.#decType(d.type, label, n);
        if (
          d.kind === "fixedOpaque" || d.kind === "varOpaque" ||
          d.kind === "string"
        ) return this.#dec(d, label, n);
        return this.#call("decode", def.name);
      }
    }
  }

  #call(dir: "encode" | "decode", name: string, arg?: string): string {
    const fn = this.#fnRef(dir, name);
    return dir === "decode" ? `${fn}(r)` : `${fn}(w, ${arg});`;
  }

  /** The name of a type's codec, importing it when written by hand. */
  #fnRef(dir: "encode" | "decode", name: string): string {
    const fn = `${dir}_${name}`;
    const mod = this.#m.exclusions.get(name)?.[dir];
    if (mod) {
      const set = this.#imports.get(mod) ?? new Set();
      set.add(fn);
      this.#imports.set(mod, set);
    }
    return fn;
  }

  #elemDec(t: TypeSpec): string {
    if (t.kind === "named") return this.#fnRef("decode", t.name);
    return this.#helper(`_read_${t.kind}`);
  }

  // --- Encoding ----------------------------------------------------------

  /** Statements writing `expr`, declared as `d`, to `w`. */
  #enc(d: NamedDecl, expr: string, label: string, asNumber: boolean): string[] {
    const m = this.#m;
    switch (d.kind) {
      case "plain":
        return [this.#encType(d.type, expr, label, asNumber)];
      case "fixedOpaque":
        return [
          `${this.#helper("_fixedOpaque")}(w, ${expr}, ${
            m.count(d.size, label)
          }, "${label}");`,
        ];
      case "varOpaque": {
        const max = m.maxOf(d.max, label);
        if (max === U32_MAX) return [`w.opaque(${expr});`];
        return [`${this.#helper("_opaque")}(w, ${expr}, ${max}, "${label}");`];
      }
      case "string": {
        const max = m.maxOf(d.max, label);
        if (max === U32_MAX) return [`w.string(${expr});`];
        return [`${this.#helper("_string")}(w, ${expr}, ${max}, "${label}");`];
      }
      case "fixedArray":
        return [
          `${this.#helper("_writeFixedArray")}(w, ${expr}, ${
            m.count(d.size, label)
          }, ${this.#elemEnc(d.type)}, "${label}");`,
        ];
      case "varArray": {
        const max = m.maxOf(d.max, label);
        if (max === U32_MAX) {
          return [`w.array(${expr}, ${this.#elemEnc(d.type)});`];
        }
        return [
          `${this.#helper("_writeArray")}(w, ${expr}, ${max}, ${
            this.#elemEnc(d.type)
          }, "${label}");`,
        ];
      }
      case "optional":
        if (m.isList(d)) {
          return [
            `${this.#helper("_writeList")}(w, ${expr}, ${
              this.#elemEnc(d.type)
            });`,
          ];
        }
        return [
          `if (${expr} === undefined) w.u32(0);`,
          `else {`,
          `  w.u32(1);`,
          `  ${this.#encType(d.type, expr, label, asNumber)}`,
          `}`,
        ];
    }
  }

  #encPrim(p: Prim, expr: string, asNumber: boolean): string {
    switch (p) {
      case "int":
        return `w.i32(${expr});`;
      case "uint":
        return `w.u32(${expr});`;
      case "bool":
        return `w.bool(${expr});`;
      case "hyper":
        return asNumber ? `w.i64(${expr});` : `w.i64big(${expr});`;
      case "uhyper":
        return asNumber ? `w.u64(${expr});` : `w.u64big(${expr});`;
    }
  }

  #encType(
    t: TypeSpec,
    expr: string,
    label: string,
    asNumber: boolean,
  ): string {
    if (t.kind !== "named") return this.#encPrim(t.kind, expr, asNumber);
    const def = this.#m.type(t.name);
    if (this.#m.exclusions.get(t.name)?.encode) {
      return this.#call("encode", t.name, expr);
    }
    switch (def.kind) {
      case "enum":
        return `w.i32(${expr});`;
      case "struct":
      case "union":
        return this.#call("encode", def.name, expr);
      case "typedef": {
        const n = asNumber || this.#m.numberTypedefs.has(def.name);
        const d = def.decl;
        if (d.kind === "plain") return this.#encType(d.type, expr, label, n);
        if (
          d.kind === "fixedOpaque" || d.kind === "varOpaque" ||
          d.kind === "string"
        ) return this.#enc(d, expr, label, n).join(" ");
        return this.#call("encode", def.name, expr);
      }
    }
  }

  #elemEnc(t: TypeSpec): string {
    if (t.kind === "named") return this.#fnRef("encode", t.name);
    return this.#helper(`_write_${t.kind}`);
  }
}

/**
 * TypeScript source for a resolved specification (not yet formatted by
 * `deno fmt`).
 *
 * @throws {XdrModelError} for constructs the model allows but the
 * generator cannot encode safely (arrays of zero-size elements).
 */
export function emitTs(model: Model, opts: EmitOptions): string {
  return new Emitter(model).emit(opts);
}
