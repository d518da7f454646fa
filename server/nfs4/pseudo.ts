/**
 * The NFSv4 pseudo file system: the exports shown as one tree under `/`.
 *
 * NFSv4 has no MOUNT protocol; a client starts at PUTROOTFH and LOOKUPs its
 * way down. Every proper prefix of an export path that is not an export
 * itself becomes a read-only pseudo directory (mode 0555, owned by root), and
 * at an export's path the tree continues in that export's FileSystem: a
 * junction, where fsid and `mounted_on_fileid` change. An export at `/` makes
 * its root the pseudo root, and an export nested under another export's root
 * (`/` and `/data`) is reached by a LOOKUP from that root; deeper nesting,
 * under a real directory of another export, is not offered.
 *
 * A client sees only the pseudo directories that lead to an export it may
 * use, as knfsd does: the others answer NOENT and are left out of READDIR.
 *
 * Pseudo handles are 20 bytes like export handles but start with another
 * format byte and carry a hash of the node's path, so they stay valid across
 * restarts with the same export table and answer STALE when it changed.
 *
 * @module
 */

import type { Export, ExportTable } from "../exports.ts";
import { HANDLE_SIZE, handleVerifier } from "../handles.ts";
import type { FileId } from "../../vfs/types.ts";

const PSEUDO_FORMAT = 0x50; // "P"; export handles start with "N"

/** A directory of the pseudo tree (never an export's own root). */
export interface PseudoNode {
  /** Its absolute path, "/" for the root. */
  readonly path: string;
  /** A fileid unique within the pseudo file system (the root is 1). */
  readonly fileid: number;
  /** The parent directory; undefined for the root. */
  readonly parent: PseudoNode | undefined;
  /** Children by name: further pseudo directories or export roots. */
  readonly children: Map<string, PseudoNode | Export>;
  /** Its handle. */
  readonly fh: Uint8Array;
  /** The exports at or below it (for visibility). */
  readonly exports: Export[];
}

/** An object an NFSv4 filehandle names: a pseudo directory or an export's object. */
export type Nfs4Object =
  | { readonly kind: "pseudo"; readonly node: PseudoNode }
  | { readonly kind: "export"; readonly exp: Export; readonly fileid: FileId };

/** What a handle decodes to: an object, garbage, or a node that no longer exists. */
export type PseudoHandle = PseudoNode | "badhandle" | "stale";

/** The pseudo tree over an export table. */
export class PseudoFs {
  /** The root: a pseudo directory, or undefined when an export sits at `/`. */
  readonly root: PseudoNode | undefined;
  /** The export at `/`, if any. */
  readonly rootExport: Export | undefined;
  /** Per export: the pseudo fileid of the entry it is mounted on. */
  readonly #mountedOn = new Map<Export, number>();
  /** Per export: the directory it appears in (pseudo node or parent export). */
  readonly #parentOf = new Map<Export, PseudoNode | Export>();
  /** Exports nested directly under another export's root, by parent. */
  readonly #nested = new Map<Export, Map<string, Export>>();
  readonly #byHash = new Map<string, PseudoNode>();

  /** Builds the tree for `table`. */
  constructor(table: ExportTable) {
    const sorted = [...table.exports].sort((a, b) =>
      depth(a.path) - depth(b.path) || a.path.localeCompare(b.path)
    );
    this.rootExport = sorted.find((e) => e.path === "/");
    let nextId = 2;
    const nodes = new Map<string, PseudoNode>();
    const node = (path: string, parent: PseudoNode | undefined) => {
      const fh = new Uint8Array(HANDLE_SIZE);
      fh[0] = PSEUDO_FORMAT;
      fh.set(handleVerifier(`netfs-pseudo:${path}`), 4);
      const n: PseudoNode = {
        path,
        fileid: parent ? nextId++ : 1,
        parent,
        children: new Map(),
        fh,
        exports: [],
      };
      nodes.set(path, n);
      this.#byHash.set(hashKey(fh), n);
      return n;
    };
    this.root = this.rootExport ? undefined : node("/", undefined);
    for (const exp of sorted) {
      if (exp === this.rootExport) continue;
      const parts = exp.path.slice(1).split("/");
      // The nearest enclosing export whose root this path hangs from directly.
      const host = sorted.find((e) =>
        e !== exp && e.path !== "/" &&
        exp.path.startsWith(e.path + "/") &&
        depth(e.path) === parts.length - 1
      ) ?? (parts.length === 1 ? this.rootExport : undefined);
      if (host) {
        let m = this.#nested.get(host);
        if (!m) this.#nested.set(host, m = new Map());
        m.set(parts[parts.length - 1], exp);
        this.#parentOf.set(exp, host);
        this.#mountedOn.set(exp, nextId++);
        continue;
      }
      if (!this.root) continue; // under a real directory of "/"
      // Under a real directory of another export: not offered.
      if (sorted.some((e) => e !== exp && exp.path.startsWith(e.path + "/"))) {
        continue;
      }
      let dir = this.root;
      dir.exports.push(exp);
      for (let i = 0; i < parts.length - 1; i++) {
        let child = dir.children.get(parts[i]) as PseudoNode | undefined;
        if (child === undefined) {
          child = node("/" + parts.slice(0, i + 1).join("/"), dir);
          dir.children.set(parts[i], child);
        }
        dir = child;
        dir.exports.push(exp);
      }
      dir.children.set(parts[parts.length - 1], exp);
      this.#parentOf.set(exp, dir);
      this.#mountedOn.set(exp, nextId++);
    }
  }

