/**
 * The codec half of the emitter: TypeScript types of declarations, and
 * the expressions that read and statements that write them, with the
 * private helpers and imports they need. Kept apart from emit.ts, which
 * lays out each definition.
 *
 * @module
 */

import type { NamedDecl, TypeSpec } from "./parse.ts";
import { type Model, XdrModelError } from "./model.ts";

const U32_MAX = 0xffffffff;

type Prim = "int" | "uint" | "hyper" | "uhyper" | "bool";

/**
 * Private helpers a generated file may need, by name, copied into it as
 * source: the length checks that encoders add and the element codecs of
 * arrays of primitives. Emitted in this order, only when used.
 */
export const HELPERS: Record<string, string> = {
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

/** 2^32 − 1, the bound of `<>`, reads better in hex. */
function hex(n: number): string {
  return n === U32_MAX ? "0xffffffff" : String(n);
}

/**
 * Builds codec expressions for one output file and records what they
 * use: helpers to copy in, hand-written codecs to import, XdrError.
 */
export class CodecBuilder {
  #m: Model;
  /** Private helpers the output needs, by name. */
  readonly helpers: Set<string> = new Set();
  /** Hand-written codecs to import, by module. */
  readonly imports: Map<string, Set<string>> = new Map();
  /** True once any code throws XdrError. */
  usesXdrError = false;

  /** Starts with nothing used. */
  constructor(model: Model) {
    this.#m = model;
  }

  /** Marks a helper as used and returns its name. */
  helper(name: string): string {
    this.helpers.add(name);
    if (THROWING.has(name)) this.usesXdrError = true;
    return name;
  }

  // --- Types -------------------------------------------------------------

  /** The TypeScript type of a type specifier. */
  tsType(t: TypeSpec, asNumber: boolean): string {
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

  /** The TypeScript type of a declaration. */
  tsDecl(d: NamedDecl, asNumber: boolean): string {
    switch (d.kind) {
      case "plain":
        return this.tsType(d.type, asNumber);
      case "fixedOpaque":
      case "varOpaque":
        return "Uint8Array";
      case "string":
        return "string";
      case "fixedArray":
      case "varArray":
        return `${this.tsType(d.type, false)}[]`;
      case "optional":
        return this.#m.isList(d)
          ? `${this.tsType(d.type, false)}[]`
          : this.tsType(d.type, false);
    }
  }

  // --- Decoding ----------------------------------------------------------

  /** An expression reading `d` from `r`. */
  dec(d: NamedDecl, label: string, asNumber: boolean): string {
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
        return `${this.helper("_readFixedArray")}(r, ${
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
        ) return this.dec(d, label, n);
        return this.#call("decode", def.name);
      }
    }
  }

  #call(dir: "encode" | "decode", name: string, arg?: string): string {
    const fn = this.fnRef(dir, name);
    return dir === "decode" ? `${fn}(r)` : `${fn}(w, ${arg});`;
  }

  /** The name of a type's codec, importing it when written by hand. */
  fnRef(dir: "encode" | "decode", name: string): string {
    const fn = `${dir}_${name}`;
    const mod = this.#m.exclusions.get(name)?.[dir];
    if (mod) {
      const set = this.imports.get(mod) ?? new Set();
      set.add(fn);
      this.imports.set(mod, set);
    }
    return fn;
  }

  #elemDec(t: TypeSpec): string {
    if (t.kind === "named") return this.fnRef("decode", t.name);
    return this.helper(`_read_${t.kind}`);
  }

  // --- Encoding ----------------------------------------------------------

  /** Statements writing `expr`, declared as `d`, to `w`. */
  enc(d: NamedDecl, expr: string, label: string, asNumber: boolean): string[] {
    const m = this.#m;
    switch (d.kind) {
      case "plain":
        return [this.#encType(d.type, expr, label, asNumber)];
      case "fixedOpaque":
        return [
          `${this.helper("_fixedOpaque")}(w, ${expr}, ${
            m.count(d.size, label)
          }, "${label}");`,
        ];
      case "varOpaque": {
        const max = m.maxOf(d.max, label);
        if (max === U32_MAX) return [`w.opaque(${expr});`];
        return [`${this.helper("_opaque")}(w, ${expr}, ${max}, "${label}");`];
      }
      case "string": {
        const max = m.maxOf(d.max, label);
        if (max === U32_MAX) return [`w.string(${expr});`];
        return [`${this.helper("_string")}(w, ${expr}, ${max}, "${label}");`];
      }
      case "fixedArray":
        return [
          `${this.helper("_writeFixedArray")}(w, ${expr}, ${
            m.count(d.size, label)
          }, ${this.#elemEnc(d.type)}, "${label}");`,
        ];
      case "varArray": {
        const max = m.maxOf(d.max, label);
        if (max === U32_MAX) {
          return [`w.array(${expr}, ${this.#elemEnc(d.type)});`];
        }
        return [
          `${this.helper("_writeArray")}(w, ${expr}, ${max}, ${
            this.#elemEnc(d.type)
          }, "${label}");`,
        ];
      }
      case "optional":
        if (m.isList(d)) {
          return [
            `${this.helper("_writeList")}(w, ${expr}, ${
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
        ) return this.enc(d, expr, label, n).join(" ");
        return this.#call("encode", def.name, expr);
      }
    }
  }

  #elemEnc(t: TypeSpec): string {
    if (t.kind === "named") return this.fnRef("encode", t.name);
    return this.helper(`_write_${t.kind}`);
  }
}
