/**
 * The checked meaning of a parsed specification: every name resolved,
 * every number in range, the linked lists found, the 64-bit choices and
 * exclusions of the configuration applied, and each type's smallest and
 * largest encoded size.
 *
 * Rules the generated code relies on, enforced here:
 * - every referenced type and constant exists, and names are unique;
 * - sizes, maxima and case labels are numbers in 0..2^32-1 (labels of an
 *   `int` discriminant may be negative);
 * - a union's case labels are distinct and, for an enum discriminant,
 *   members of that enum;
 * - the only recursion is the XDR linked list: a struct whose last field
 *   is an optional pointer to its own type (`entry4 *nextentry`), reached
 *   only through optional pointers. It becomes an array, decoded in a loop;
 * - each 64-bit override names a typedef of a hyper or a `Type.field`
 *   plain declaration of one.
 *
 * @module
 */

import type {
  Decl,
  Definition,
  EnumDef,
  NamedDecl,
  StructDef,
  TypedefDef,
  TypeSpec,
  UnionDef,
  Value,
} from "./parse.ts";

/** Which direction of a codec is written by hand. */
export interface Exclusion {
  /** Module (relative to the output) exporting `encode_<type>`. */
  encode?: string;
  /** Module (relative to the output) exporting `decode_<type>`. */
  decode?: string;
  /** Why the generator leaves it out; printed in the generated file. */
  reason: string;
}

/** What the generator needs to know beyond the specification itself. */
export interface GenConfig {
  /**
   * 64-bit values are `bigint` unless named here: a typedef name (every
   * use of that typedef) or `Type.field` (one struct field or union arm).
   * Unsigned ones decode saturated at `Number.MAX_SAFE_INTEGER`, signed
   * ones are refused outside ±(2^53 − 1).
   */
  hyperAsNumber?: readonly string[];
  /** Codecs written by hand, by type name. */
  exclude?: Readonly<Record<string, Exclusion>>;
}

/** A type definition (everything but constants and programs). */
export type TypeDef = EnumDef | TypedefDef | StructDef | UnionDef;

/** Smallest and largest encoded size in bytes; `max` may be Infinity. */
export interface Size {
  min: number;
  max: number;
}

/** An error in the specification's meaning or in the configuration. */
export class XdrModelError extends Error {
  /** Builds the error. */
  constructor(message: string) {
    super(message);
    this.name = "XdrModelError";
  }
}

const U32_MAX = 0xffffffff;
/** The values of `bool` (RFC 4506 section 4.4), usable as case labels. */
const BUILTIN = new Map([["TRUE", 1n], ["FALSE", 0n]]);

function pad(n: number): number {
  return n + ((4 - (n % 4)) % 4);
}

/** A resolved specification. */
export class Model {
  /** All definitions in source order. */
  readonly definitions: readonly Definition[];
  /** Type definitions by name. */
  readonly types: Map<string, TypeDef> = new Map();
  /** Constants and enum members by name. */
  readonly constants: Map<string, bigint> = new Map();
  /** The enum each enum member belongs to. */
  readonly memberOf: Map<string, string> = new Map();
  /** Structs that are XDR linked lists (last field `T *next`). */
  readonly linkedLists: Set<string> = new Set();
  /** Typedef names whose hyper values are numbers. */
  readonly numberTypedefs: Set<string> = new Set();
  /** `Type.field` names whose hyper values are numbers. */
  readonly numberFields: Set<string> = new Set();
  /** Hand-written codecs by type name. */
  readonly exclusions: Map<string, Exclusion> = new Map();
  #sizes = new Map<string, Size>();
  #sizing = new Set<string>();