  /** The object PUTROOTFH selects. */
  rootObject(): Nfs4Object {
    return this.root ? { kind: "pseudo", node: this.root } : {
      kind: "export",
      exp: this.rootExport!,
      fileid: this.rootExport!.root,
    };
  }

  /** Decodes a pseudo handle; export handles give "badhandle" here. */
  decode(fh: Uint8Array): PseudoHandle {
    if (fh.byteLength !== HANDLE_SIZE || fh[0] !== PSEUDO_FORMAT) {
      return "badhandle";
    }
    for (let i = 1; i < HANDLE_SIZE; i++) {
      if ((i < 4 || i >= 12) && fh[i] !== 0) return "badhandle";
    }
    return this.#byHash.get(hashKey(fh)) ?? "stale";
  }

  /** Whether `fh` is a pseudo handle (by its format byte). */
  static isPseudoHandle(fh: Uint8Array): boolean {
    return fh.byteLength > 0 && fh[0] === PSEUDO_FORMAT;
  }

  /**
   * The child `name` of pseudo directory `node` as `allows` lets the client
   * see it, or undefined.
   */
  lookup(
    node: PseudoNode,
    name: string,
    allows: (exp: Export) => boolean,
  ): Nfs4Object | undefined {
    const child = node.children.get(name);
    if (child === undefined) return undefined;
    if (isPseudo(child)) {
      return child.exports.some(allows)
        ? { kind: "pseudo", node: child }
        : undefined;
    }
    return allows(child)
      ? { kind: "export", exp: child, fileid: child.root }
      : undefined;
  }

  /** An export nested directly under `exp`'s root as `name`, if any. */
  nestedExport(exp: Export, name: string): Export | undefined {
    return this.#nested.get(exp)?.get(name);
  }

  /** The exports nested directly under `exp`'s root, by name. */
  nestedExports(exp: Export): ReadonlyMap<string, Export> {
    return this.#nested.get(exp) ?? EMPTY;
  }

  /** The visible entries of pseudo directory `node`, in a stable order. */
  entries(
    node: PseudoNode,
    allows: (exp: Export) => boolean,
  ): { name: string; object: Nfs4Object; fileid: number }[] {
    const out: { name: string; object: Nfs4Object; fileid: number }[] = [];
    for (const name of [...node.children.keys()].sort()) {
      const object = this.lookup(node, name, allows);
      if (object === undefined) continue;
      const fileid = object.kind === "pseudo"
        ? object.node.fileid
        : this.#mountedOn.get(object.exp)!;
      out.push({ name, object, fileid });
    }
    return out;
  }

  /**
   * What LOOKUPP from `exp`'s root reaches: the pseudo directory or export it
   * hangs from, or undefined at the top (the export at `/`).
   */
  parentOfExport(exp: Export): Nfs4Object | undefined {
    const p = this.#parentOf.get(exp);
    if (p === undefined) return undefined;
    return isPseudo(p)
      ? { kind: "pseudo", node: p }
      : { kind: "export", exp: p, fileid: p.root };
  }

  /**
   * The `mounted_on_fileid` of an export's root: the fileid of the entry it
   * covers (its own root fileid for the export at `/`).
   */
  mountedOnFileid(exp: Export): number {
    return this.#mountedOn.get(exp) ?? exp.root;
  }
}

const EMPTY: ReadonlyMap<string, Export> = new Map();

function isPseudo(x: PseudoNode | Export): x is PseudoNode {
  return (x as PseudoNode).children !== undefined;
}

function depth(path: string): number {
  return path === "/" ? 0 : path.split("/").length - 1;
}

function hashKey(fh: Uint8Array): string {
  let s = "";
  for (let i = 4; i < 12; i++) s += fh[i].toString(16).padStart(2, "0");
  return s;
}
