/**
 * The XDR language (RFC 4506 section 6) and the RPC program notation
 * (RFC 5531 section 12), parsed into a plain syntax tree.
 *
 * Supported: `const`, `enum`, `typedef`, `struct`, `union` (with `default`
 * and `void` arms), `program`; declarations of `int`, `unsigned [int]`,
 * `hyper`, `unsigned hyper`, `bool`, named types, fixed and variable arrays,
 * `opaque` and `string` with or without a maximum, and optional data (`*`).
 * Refused with a message naming the line: `float`, `double`, `quadruple`
 * and anonymous enums, structs or unions inside declarations (none of the
 * NFS specifications needs them). Lines starting with `%` (rpcgen
 * pass-through) are skipped.
 *
 * A comment ending on the line just above a definition, member or field
 * (no blank line between) becomes its documentation, and so does a comment
 * after a member on the same line.
 *
 * @module
 */

export type * from "./ast.ts";
import type {
  Decl,
  Definition,
  EnumDef,
  NamedDecl,
  Procedure,
  ProgramDef,
  TypeSpec,
  UnionArm,
  UnionDef,
  Value,
} from "./ast.ts";

/** A syntax or unsupported-construct error, with the file and line. */
export class XdrSyntaxError extends Error {
  /** Builds the error; `where` is "file:line". */
  constructor(message: string, where: string) {
    super(`${message}: at ${where}`);
    this.name = "XdrSyntaxError";
  }
}

interface Comment {
  text: string;
  startLine: number;
  endLine: number;
}

interface Token {
  /** "id", "num" or the punctuation character itself; "eof" at the end. */
  kind: string;
  text: string;
  line: number;
  /** Comments between the previous token and this one. */
  comments: Comment[];
}

const PUNCT = new Set("{}()[]<>;,=:*".split(""));

function commentText(raw: string): string {
  const body = raw.startsWith("//") ? raw.slice(2) : raw.slice(2, -2);
  return body
    .split("\n")
    .map((l) => l.replace(/^\s*\*?\s?/, "").trimEnd())
    .join("\n")
    .trim();
}

function lex(src: string, file: string): Token[] {
  const out: Token[] = [];
  let comments: Comment[] = [];
  let i = 0;
  let line = 1;
  let lineStart = true;
  while (i < src.length) {
    const c = src[i];
    if (c === "\n") {
      line++;
      i++;
      lineStart = true;
      continue;
    }
    if (c === " " || c === "\t" || c === "\r") {
      i++;
      continue;
    }
    if (lineStart && c === "%") {
      while (i < src.length && src[i] !== "\n") i++;
      continue;
    }
    lineStart = false;
    if (c === "/" && (src[i + 1] === "*" || src[i + 1] === "/")) {
      const block = src[i + 1] === "*";
      const end = block ? src.indexOf("*/", i + 2) : src.indexOf("\n", i);
      if (block && end < 0) {
        throw new XdrSyntaxError("Unterminated comment", `${file}:${line}`);
      }
      const stop = block ? end + 2 : end < 0 ? src.length : end;
      const raw = src.slice(i, stop);
      const startLine = line;
      for (const ch of raw) if (ch === "\n") line++;
      comments.push({ text: commentText(raw), startLine, endLine: line });
      i = stop;
      continue;
    }
    const start = i;
    let kind: string;
    if (/[A-Za-z_]/.test(c)) {
      while (i < src.length && /[A-Za-z0-9_]/.test(src[i])) i++;
      kind = "id";
    } else if (/[0-9-]/.test(c)) {
      i++;
      while (i < src.length && /[0-9A-Fa-fxX]/.test(src[i])) i++;
      kind = "num";
    } else if (PUNCT.has(c)) {
      i++;
      kind = c;
    } else {
      throw new XdrSyntaxError(
        `Unexpected character '${c}'`,
        `${file}:${line}`,
      );
    }
    out.push({ kind, text: src.slice(start, i), line, comments });
    comments = [];
  }
  out.push({ kind: "eof", text: "", line, comments });
  return out;
}

function join(a: string, b: string): string {
  return a && b ? `${a}\n${b}` : a || b;
}

function parseNumber(text: string, where: string): bigint {
  const neg = text.startsWith("-");
  const body = neg ? text.slice(1) : text;
  let v: bigint;
  if (/^0[xX][0-9A-Fa-f]+$/.test(body)) v = BigInt(body);
  else if (/^0[0-7]+$/.test(body)) v = BigInt("0o" + body.slice(1));
  else if (/^[0-9]+$/.test(body)) v = BigInt(body);
  else throw new XdrSyntaxError(`Invalid number: ${text}`, where);
  return neg ? -v : v;
}

class Parser {
  #toks: Token[];
  #pos = 0;
  #file: string;

  constructor(src: string, file: string) {
    this.#file = file;
    this.#toks = lex(src, file);
  }