  /** Resolves `defs` with `config`; throws {@link XdrModelError}. */
  constructor(defs: readonly Definition[], config: GenConfig = {}) {
    this.definitions = defs;
    const seen = new Set<string>();
    const claim = (name: string) => {
      if (seen.has(name)) {
        throw new XdrModelError(`Name defined twice: ${name}`);
      }
      seen.add(name);
    };
    for (const d of defs) {
      claim(d.name);
      if (d.kind === "const") continue;
      if (d.kind === "program") {
        for (const v of d.versions) {
          claim(v.name);
          for (const p of v.procedures) claim(p.name);
        }
        continue;
      }
      this.types.set(d.name, d);
      if (d.kind === "enum") {
        for (const m of d.members) {
          claim(m.name);
          this.memberOf.set(m.name, d.name);
        }
      }
    }
    // Constants may refer to one another in any order.
    const pending = new Map<string, Value>();
    for (const d of defs) {
      if (d.kind === "const") pending.set(d.name, d.value);
      if (d.kind === "enum") {
        for (const m of d.members) pending.set(m.name, m.value);
      }
    }
    const resolving = new Set<string>();
    const resolve = (name: string): bigint => {
      const known = this.constants.get(name);
      if (known !== undefined) return known;
      const v = pending.get(name);
      if (v === undefined) {
        const b = BUILTIN.get(name);
        if (b !== undefined) return b;
        throw new XdrModelError(`Unknown constant: ${name}`);
      }
      if (resolving.has(name)) {
        throw new XdrModelError(`Constant defined by itself: ${name}`);
      }
      resolving.add(name);
      const value = v.kind === "num" ? v.value : resolve(v.name);
      this.constants.set(name, value);
      return value;
    };
    for (const name of pending.keys()) resolve(name);
    for (const d of defs) if (d.kind === "enum") this.#checkEnum(d);
    for (const t of this.types.values()) {
      if (t.kind === "struct") this.#findList(t);
    }
    for (const t of this.types.values()) this.#checkRefs(t);
    this.#checkCycles();
    this.#applyConfig(config);
    for (const t of this.types.values()) this.size(t.name);
  }

  /** The numeric value of a number or constant. */
  value(v: Value): bigint {
    if (v.kind === "num") return v.value;
    const c = this.constants.get(v.name) ?? BUILTIN.get(v.name);
    if (c === undefined) throw new XdrModelError(`Unknown constant: ${v.name}`);
    return c;
  }

  /** A size, maximum or label as a number within `lo..hi`. */
  count(v: Value, what: string, lo = 0, hi = U32_MAX): number {
    const n = this.value(v);
    if (n < BigInt(lo) || n > BigInt(hi)) {
      throw new XdrModelError(`${what} out of range ${lo}..${hi}: ${n}`);
    }
    return Number(n);
  }

  /** The maximum of a `<max>` bound; `<>` means 2^32 − 1. */
  maxOf(max: Value | null, what: string): number {
    return max === null ? U32_MAX : this.count(max, what);
  }

  /** The definition of a named type. */
  type(name: string): TypeDef {
    const t = this.types.get(name);
    if (t === undefined) throw new XdrModelError(`Unknown type: ${name}`);
    return t;
  }

