// CST → AST. Recovery can leave any child missing, so every access here is defensive: a missing piece
// becomes an `error` node that later stages skip silently (the parser has already reported it).
import type { CstElement, CstNode, IToken } from "chevrotain";
import type * as A from "./ast.js";
import type { Span } from "./ast.js";

export interface SyntaxProblem {
  message: string;
  span: Span;
  /** The diagnostic code, where the message alone does not decide it. */
  code?: string;
  notes?: { message: string; span: Span }[];
}

type Children = Record<string, CstElement[] | undefined>;

function isToken(e: CstElement | undefined): e is IToken {
  return e !== undefined && (e as IToken).image !== undefined;
}

export class AstBuilder {
  readonly problems: SyntaxProblem[] = [];
  constructor(
    private readonly file: string,
    private readonly text: string,
    private readonly lineStarts: number[],
  ) {}

  // ---- spans ----

  /** Span from offsets, computing line/column from the file's line table (robust to NaN token data). */
  spanAt(start: number, end: number): Span {
    const s = Math.max(0, Math.min(start, this.text.length));
    const e = Math.max(s, Math.min(end, this.text.length));
    const [line, col] = this.position(s);
    const [endLine, endCol] = this.position(e);
    return { file: this.file, start: s, end: e, line, col, endLine, endCol };
  }

  position(offset: number): [number, number] {
    let lo = 0,
      hi = this.lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.lineStarts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return [lo + 1, offset - this.lineStarts[lo]! + 1];
  }

  tokenSpan(t: IToken): Span {
    if (!Number.isFinite(t.startOffset)) return this.spanAt(this.text.length, this.text.length);
    return this.spanAt(t.startOffset, (t.endOffset ?? t.startOffset) + 1);
  }

  nodeSpan(n: CstNode): Span {
    const loc = n.location;
    if (loc && Number.isFinite(loc.startOffset) && Number.isFinite(loc.endOffset))
      return this.spanAt(loc.startOffset, (loc.endOffset as number) + 1);
    // A recovered node: span its first real token, or fall back to the end of the file.
    const first = firstToken(n);
    return first ? this.tokenSpan(first) : this.spanAt(this.text.length, this.text.length);
  }

  join(a: Span, b: Span): Span {
    return this.spanAt(Math.min(a.start, b.start), Math.max(a.end, b.end));
  }

  // ---- helpers ----

  private tok(c: Children, key: string, i = 0): IToken | undefined {
    const e = c[key]?.[i];
    return isToken(e) && !e.isInsertedInRecovery ? e : undefined;
  }

  private node(c: Children, key: string, i = 0): CstNode | undefined {
    const e = c[key]?.[i];
    return e && !isToken(e) ? (e as CstNode) : undefined;
  }

  private nodes(c: Children, key: string): CstNode[] {
    return (c[key] ?? []).filter((e): e is CstNode => !isToken(e));
  }

  private tokens(c: Children, key: string): IToken[] {
    return (c[key] ?? []).filter((e): e is IToken => isToken(e) && !e.isInsertedInRecovery);
  }

  private ident(t: IToken | undefined, fallback: Span): A.Ident {
    return t ? { name: t.image, span: this.tokenSpan(t) } : { name: "", span: fallback };
  }

  // ---- module ----

  module(cst: CstNode): A.Module {
    const imports: A.ImportDecl[] = [];
    const decls: A.Decl[] = [];
    // Keep source order: imports and declarations are siblings under `file`.
    const items: { offset: number; node: CstNode }[] = [];
    for (const key of ["importDecl", "topDecl"])
      for (const n of this.nodes(cst.children, key)) items.push({ offset: n.location?.startOffset ?? 0, node: n });
    items.sort((a, b) => (a.offset || 0) - (b.offset || 0));
    for (const { node } of items) {
      if (node.name === "importDecl") {
        const imp = this.importDecl(node);
        if (imp) imports.push(imp);
      } else {
        const d = this.topDecl(node);
        if (d) decls.push(d);
      }
    }
    return { file: this.file, imports, decls, span: this.spanAt(0, this.text.length) };
  }

  private importDecl(n: CstNode): A.ImportDecl | undefined {
    const c = n.children;
    const pathTok = this.tok(c, "path");
    const span = this.nodeSpan(n);
    if (!pathTok) return undefined;
    const names = this.nodes(c, "importSpec")
      .map((s) => {
        const sc = s.children;
        const name = this.ident(this.tok(sc, "name"), this.nodeSpan(s));
        const aliasTok = this.tok(sc, "alias");
        return aliasTok ? { name, alias: this.ident(aliasTok, name.span) } : { name };
      })
      .filter((s) => s.name.name !== "");
    const nsTok = this.tok(c, "namespace");
    const decl: A.ImportDecl = { kind: "import", names, path: this.stringValue(pathTok), pathSpan: this.tokenSpan(pathTok), span };
    if (nsTok) decl.namespace = this.ident(nsTok, span);
    return decl;
  }

