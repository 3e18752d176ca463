// The abstract syntax of a .llava module. Every node carries the span of source it came from, so any
// later stage (checker, emitter, source map) can point back at the exact characters.

/** A half-open character range [start, end) in one file, with 1-based line/column of both ends. */
export interface Span {
  file: string;
  start: number;
  end: number;
  line: number;
  col: number;
  endLine: number;
  endCol: number;
}

export interface Ident {
  name: string;
  span: Span;
}

export interface Module {
  file: string;
  imports: ImportDecl[];
  decls: Decl[];
  span: Span;
}

export interface ImportDecl {
  kind: "import";
  /** `import { a, b as c } from "..."`: the named imports; empty for a namespace import. */
  names: { name: Ident; alias?: Ident }[];
  /** `import * as ns from "..."` */
  namespace?: Ident;
  path: string;
  pathSpan: Span;
  span: Span;
}

export type Decl = SchemaDecl | EnumDecl | LetDecl | TypeDecl | InstanceDecl;

export interface TypeDecl {
  kind: "type";
  name: Ident;
  type: TypeNode;
  doc?: string;
  span: Span;
}

export interface SchemaDecl {
  kind: "schema";
  name: Ident;
  fields: SchemaField[];
  doc?: string;
  span: Span;
}

export interface SchemaField {
  name: Ident;
  optional: boolean;
  type: TypeNode;
  default?: Expr;
  doc?: string;
  span: Span;
}

export interface EnumDecl {
  kind: "enum";
  name: Ident;
  members: Ident[];
  doc?: string;
  span: Span;
}

export interface LetDecl {
  kind: "let";
  name: Ident;
  type?: TypeNode;
  value: Expr;
  doc?: string;
  span: Span;
}

/** `<schema> <name> { fields }` or `<schema> <name> = expr`, e.g. `phase pretrain { ... }`. */
export interface InstanceDecl {
  kind: "instance";
  schema: Ident;
  name: Ident;
  value: Expr;
  doc?: string;
  span: Span;
}

export type TypeNode =
  | { k: "named"; name: Ident; span: Span }
  | { k: "list"; elem: TypeNode; span: Span }
  | { k: "tuple"; elems: TypeNode[]; span: Span }
  | { k: "union"; options: TypeNode[]; span: Span }
  | { k: "refined"; base: TypeNode; constraints: ConstraintNode[]; span: Span }
  | { k: "literal"; value: string; span: Span }
  | { k: "error"; span: Span };

export type ConstraintOp = ">=" | "<=" | ">" | "<" | "!=" | "=~";

export interface ConstraintNode {
  op: ConstraintOp;
  /** A number for comparisons, a pattern source for `=~`. */
  value: number | string;
  span: Span;
}

export interface RecordField {
  name: Ident;
  value: Expr;
  span: Span;
}

export type Expr =
  | { k: "int"; value: number; span: Span }
  | { k: "float"; value: number; span: Span }
  | { k: "percent"; value: number; span: Span }
  /** `66 steps`, `1 epoch`: a number with a unit word after it on the same line. */
  | { k: "quantity"; value: number; integral: boolean; unit: Ident; span: Span }
  | { k: "string"; value: string; span: Span }
  | { k: "regex"; pattern: string; flags: string; span: Span }
  | { k: "bool"; value: boolean; span: Span }
  | { k: "none"; span: Span }
  | { k: "list"; items: Expr[]; span: Span }
  | { k: "tuple"; items: Expr[]; span: Span }
  | { k: "record"; fields: RecordField[]; span: Span }
  | { k: "ref"; name: Ident; span: Span }
  | { k: "member"; object: Expr; name: Ident; span: Span }
  /** `base { fields }`: a schema instantiated, or an instance with some fields replaced. */
  | { k: "override"; base: Expr; record: Extract<Expr, { k: "record" }>; span: Span }
  | { k: "call"; callee: Expr; args: CallArg[]; span: Span }
  | { k: "binary"; op: "+" | "-" | "*" | "/"; left: Expr; right: Expr; span: Span }
  | { k: "neg"; operand: Expr; span: Span }
  /** `256 per step`: one term of a rate list. */
  | { k: "per"; count: Expr; unit: Ident; span: Span }
  /** `256 per step, 22 per micro-batch` */
  | { k: "perList"; items: Extract<Expr, { k: "per" }>[]; span: Span }
  /** Stands in for an expression the parser had to skip; never reported twice. */
  | { k: "error"; span: Span };

export type RecordExpr = Extract<Expr, { k: "record" }>;

export interface CallArg {
  name?: Ident;
  value: Expr;
  span: Span;
}
