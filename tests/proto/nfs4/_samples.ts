/**
 * Random values of any type of proto/nfs4/nfs4.x, built from the
 * generator's own reading of the specification (tools/xdrgen/model.ts),
 * for round-trip and fuzz tests. Deterministic for a seed.
 */

import { JOBS } from "../../../tools/xdrgen/config.ts";
import { Model, type TypeDef } from "../../../tools/xdrgen/model.ts";
import {
  type Decl,
  parseXdr,
  type TypeSpec,
  type UnionDef,
} from "../../../tools/xdrgen/parse.ts";

const JOB = JOBS.find((j) => j.spec === "proto/nfs4/nfs4.x")!;

/** The resolved nfs4.x, as the generator sees it. */
export const model: Model = new Model(
  parseXdr(
    Deno.readTextFileSync(new URL(`../../../${JOB.spec}`, import.meta.url)),
    JOB.spec,
  ),
  JOB.config,
);

/** A small deterministic PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Builds random values of named types. */
export class Samples {
  #rand: () => number;

  /** Starts a sequence for `seed`. */
  constructor(seed: number) {
    this.#rand = prng(seed);
  }

  /** An integer in `0..n-1`. */
  int(n: number): number {
    return Math.floor(this.#rand() * n);
  }

  #bytes(n: number): Uint8Array {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }

  #u32(): number {
    // Edges now and then: 0, 1, 2^31, 2^32 - 1.
    const pick = this.int(8);
    if (pick < 4) return [0, 1, 0x80000000, 0xffffffff][pick];
    return this.int(0x100000000);
  }

  #prim(kind: TypeSpec["kind"], asNumber: boolean): unknown {
    switch (kind) {
      case "int":
        return this.#u32() | 0;
      case "uint":
        return this.#u32();
      case "bool":
        return this.int(2) === 1;
      case "hyper":
        if (asNumber) return (this.int(2) ? 1 : -1) * this.int(2 ** 53);
        return BigInt.asIntN(64, this.#big());
      case "uhyper":
        return asNumber ? this.int(2 ** 53) : this.#big();
    }
    throw new Error(`Not a primitive: ${kind}`);
  }

  #big(): bigint {
    const pick = this.int(6);
    if (pick < 3) return [0n, 1n, 2n ** 64n - 1n][pick];
    return (BigInt(this.#u32()) << 32n) | BigInt(this.#u32());
  }

  /** A value of the named type. */
  value(name: string, asNumber = false): unknown {
    const t = model.type(name);
    switch (t.kind) {
      case "enum": {
        const m = t.members[this.int(t.members.length)];
        return Number(model.value(m.value));
      }
      case "typedef":
        return this.decl(
          t.decl,
          asNumber || model.numberTypedefs.has(name),
        );
      case "struct": {
        const fields = model.linkedLists.has(name)
          ? t.fields.slice(0, -1)
          : t.fields;
        const out: Record<string, unknown> = {};
        for (const f of fields) {
          out[f.name] = this.decl(
            f,
            model.numberFields.has(`${name}.${f.name}`),
          );
        }
        return out;
      }
      case "union":
        // A default arm with no discriminant value left (an enum every
        // member of which has an arm) has no value: take a named arm.
        return this.union(
          name,
          this.int(t.arms.length + (t.defaultArm ? 1 : 0)),
        ) ?? this.union(name, this.int(t.arms.length));
    }
  }

  /**
   * A value of union `name` in arm `arm` (an index into its arms; the
   * arms' count means the default arm). Undefined when the default arm
   * has no value left to take.
   */
  union(name: string, arm: number): unknown {
    const u = model.type(name) as UnionDef;
    const disc = u.discriminant.name;
    let decl: Decl;
    let d: unknown;
    if (arm < u.arms.length) {
      const a = u.arms[arm];
      decl = a.decl;
      const label = model.value(a.labels[this.int(a.labels.length)]);
      d = model.resolveDisc(u) === "bool" ? label === 1n : Number(label);
    } else {
      decl = u.defaultArm!;
      const taken = new Set(
        u.arms.flatMap((a) => a.labels).map((l) => model.value(l)),
      );
      const free = this.#defaultValues(u).filter((v) => !taken.has(BigInt(v)));
      if (free.length === 0) return undefined;
      d = free[this.int(free.length)];
    }
    const out: Record<string, unknown> = { [disc]: d };
    if (decl.kind !== "void") {
      out[decl.name] = this.decl(
        decl,
        model.numberFields.has(`${name}.${decl.name}`),
      );
    }
    return out;
  }

  #defaultValues(u: UnionDef): number[] {
    const e = model.discriminantEnum(u);
    if (e !== null) {
      const t = model.type(e) as Extract<TypeDef, { kind: "enum" }>;
      return t.members.map((m) => Number(model.value(m.value)));
    }
    return [0, 1, 2, 7, 0x7fffffff, this.#u32() & 0x7fffffff];
  }

  /** A value as `d` declares it. */
  decl(d: Decl, asNumber = false): unknown {
    switch (d.kind) {
      case "void":
        return undefined;
      case "plain":
        return this.#type(d.type, asNumber);
      case "fixedOpaque":
        return this.#bytes(model.count(d.size, d.name));
      case "varOpaque":
        return this.#bytes(
          this.int(Math.min(model.maxOf(d.max, d.name), 13) + 1),
        );
      case "string": {
        const n = this.int(Math.min(model.maxOf(d.max, d.name), 9) + 1);
        return Array.from(
          { length: n },
          () => String.fromCharCode(0x61 + this.int(26)),
        ).join("");
      }
      case "fixedArray":
        return Array.from(
          { length: model.count(d.size, d.name) },
          () => this.#type(d.type, false),
        );
      case "varArray":
        return Array.from(
          { length: this.int(Math.min(model.maxOf(d.max, d.name), 3) + 1) },
          () => this.#type(d.type, false),
        );
      case "optional":
        if (model.isList(d)) {
          return Array.from(
            { length: this.int(4) },
            () => this.#type(d.type, false),
          );
        }
        return this.int(2) ? this.#type(d.type, false) : undefined;
    }
  }

  #type(t: TypeSpec, asNumber: boolean): unknown {
    return t.kind === "named"
      ? this.value(t.name, asNumber)
      : this.#prim(t.kind, asNumber);
  }
}