  private topDecl(n: CstNode): A.Decl | undefined {
    const c = n.children;
    const inner =
      this.node(c, "schemaDecl") ??
      this.node(c, "enumDecl") ??
      this.node(c, "letDecl") ??
      this.node(c, "typeDecl") ??
      this.node(c, "instanceDecl");
    if (!inner) return undefined;
    switch (inner.name) {
      case "schemaDecl":
        return this.schemaDecl(inner);
      case "enumDecl":
        return this.enumDecl(inner);
      case "letDecl":
        return this.letDecl(inner);
      case "typeDecl":
        return this.typeDecl(inner);
      default:
        return this.instanceDecl(inner);
    }
  }

  private schemaDecl(n: CstNode): A.SchemaDecl | undefined {
    const c = n.children;
    const nameTok = this.tok(c, "name");
    if (!nameTok) return undefined;
    const fields: A.SchemaField[] = [];
    for (const f of this.nodes(c, "schemaField")) {
      const fc = f.children;
      const nameT = this.tok(fc, "name");
      const typeN = this.node(fc, "typeExpr");
      if (!nameT) continue;
      const span = this.nodeSpan(f);
      const field: A.SchemaField = {
        name: this.ident(nameT, span),
        optional: this.tokens(fc, "Question").length > 0,
        type: typeN ? this.typeExpr(typeN) : { k: "error", span },
        span,
      };
      const def = this.node(fc, "fieldValue");
      if (def) field.default = this.fieldValue(def);
      fields.push(field);
    }
    return { kind: "schema", name: this.ident(nameTok, this.nodeSpan(n)), fields, span: this.nodeSpan(n) };
  }

  private enumDecl(n: CstNode): A.EnumDecl | undefined {
    const c = n.children;
    const nameTok = this.tok(c, "name");
    if (!nameTok) return undefined;
    const members = this.tokens(c, "member").map((t) => this.ident(t, this.nodeSpan(n)));
    return { kind: "enum", name: this.ident(nameTok, this.nodeSpan(n)), members, span: this.nodeSpan(n) };
  }

  private letDecl(n: CstNode): A.LetDecl | undefined {
    const c = n.children;
    const nameTok = this.tok(c, "name");
    const value = this.node(c, "fieldValue");
    if (!nameTok) return undefined;
    const span = this.nodeSpan(n);
    const decl: A.LetDecl = {
      kind: "let",
      name: this.ident(nameTok, span),
      value: value ? this.fieldValue(value) : { k: "error", span },
      span,
    };
    const type = this.node(c, "typeExpr");
    if (type) decl.type = this.typeExpr(type);
    return decl;
  }

  private typeDecl(n: CstNode): A.TypeDecl | undefined {
    const c = n.children;
    const nameTok = this.tok(c, "name");
    const typeN = this.node(c, "typeExpr");
    if (!nameTok) return undefined;
    const span = this.nodeSpan(n);
    return { kind: "type", name: this.ident(nameTok, span), type: typeN ? this.typeExpr(typeN) : { k: "error", span }, span };
  }

  private instanceDecl(n: CstNode): A.InstanceDecl | undefined {
    const c = n.children;
    const kindTok = this.tok(c, "kind");
    const nameTok = this.tok(c, "name");
    if (!kindTok || !nameTok) return undefined;
    const span = this.nodeSpan(n);
    const body = this.node(c, "instanceBody");
    let value: A.Expr = { k: "error", span };
    if (body) {
      const rec = this.node(body.children, "recordBody");
      const fv = this.node(body.children, "fieldValue");
      if (rec) {
        // `phase p { ... }` means `phase p = phase { ... }`: the kind is the schema being instantiated.
        const record = this.recordBody(rec);
        const kind = this.ident(kindTok, span);
        value = { k: "override", base: { k: "ref", name: kind, span: kind.span }, record, span: record.span };
      } else if (fv) value = this.fieldValue(fv);
    }
    return { kind: "instance", schema: this.ident(kindTok, span), name: this.ident(nameTok, span), value, span };
  }

  // ---- types ----

  private typeExpr(n: CstNode): A.TypeNode {
    const terms = this.nodes(n.children, "typeTerm").map((t) => this.typeTerm(t));
    if (terms.length === 0) return { k: "error", span: this.nodeSpan(n) };
    if (terms.length === 1) return terms[0]!;
    return { k: "union", options: terms, span: this.nodeSpan(n) };
  }