  #checkEnum(e: EnumDef): void {
    const values = new Set<bigint>();
    for (const m of e.members) {
      const v = this.value(m.value);
      this.count(
        m.value,
        `Value of ${e.name}.${m.name}`,
        -0x80000000,
        0x7fffffff,
      );
      if (values.has(v)) {
        throw new XdrModelError(`Enum ${e.name} repeats the value ${v}`);
      }
      values.add(v);
    }
  }

  #findList(s: StructDef): void {
    const last = s.fields[s.fields.length - 1];
    if (
      last.kind === "optional" && last.type.kind === "named" &&
      last.type.name === s.name
    ) {
      this.linkedLists.add(s.name);
    }
  }

  /** Each named type exists; linked lists are reached only by pointers. */
  #checkRefs(t: TypeDef): void {
    const check = (d: Decl, where: string) => {
      if (d.kind === "void" || d.kind === "fixedOpaque") return;
      if (d.kind === "varOpaque" || d.kind === "string") return;
      if (d.type.kind !== "named") return;
      const target = this.type(d.type.name);
      if (d.kind === "optional") return;
      if (target.kind === "struct" && this.linkedLists.has(target.name)) {
        throw new XdrModelError(
          `Unsupported use of the linked list ${target.name} in ${where}: ` +
            "use it through a pointer (*)",
        );
      }
    };
    if (t.kind === "typedef") check(t.decl, t.name);
    if (t.kind === "struct") {
      for (const f of t.fields) check(f, `${t.name}.${f.name}`);
    }
    if (t.kind === "union") {
      const disc = t.discriminant.type;
      if (disc.kind === "hyper" || disc.kind === "uhyper") {
        throw new XdrModelError(`Union ${t.name} switches on a 64-bit value`);
      }
      if (disc.kind === "named") {
        const dt = this.resolveAlias(disc.name);
        if (dt.kind !== "enum" && dt.kind !== "int" && dt.kind !== "uint") {
          throw new XdrModelError(
            `Union ${t.name} switches on ${disc.name}, not an int, bool or enum`,
          );
        }
      }
      const seen = new Set<bigint>();
      const enumName = this.discriminantEnum(t);
      for (const arm of t.arms) {
        for (const l of arm.labels) {
          const v = this.value(l);
          if (seen.has(v)) {
            throw new XdrModelError(`Union ${t.name} repeats the case ${v}`);
          }
          seen.add(v);
          if (enumName !== null) {
            if (l.kind !== "ref" || this.memberOf.get(l.name) !== enumName) {
              const e = this.type(enumName) as EnumDef;
              if (!e.members.some((m) => this.value(m.value) === v)) {
                throw new XdrModelError(
                  `Union ${t.name}: case ${v} is not a value of ${enumName}`,
                );
              }
            }
          } else if (disc.kind === "bool" && v !== 0n && v !== 1n) {
            throw new XdrModelError(`Union ${t.name}: case ${v} is not a bool`);
          } else {
            const signed = this.resolveDisc(t) === "int";
            this.count(
              l,
              `Case label of ${t.name}`,
              signed ? -0x80000000 : 0,
              signed ? 0x7fffffff : U32_MAX,
            );
          }
        }
        check(arm.decl, `${t.name}.${declName(arm.decl)}`);
      }
      if (t.defaultArm) check(t.defaultArm, `${t.name} default`);
    }
  }

  /**
   * Refuses any cycle among types other than a linked list's link to its
   * own struct: decoding such a type would nest as deep as the input goes.
   */
  #checkCycles(): void {
    const edges = (t: TypeDef): string[] => {
      const decls: Decl[] = t.kind === "typedef"
        ? [t.decl]
        : t.kind === "struct"
        ? this.linkedLists.has(t.name) ? t.fields.slice(0, -1) : t.fields
        : t.kind === "union"
        ? [...t.arms.map((a) => a.decl), t.defaultArm ?? { kind: "void" }]
        : [];
      const out: string[] = [];
      for (const d of decls) {
        if (
          d.kind !== "void" && d.kind !== "fixedOpaque" &&
          d.kind !== "varOpaque" && d.kind !== "string" &&
          d.type.kind === "named"
        ) out.push(d.type.name);
      }
      return out;
    };
    const done = new Set<string>();
    const path: string[] = [];
    const visit = (name: string) => {
      if (done.has(name)) return;
      const at = path.indexOf(name);
      if (at >= 0) {
        throw new XdrModelError(
          `Unsupported recursive type: ${
            [...path.slice(at), name].join(" -> ")
          }` +
            " (only linked lists, `struct T { ...; T *next; }`, may refer to themselves)",
        );
      }
      path.push(name);
      for (const e of edges(this.type(name))) visit(e);
      path.pop();
      done.add(name);
    };
    for (const name of this.types.keys()) visit(name);
  }

  /**
   * Follows typedefs of plain declarations to what they name: an enum,
   * struct, union, a typedef of something else, or a primitive.
   */
  resolveAlias(
    name: string,
  ): TypeDef | { kind: "int" | "uint" | "hyper" | "uhyper" | "bool" } {
    let t = this.type(name);
    for (let i = 0; t.kind === "typedef" && t.decl.kind === "plain"; i++) {
      if (i > this.types.size) {
        throw new XdrModelError(`Typedef defined by itself: ${name}`);
      }
      const inner = t.decl.type;
      if (inner.kind !== "named") return { kind: inner.kind };
      t = this.type(inner.name);
    }
    return t;
  }

  /** The enum a union switches on, or null for int, unsigned and bool. */
  discriminantEnum(u: UnionDef): string | null {
    const d = u.discriminant.type;
    if (d.kind !== "named") return null;
    const t = this.resolveAlias(d.name);
    return t.kind === "enum" ? t.name : null;
  }

  /** The primitive kind of a union's discriminant. */
  resolveDisc(u: UnionDef): "int" | "uint" | "bool" | "enum" {
    const d = u.discriminant.type;
    if (d.kind === "named") {
      const t = this.resolveAlias(d.name);
      return t.kind === "enum" ? "enum" : t.kind === "uint" ? "uint" : "int";
    }
    return d.kind === "bool" ? "bool" : d.kind === "uint" ? "uint" : "int";
  }

  #applyConfig(config: GenConfig): void {
    for (const key of config.hyperAsNumber ?? []) {
      const dot = key.indexOf(".");
      if (dot < 0) {
        const t = this.types.get(key);
        if (t?.kind !== "typedef" || !this.#isHyper(t.decl)) {
          throw new XdrModelError(
            `hyperAsNumber: ${key} is not a typedef of a 64-bit integer`,
          );
        }
        this.numberTypedefs.add(key);
        continue;
      }
      const [owner, field] = [key.slice(0, dot), key.slice(dot + 1)];
      const t = this.types.get(owner);
      const decls: Decl[] = t?.kind === "struct"
        ? t.fields
        : t?.kind === "union"
        ? [...t.arms.map((a) => a.decl), t.defaultArm ?? { kind: "void" }]
        : [];
      const d = decls.find((x) => x.kind !== "void" && x.name === field);
      if (d === undefined || d.kind !== "plain" || !this.#isHyper(d)) {
        throw new XdrModelError(
          `hyperAsNumber: ${key} is not a plain 64-bit field of a struct or union`,
        );
      }
      this.numberFields.add(key);
    }
    for (const [name, ex] of Object.entries(config.exclude ?? {})) {
      if (!this.types.has(name)) {
        throw new XdrModelError(`exclude: unknown type ${name}`);
      }
      if (!ex.encode && !ex.decode) {
        throw new XdrModelError(`exclude: ${name} excludes neither direction`);
      }
      this.exclusions.set(name, ex);
    }
  }

  #isHyper(d: Decl): boolean {
    if (d.kind !== "plain") return false;
    const k = d.type.kind === "named"
      ? this.resolveAlias(d.type.name).kind
      : d.type.kind;
    return k === "hyper" || k === "uhyper";
  }

  /** Smallest and largest encoded size of a named type. */
  size(name: string): Size {
    const known = this.#sizes.get(name);
    if (known) return known;
    if (this.#sizing.has(name)) {
      throw new XdrModelError(
        `Unsupported recursive type: ${name} (only linked lists, ` +
          "`struct T { ...; T *next; }`, may refer to themselves)",
      );
    }
    this.#sizing.add(name);
    const t = this.type(name);
    let s: Size;
    switch (t.kind) {
      case "enum":
        s = { min: 4, max: 4 };
        break;
      case "typedef":
        s = this.declSize(t.decl);
        break;
      case "struct":
        if (this.linkedLists.has(name)) {
          // One entry and a FALSE link at the least; no upper bound.
          s = { min: this.nodeSize(t).min + 4, max: Infinity };
        } else s = sum(t.fields.map((f) => this.declSize(f)));
        break;
      case "union": {
        const arms = t.arms.map((a) => this.declSize(a.decl));
        if (t.defaultArm) arms.push(this.declSize(t.defaultArm));
        s = {
          min: 4 + Math.min(...arms.map((a) => a.min)),
          max: 4 + Math.max(...arms.map((a) => a.max)),
        };
        break;
      }
    }
    this.#sizing.delete(name);
    this.#sizes.set(name, s);
    return s;
  }

  /** The size of a linked-list struct's members without its link. */
  nodeSize(s: StructDef): Size {
    return sum(s.fields.slice(0, -1).map((f) => this.declSize(f)));
  }

  /** Smallest and largest encoded size of a declaration. */
  declSize(d: Decl): Size {
    switch (d.kind) {
      case "void":
        return { min: 0, max: 0 };
      case "plain":
        return this.typeSize(d.type);
      case "fixedOpaque": {
        const n = pad(this.count(d.size, `Size of ${d.name}`));
        return { min: n, max: n };
      }
      case "varOpaque":
      case "string":
        return {
          min: 4,
          max: d.max === null
            ? Infinity
            : 4 + pad(this.count(d.max, `Maximum of ${d.name}`)),
        };
      case "fixedArray": {
        const n = this.count(d.size, `Size of ${d.name}`);
        const e = this.typeSize(d.type);
        return { min: n * e.min, max: n * e.max };
      }
      case "varArray": {
        const e = this.typeSize(d.type);
        return {
          min: 4,
          max: d.max === null
            ? Infinity
            : 4 + this.count(d.max, `Maximum of ${d.name}`) * e.max,
        };
      }
      case "optional":
        if (d.type.kind === "named" && this.linkedLists.has(d.type.name)) {
          return { min: 4, max: Infinity };
        }
        return { min: 4, max: 4 + this.typeSize(d.type).max };
    }
  }

  /** Smallest and largest encoded size of a type specifier. */
  typeSize(t: TypeSpec): Size {
    switch (t.kind) {
      case "int":
      case "uint":
      case "bool":
        return { min: 4, max: 4 };
      case "hyper":
      case "uhyper":
        return { min: 8, max: 8 };
      case "named":
        return this.size(t.name);
    }
  }

  /** True when a linked list is what `d` points to. */
  isList(d: NamedDecl): boolean {
    return d.kind === "optional" && d.type.kind === "named" &&
      this.linkedLists.has(d.type.name);
  }
}

function sum(sizes: Size[]): Size {
  let min = 0;
  let max = 0;
  for (const s of sizes) {
    min += s.min;
    max += s.max;
  }
  return { min, max };
}

function declName(d: Decl): string {
  return d.kind === "void" ? "void" : d.name;
}
