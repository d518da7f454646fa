/**
 * The syntax tree of an XDR or RPC program file, as `parse.ts` builds it
 * and the model (`model.ts`) reads it.
 *
 * @module
 */

/** A number or the name of a constant or enum member. */
export type Value =
  | { kind: "num"; value: bigint; text: string }
  | { kind: "ref"; name: string };

/** The type in a declaration. */
export type TypeSpec =
  | { kind: "int" }
  | { kind: "uint" }
  | { kind: "hyper" }
  | { kind: "uhyper" }
  | { kind: "bool" }
  | { kind: "named"; name: string };

/** A declaration: a struct field, a union arm, a typedef's body. */
export type Decl =
  | { kind: "void" }
  | { kind: "plain"; name: string; type: TypeSpec; doc: string }
  | {
    kind: "fixedArray";
    name: string;
    type: TypeSpec;
    size: Value;
    doc: string;
  }
  | {
    kind: "varArray";
    name: string;
    type: TypeSpec;
    max: Value | null;
    doc: string;
  }
  | { kind: "fixedOpaque"; name: string; size: Value; doc: string }
  | { kind: "varOpaque"; name: string; max: Value | null; doc: string }
  | { kind: "string"; name: string; max: Value | null; doc: string }
  | { kind: "optional"; name: string; type: TypeSpec; doc: string };

/** A declaration that has a name (every kind but `void`). */
export type NamedDecl = Exclude<Decl, { kind: "void" }>;

/** `const NAME = value;` */
export interface ConstDef {
  kind: "const";
  name: string;
  value: Value;
  doc: string;
  line: number;
}

/** `enum NAME { A = 1, ... };` */
export interface EnumDef {
  kind: "enum";
  name: string;
  members: { name: string; value: Value; doc: string }[];
  doc: string;
  line: number;
}

/** `typedef declaration;` */
export interface TypedefDef {
  kind: "typedef";
  name: string;
  decl: NamedDecl;
  doc: string;
  line: number;
}

/** `struct NAME { declarations };` */
export interface StructDef {
  kind: "struct";
  name: string;
  fields: NamedDecl[];
  doc: string;
  line: number;
}

/** One `case` group of a union: its labels and its declaration. */
export interface UnionArm {
  labels: Value[];
  decl: Decl;
}

/** `union NAME switch (type name) { case ...; default: ...; };` */
export interface UnionDef {
  kind: "union";
  name: string;
  discriminant: { name: string; type: TypeSpec };
  arms: UnionArm[];
  /** The `default:` arm, or null when the union has none. */
  defaultArm: Decl | null;
  doc: string;
  line: number;
}

/** One procedure of an RPC program version. */
export interface Procedure {
  name: string;
  number: Value;
  doc: string;
}

/** `program NAME { version NAME { ... } = n; } = n;` */
export interface ProgramDef {
  kind: "program";
  name: string;
  number: Value;
  versions: {
    name: string;
    number: Value;
    procedures: Procedure[];
    doc: string;
  }[];
  doc: string;
  line: number;
}

/** Any top-level definition. */
export type Definition =
  | ConstDef
  | EnumDef
  | TypedefDef
  | StructDef
  | UnionDef
  | ProgramDef;