  private typeTerm(n: CstNode): A.TypeNode {
    const atomN = this.node(n.children, "typeAtom");
    const base: A.TypeNode = atomN ? this.typeAtom(atomN) : { k: "error", span: this.nodeSpan(n) };
    const constraints = this.nodes(n.children, "constraint")
      .map((c) => this.constraint(c))
      .filter((c): c is A.ConstraintNode => c !== undefined);
    if (constraints.length === 0) return base;
    return { k: "refined", base, constraints, span: this.nodeSpan(n) };
  }

  private typeAtom(n: CstNode): A.TypeNode {
    const c = n.children;
    const span = this.nodeSpan(n);
    const id = this.tok(c, "Identifier");
    if (id) return { k: "named", name: this.ident(id, span), span };
    const str = this.tok(c, "StringLit");
    if (str) return { k: "literal", value: this.stringValue(str), span };
    const inner = this.nodes(c, "typeExpr").map((t) => this.typeExpr(t));
    if (this.tokens(c, "LBracket").length > 0) return inner[0] ? { k: "list", elem: inner[0], span } : { k: "error", span };
    if (this.tokens(c, "LParen").length > 0) {
      if (inner.length === 1) return inner[0]!;
      return { k: "tuple", elems: inner, span };
    }
    return { k: "error", span };
  }

  private constraint(n: CstNode): A.ConstraintNode | undefined {
    const c = n.children;
    const span = this.nodeSpan(n);
    if (this.tokens(c, "Match").length > 0) {
      const s = this.tok(c, "StringLit");
      const r = this.tok(c, "RegexLit");
      if (s) return { op: "=~", value: this.stringValue(s), span };
      if (r) return { op: "=~", value: splitRegex(r.image).pattern, span };
      return undefined;
    }
    const opTok = this.tok(c, "GtEq") ?? this.tok(c, "LtEq") ?? this.tok(c, "Gt") ?? this.tok(c, "Lt") ?? this.tok(c, "NotEq");
    const numTok = this.tok(c, "IntLit") ?? this.tok(c, "FloatLit");
    if (!opTok || !numTok) return undefined;
    const sign = this.tokens(c, "Minus").length > 0 ? -1 : 1;
    return { op: opTok.image as A.ConstraintOp, value: sign * Number(numTok.image.replace(/_/g, "")), span };
  }

  // ---- values ----

  fieldValue(n: CstNode): A.Expr {
    const exprs = this.nodes(n.children, "expr").map((e) => this.expr(e));
    if (exprs.length === 0) return { k: "error", span: this.nodeSpan(n) };
    if (exprs.length === 1) return exprs[0]!;
    const items = exprs.filter((e): e is Extract<A.Expr, { k: "per" }> => e.k === "per");
    if (items.length !== exprs.length) return { k: "error", span: this.nodeSpan(n) };
    return { k: "perList", items, span: this.nodeSpan(n) };
  }

  recordBody(n: CstNode): A.RecordExpr {
    const fields: A.RecordField[] = [];
    for (const f of this.nodes(n.children, "recordField")) {
      const fc = f.children;
      const nameTok = this.tok(fc, "name");
      const valueN = this.node(fc, "fieldValue");
      if (!nameTok) continue;
      const span = this.nodeSpan(f);
      fields.push({ name: this.ident(nameTok, span), value: valueN ? this.fieldValue(valueN) : { k: "error", span }, span });
    }
    return { k: "record", fields, span: this.nodeSpan(n) };
  }

  private expr(n: CstNode): A.Expr {
    return this.binaryChain(n, "multiplicative", (m) => this.multiplicative(m));
  }

  private multiplicative(n: CstNode): A.Expr {
    return this.binaryChain(n, "unary", (u) => this.unary(u));
  }

  /** Left-associative chain: operands and operators are separate child arrays, ordered by offset. */
  private binaryChain(n: CstNode, operandKey: string, build: (c: CstNode) => A.Expr): A.Expr {
    const c = n.children;
    const operands = this.nodes(c, operandKey);
    if (operands.length === 0) return { k: "error", span: this.nodeSpan(n) };
    const ops = [...this.tokens(c, "Plus"), ...this.tokens(c, "Minus"), ...this.tokens(c, "Star"), ...this.tokens(c, "Slash")].sort(
      (a, b) => a.startOffset - b.startOffset,
    );
    let acc = build(operands[0]!);
    for (let i = 1; i < operands.length; i++) {
      const right = build(operands[i]!);
      const op = (ops[i - 1]?.image ?? "+") as "+" | "-" | "*" | "/";
      acc = { k: "binary", op, left: acc, right, span: this.join(acc.span, right.span) };
    }
    return acc;
  }