  #peek(): Token {
    return this.#toks[this.#pos];
  }

  #where(t: Token = this.#peek()): string {
    return `${this.#file}:${t.line}`;
  }

  #next(): Token {
    const t = this.#toks[this.#pos];
    if (t.kind !== "eof") this.#pos++;
    return t;
  }

  #expect(kind: string, text?: string): Token {
    const t = this.#next();
    if (t.kind !== kind || (text !== undefined && t.text !== text)) {
      const want = text ?? (kind === "id" ? "a name" : `'${kind}'`);
      const got = t.kind === "eof" ? "end of file" : `'${t.text}'`;
      throw new XdrSyntaxError(
        `Expected ${want}, found ${got}`,
        this.#where(t),
      );
    }
    return t;
  }

  #accept(kind: string, text?: string): boolean {
    const t = this.#peek();
    if (t.kind === kind && (text === undefined || t.text === text)) {
      this.#next();
      return true;
    }
    return false;
  }

  /** The comment that ends on the line just above `t`, if any. */
  #leadingDoc(t: Token): string {
    const c = t.comments[t.comments.length - 1];
    return c !== undefined && c.endLine >= t.line - 1 ? c.text : "";
  }

  /** A comment after the token just consumed, on that token's line. */
  #trailingDoc(): string {
    const prev = this.#toks[this.#pos - 1];
    const next = this.#peek();
    const c = next.comments[0];
    if (c === undefined || c.startLine !== prev.line) return "";
    next.comments = next.comments.slice(1);
    return c.text;
  }

  parse(): Definition[] {
    const defs: Definition[] = [];
    while (this.#peek().kind !== "eof") defs.push(this.#definition());
    return defs;
  }

  #definition(): Definition {
    const t = this.#expect("id");
    const doc = this.#leadingDoc(t);
    const line = t.line;
    switch (t.text) {
      case "const": {
        const name = this.#expect("id").text;
        this.#expect("=");
        const value = this.#value();
        this.#expect(";");
        return {
          kind: "const",
          name,
          value,
          doc: join(doc, this.#trailingDoc()),
          line,
        };
      }
      case "enum": {
        const name = this.#expect("id").text;
        const members = this.#enumBody();
        this.#expect(";");
        return { kind: "enum", name, members, doc, line };
      }
      case "typedef": {
        const decl = this.#declaration();
        if (decl.kind === "void") {
          throw new XdrSyntaxError("A typedef cannot be void", this.#where(t));
        }
        this.#expect(";");
        return { kind: "typedef", name: decl.name, decl, doc, line };
      }
      case "struct": {
        const name = this.#expect("id").text;
        const fields = this.#structBody();
        this.#expect(";");
        return { kind: "struct", name, fields, doc, line };
      }
      case "union": {
        const name = this.#expect("id").text;
        const u = this.#unionBody();
        this.#expect(";");
        return { kind: "union", name, ...u, doc, line };
      }
      case "program":
        return this.#program(doc, line);
      default:
        throw new XdrSyntaxError(
          `Expected a definition, found '${t.text}'`,
          this.#where(t),
        );
    }
  }

  #value(): Value {
    const t = this.#next();
    if (t.kind === "num") {
      const value = parseNumber(t.text, this.#where(t));
      return { kind: "num", value, text: t.text };
    }
    if (t.kind === "id") return { kind: "ref", name: t.text };
    throw new XdrSyntaxError(
      `Expected a number or a constant, found '${t.text}'`,
      this.#where(t),
    );
  }

  #enumBody(): EnumDef["members"] {
    this.#expect("{");
    const members: EnumDef["members"] = [];
    do {
      const t = this.#expect("id");
      this.#expect("=");
      const value = this.#value();
      const sep = this.#peek().kind;
      if (sep === ",") this.#next();
      const doc = join(this.#leadingDoc(t), this.#trailingDoc());
      members.push({ name: t.text, value, doc });
      if (sep !== ",") break;
    } while (this.#peek().kind !== "}");
    this.#expect("}");
    return members;
  }

  #structBody(): NamedDecl[] {
    this.#expect("{");
    const fields: NamedDecl[] = [];
    while (!this.#accept("}")) {
      const d = this.#declaration();
      if (d.kind === "void") {
        throw new XdrSyntaxError(
          "A struct field cannot be void",
          this.#where(),
        );
      }
      this.#expect(";");
      d.doc = join(d.doc, this.#trailingDoc());
      fields.push(d);
    }
    if (fields.length === 0) {
      throw new XdrSyntaxError(
        "A struct needs at least one field",
        this.#where(),
      );
    }
    return fields;
  }

  #unionBody(): Omit<UnionDef, "kind" | "name" | "doc" | "line"> {
    this.#expect("id", "switch");
    this.#expect("(");
    const disc = this.#declaration();
    if (disc.kind !== "plain") {
      throw new XdrSyntaxError(
        "A union discriminant must be a plain int, unsigned, bool or enum",
        this.#where(),
      );
    }
    this.#expect(")");
    this.#expect("{");
    const arms: UnionArm[] = [];
    let defaultArm: Decl | null = null;
    while (!this.#accept("}")) {
      if (this.#accept("id", "default")) {
        this.#expect(":");
        defaultArm = this.#armDecl();
        continue;
      }
      const labels: Value[] = [];
      while (this.#accept("id", "case")) {
        labels.push(this.#value());
        this.#expect(":");
      }
      if (labels.length === 0) {
        throw new XdrSyntaxError("Expected 'case' or 'default'", this.#where());
      }
      arms.push({ labels, decl: this.#armDecl() });
    }
    return {
      discriminant: { name: disc.name, type: disc.type },
      arms,
      defaultArm,
    };
  }

  #armDecl(): Decl {
    const d = this.#declaration();
    this.#expect(";");
    const trailing = this.#trailingDoc();
    if (d.kind !== "void") d.doc = join(d.doc, trailing);
    return d;
  }

  #typeSpec(): TypeSpec {
    const t = this.#expect("id");
    switch (t.text) {
      case "unsigned":
        if (this.#accept("id", "int")) return { kind: "uint" };
        if (this.#accept("id", "hyper")) return { kind: "uhyper" };
        return { kind: "uint" };
      case "int":
        return { kind: "int" };
      case "hyper":
        return { kind: "hyper" };
      case "bool":
        return { kind: "bool" };
      case "float":
      case "double":
      case "quadruple":
        throw new XdrSyntaxError(`Unsupported type: ${t.text}`, this.#where(t));
      case "enum":
      case "struct":
      case "union":
        if (this.#peek().kind === "{") {
          throw new XdrSyntaxError(
            `Unsupported anonymous ${t.text}: give it a name`,
            this.#where(t),
          );
        }
        return { kind: "named", name: this.#expect("id").text };
      default:
        return { kind: "named", name: t.text };
    }
  }

  #declaration(): Decl {
    const first = this.#peek();
    const doc = this.#leadingDoc(first);
    if (this.#accept("id", "void")) return { kind: "void" };
    if (this.#accept("id", "opaque") || this.#accept("id", "string")) {
      const isString = first.text === "string";
      const name = this.#expect("id").text;
      if (!isString && this.#accept("[")) {
        const size = this.#value();
        this.#expect("]");
        return { kind: "fixedOpaque", name, size, doc };
      }
      this.#expect("<");
      const max = this.#peek().kind === ">" ? null : this.#value();
      this.#expect(">");
      return isString
        ? { kind: "string", name, max, doc }
        : { kind: "varOpaque", name, max, doc };
    }
    const type = this.#typeSpec();
    if (this.#accept("*")) {
      return { kind: "optional", name: this.#expect("id").text, type, doc };
    }
    const name = this.#expect("id").text;
    if (this.#accept("[")) {
      const size = this.#value();
      this.#expect("]");
      return { kind: "fixedArray", name, type, size, doc };
    }
    if (this.#accept("<")) {
      const max = this.#peek().kind === ">" ? null : this.#value();
      this.#expect(">");
      return { kind: "varArray", name, type, max, doc };
    }
    return { kind: "plain", name, type, doc };
  }

  #program(doc: string, line: number): ProgramDef {
    const name = this.#expect("id").text;
    this.#expect("{");
    const versions: ProgramDef["versions"] = [];
    while (!this.#accept("}")) {
      const vt = this.#expect("id", "version");
      const vname = this.#expect("id").text;
      this.#expect("{");
      const procedures: Procedure[] = [];
      while (!this.#accept("}")) {
        const first = this.#peek();
        // Result type, then NAME(argument types) = number; the types only
        // matter to stub generators, so they are checked for shape only.
        this.#typeSpecOrVoid();
        const pname = this.#expect("id").text;
        this.#expect("(");
        this.#typeSpecOrVoid();
        while (this.#accept(",")) this.#typeSpecOrVoid();
        this.#expect(")");
        this.#expect("=");
        const number = this.#value();
        this.#expect(";");
        procedures.push({
          name: pname,
          number,
          doc: join(this.#leadingDoc(first), this.#trailingDoc()),
        });
      }
      this.#expect("=");
      const number = this.#value();
      this.#expect(";");
      versions.push({
        name: vname,
        number,
        procedures,
        doc: this.#leadingDoc(vt),
      });
    }
    this.#expect("=");
    const number = this.#value();
    this.#expect(";");
    return { kind: "program", name, number, versions, doc, line };
  }

  #typeSpecOrVoid(): void {
    if (!this.#accept("id", "void")) this.#typeSpec();
  }
}

/**
 * Parses XDR source text. `file` names the source in error messages.
 *
 * @throws {XdrSyntaxError} on a syntax error or an unsupported construct.
 */
export function parseXdr(src: string, file = "<input>"): Definition[] {
  return new Parser(src, file).parse();
}