  private unary(n: CstNode): A.Expr {
    const c = n.children;
    const inner = this.node(c, "unary");
    const minus = this.tok(c, "Minus");
    if (minus) {
      const operand: A.Expr = inner ? this.unary(inner) : { k: "error", span: this.tokenSpan(minus) };
      // Fold `-literal` so that `-2` is a plain int literal with the minus inside its span.
      const span = this.join(this.tokenSpan(minus), operand.span);
      if (operand.k === "int" || operand.k === "float" || operand.k === "percent") return { ...operand, value: -operand.value, span };
      if (operand.k === "quantity") return { ...operand, value: -operand.value, span };
      return { k: "neg", operand, span };
    }
    const pf = this.node(c, "postfix");
    return pf ? this.postfix(pf) : { k: "error", span: this.nodeSpan(n) };
  }

  private postfix(n: CstNode): A.Expr {
    const c = n.children;
    const primN = this.node(c, "primary");
    let acc: A.Expr = primN ? this.primary(primN) : { k: "error", span: this.nodeSpan(n) };
    // Members, records and calls interleave in source order.
    const steps: { offset: number; apply: (e: A.Expr) => A.Expr }[] = [];
    const dots = this.tokens(c, "Dot");
    const members = this.tokens(c, "member");
    dots.forEach((d, i) => {
      const m = members[i];
      steps.push({
        offset: d.startOffset,
        apply: (e) =>
          m
            ? { k: "member", object: e, name: this.ident(m, this.tokenSpan(m)), span: this.join(e.span, this.tokenSpan(m)) }
            : { k: "error", span: this.join(e.span, this.tokenSpan(d)) },
      });
    });
    for (const r of this.nodes(c, "recordBody")) {
      steps.push({
        offset: r.location?.startOffset ?? 0,
        apply: (e) => {
          const record = this.recordBody(r);
          return { k: "override", base: e, record, span: this.join(e.span, record.span) };
        },
      });
    }
    for (const a of this.nodes(c, "callArgs")) {
      steps.push({
        offset: a.location?.startOffset ?? 0,
        apply: (e) => {
          const args = this.callArgs(a);
          return { k: "call", callee: e, args, span: this.join(e.span, this.nodeSpan(a)) };
        },
      });
    }
    // A bracket group cut off for depth (already reported) spoils the whole chain.
    for (const t of this.tokens(c, "TooDeep"))
      steps.push({ offset: t.startOffset, apply: (e) => ({ k: "error", span: this.join(e.span, this.tokenSpan(t)) }) });
    steps.sort((a, b) => a.offset - b.offset);
    for (const s of steps) acc = s.apply(acc);
    return acc;
  }

  private callArgs(n: CstNode): A.CallArg[] {
    return this.nodes(n.children, "callArg").map((a) => {
      const c = a.children;
      const exprN = this.node(c, "expr");
      const span = this.nodeSpan(a);
      const arg: A.CallArg = { value: exprN ? this.expr(exprN) : { k: "error", span }, span };
      const nameTok = this.tok(c, "name");
      if (nameTok) arg.name = this.ident(nameTok, span);
      return arg;
    });
  }

  private primary(n: CstNode): A.Expr {
    const c = n.children;
    const span = this.nodeSpan(n);
    const num = this.node(c, "numberLit");
    if (num) return this.numberLit(num);
    let t: IToken | undefined;
    if ((t = this.tok(c, "Percent"))) {
      const v = Number(t.image.slice(0, -1).replace(/_/g, ""));
      return { k: "percent", value: v, span };
    }
    if ((t = this.tok(c, "StringLit"))) return { k: "string", value: this.stringValue(t), span };
    if ((t = this.tok(c, "UnterminatedString"))) {
      this.problems.push({ message: 'unterminated string: add a closing `"` on the same line', span: this.tokenSpan(t) });
      return { k: "error", span };
    }
    if ((t = this.tok(c, "RegexLit"))) {
      const { pattern, flags } = splitRegex(t.image);
      return { k: "regex", pattern, flags, span };
    }
    if (this.tok(c, "True")) return { k: "bool", value: true, span };
    if (this.tok(c, "False")) return { k: "bool", value: false, span };
    if (this.tok(c, "None")) return { k: "none", span };
    const list = this.node(c, "listLit");
    if (list) return { k: "list", items: this.nodes(list.children, "expr").map((e) => this.expr(e)), span };
    const paren = this.node(c, "parenExpr");
    if (paren) {
      const items = this.nodes(paren.children, "expr").map((e) => this.expr(e));
      const trailing = this.tokens(paren.children, "trailingComma").length > 0;
      if (items.length === 1 && !trailing) return items[0]!;
      return { k: "tuple", items, span };
    }
    const rec = this.node(c, "recordBody");
    if (rec) return this.recordBody(rec);
    if ((t = this.tok(c, "Identifier"))) return { k: "ref", name: this.ident(t, span), span };
    return { k: "error", span };
  }

  private numberLit(n: CstNode): A.Expr {
    const c = n.children;
    const span = this.nodeSpan(n);
    const intTok = this.tok(c, "IntLit");
    const floatTok = this.tok(c, "FloatLit");
    const numTok = intTok ?? floatTok;
    if (!numTok) return { k: "error", span };
    const numSpan = this.tokenSpan(numTok);
    const raw = numTok.image.replace(/_/g, "");
    const value = Number(raw);
    let lit: A.Expr;
    if (intTok) {
      if (!Number.isSafeInteger(value)) {
        this.problems.push({ message: `integer \`${clip(numTok.image)}\` is too large (the limit is 2^53 − 1)`, span: numSpan });
        return { k: "error", span };
      }
      lit = { k: "int", value, span: numSpan };
    } else {
      if (!Number.isFinite(value)) {
        this.problems.push({ message: `number \`${clip(numTok.image)}\` is out of range`, span: numSpan });
        return { k: "error", span };
      }
      lit = { k: "float", value, span: numSpan };
    }
    const perUnit = this.node(c, "perUnit");
    if (perUnit) {
      const u = this.tok(perUnit.children, "Identifier") ?? this.tok(perUnit.children, "MicroBatch");
      return u ? { k: "per", count: lit, unit: this.ident(u, this.tokenSpan(u)), span } : { k: "error", span };
    }
    const unit = this.node(c, "unit");
    if (unit) {
      const u = this.tok(unit.children, "Identifier") ?? this.tok(unit.children, "MicroBatch");
      if (u) return { k: "quantity", value, integral: intTok !== undefined, unit: this.ident(u, this.tokenSpan(u)), span };
    }
    return lit;
  }

  /** Decode a string literal's escapes; a bad escape is reported and kept verbatim. */
  stringValue(t: IToken): string {
    const body = t.image.slice(1, -1);
    if (!body.includes("\\")) return body;
    let out = "";
    for (let i = 0; i < body.length; i++) {
      const ch = body[i]!;
      if (ch !== "\\") {
        out += ch;
        continue;
      }
      const e = body[++i];
      switch (e) {
        case "n":
          out += "\n";
          break;
        case "t":
          out += "\t";
          break;
        case "r":
          out += "\r";
          break;
        case '"':
          out += '"';
          break;
        case "\\":
          out += "\\";
          break;
        case "u": {
          const m = /^\{([0-9a-fA-F]{1,6})\}|^([0-9a-fA-F]{4})/.exec(body.slice(i + 1));
          const cp = m ? parseInt(m[1] ?? m[2]!, 16) : NaN;
          if (m && cp <= 0x10ffff) {
            out += String.fromCodePoint(cp);
            i += m[0].length;
            break;
          }
          this.problems.push({
            message: "invalid unicode escape: write `\\u{1F600}` or `\\u00e9`",
            span: this.spanAt(t.startOffset + 1 + i - 1, t.startOffset + 2 + i),
          });
          out += "\\u";
          break;
        }
        default:
          this.problems.push({
            message: `unknown escape \`\\${e ?? ""}\` (use \\n, \\t, \\r, \\", \\\\ or \\u{...})`,
            span: this.spanAt(t.startOffset + i, t.startOffset + i + 2),
          });
          out += "\\" + (e ?? "");
      }
    }
    return out;
  }
}

/** A literal as a message quotes it: a 10 MB number is shown by its first digits. */
function clip(image: string): string {
  return image.length > 40 ? `${image.slice(0, 20)}… (${image.length} characters)` : image;
}

export function splitRegex(image: string): { pattern: string; flags: string } {
  const last = image.lastIndexOf("/");
  return { pattern: image.slice(1, last), flags: image.slice(last + 1) };
}

function firstToken(n: CstNode): IToken | undefined {
  let best: IToken | undefined;
  for (const list of Object.values(n.children)) {
    for (const e of list ?? []) {
      const t = isToken(e) ? e : firstToken(e as CstNode);
      if (t && Number.isFinite(t.startOffset) && (!best || t.startOffset < best.startOffset)) best = t;
    }
  }
  return best;
}
