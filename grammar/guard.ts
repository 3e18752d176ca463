// Guards between the lexer and the parser, and after the AST is built. They keep every later stage (a
// recursive-descent parser, a recursive checker and lowering) on bounded trees and turn the classic
// recovery traps into one diagnostic each:
//  - bracket groups nested deeper than MAX_NESTING become one `TooDeep` token, reported at the opening
//    bracket; a run of more than MAX_NESTING `-` signs is cut the same way;
//  - an expression tree deeper than MAX_EXPR_DEPTH (a chain of 10,000 `/` is 10,000 levels deep) becomes
//    an error node, reported once per declaration;
//  - a `{`, `[` or `(` still open where a top-level declaration starts at column 1 (or at the end of the
//    file) is closed there, with one diagnostic at the place the closer is needed and a note at each
//    opening: without it the parser would report a cascade at every later declaration;
//  - an unterminated string is reported at its opening quote and read as if it were closed.
import { createTokenInstance, type IToken, type TokenType } from "chevrotain";
import type { Module, Span } from "./ast.js";
import type { AstBuilder, SyntaxProblem } from "./build-ast.js";
import * as T from "./tokens.js";

/** Brackets inside brackets; no real spec comes near it (the standard library needs 3). */
export const MAX_NESTING = 64;
/** Levels of the expression tree, counting each operator of a chain and each bracket. */
export const MAX_EXPR_DEPTH = 256;

const CLOSER = new Map<TokenType, TokenType>([
  [T.LCurly, T.RCurly],
  [T.LBracket, T.RBracket],
  [T.LParen, T.RParen],
]);
const OPENER_OF = new Map<TokenType, TokenType>([
  [T.RCurly, T.LCurly],
  [T.RBracket, T.LBracket],
  [T.RParen, T.LParen],
]);
const DECL_KEYWORDS = new Set<TokenType>([T.Schema, T.Enum, T.TypeKw, T.Let]);

/** A token at column 1 that can only start a top-level declaration (`let x`, `phase p {`, `import {`). */
function startsDeclaration(tokens: IToken[], i: number): boolean {
  const t = tokens[i]!,
    next = tokens[i + 1]?.tokenType,
    after = tokens[i + 2]?.tokenType;
  if (t.startColumn !== 1) return false;
  if (t.tokenType === T.Import) return next === T.LCurly || next === T.Star;
  if (DECL_KEYWORDS.has(t.tokenType)) return next === T.Identifier;
  return t.tokenType === T.Identifier && next === T.Identifier && (after === T.LCurly || after === T.Equals);
}

function synthetic(type: TokenType, image: string, at: IToken | undefined, start: number, end: number): IToken {
  const line = at?.endLine ?? 1,
    col = at?.endColumn ?? 1;
  return createTokenInstance(type, image, start, end, line, line, col, col);
}

export function guardTokens(tokens: IToken[], b: AstBuilder): { tokens: IToken[]; problems: SyntaxProblem[] } {
  const out: IToken[] = [];
  const problems: SyntaxProblem[] = [];
  const open: IToken[] = [];
  let minusRun = 0;

  const closeAll = (before: IToken | undefined): void => {
    if (open.length === 0) return;
    const last = out[out.length - 1];
    const at = last ? (last.endOffset ?? last.startOffset) + 1 : 0;
    const inner = open[open.length - 1]!;
    const closer = CLOSER.get(inner.tokenType)!;
    const closerImage = closer === T.RCurly ? "}" : closer === T.RBracket ? "]" : ")";
    const { line } = b.tokenSpan(inner);
    problems.push({
      code: "E0006",
      message: `expected \`${closerImage}\` to close the \`${inner.image}\` on line ${line}${before ? ", before the next declaration" : ", before the end of the file"}`,
      span: b.spanAt(at, at),
      notes: [...open].reverse().map((o) => ({ message: `\`${o.image}\` opened here`, span: b.tokenSpan(o) })),
    });
    while (open.length > 0) {
      const o = open.pop()!;
      const c = CLOSER.get(o.tokenType)!;
      out.push(synthetic(c, c === T.RCurly ? "}" : c === T.RBracket ? "]" : ")", last, at, at - 1));
    }
  };

  for (let i = 0; i < tokens.length; i++) {
    let t = tokens[i]!;
    if (open.length > 0 && startsDeclaration(tokens, i)) closeAll(t);

    if (t.tokenType === T.Minus) {
      if (++minusRun > MAX_NESTING) {
        if (minusRun === MAX_NESTING + 1)
          problems.push({ code: "E0004", message: `more than ${MAX_NESTING} \`-\` signs in a row`, span: b.tokenSpan(t) });
        continue;
      }
    } else minusRun = 0;

    if (t.tokenType === T.UnterminatedString) {
      problems.push({
        code: "E0003",
        message: 'unterminated string: add a closing `"` on the same line',
        span: b.spanAt(t.startOffset, t.startOffset + 1),
      });
      t = synthetic(T.StringLit, t.image + '"', t, t.startOffset, t.endOffset ?? t.startOffset);
      Object.assign(t, { startLine: tokens[i]!.startLine, startColumn: tokens[i]!.startColumn });
    }

    if (CLOSER.has(t.tokenType)) {
      if (open.length >= MAX_NESTING) {
        // Skip to the matching closer (or to where a declaration starts, or the end of the file).
        let depth = 0,
          j = i;
        for (; j < tokens.length; j++) {
          const u = tokens[j]!.tokenType;
          if (j > i && startsDeclaration(tokens, j)) {
            j--;
            break;
          }
          if (CLOSER.has(u)) depth++;
          else if (OPENER_OF.has(u) && --depth === 0) break;
        }
        j = Math.min(j, tokens.length - 1);
        const end = tokens[j]!;
        problems.push({
          code: "E0004",
          message: `brackets nested too deeply: more than ${MAX_NESTING} levels`,
          span: b.tokenSpan(t),
          notes: [{ message: "the outermost bracket", span: b.tokenSpan(open[0]!) }],
        });
        out.push(synthetic(T.TooDeep, t.image + "…", t, t.startOffset, end.endOffset ?? end.startOffset));
        i = j;
        continue;
      }
      open.push(t);
    } else {
      const opener = OPENER_OF.get(t.tokenType);
      if (opener) {
        // A mismatched closer is the parser's to report; close up to the bracket it matches, if any.
        const k = open.map((o) => o.tokenType).lastIndexOf(opener);
        if (k >= 0) open.length = k;
      }
    }
    out.push(t);
  }
  closeAll(undefined);
  return { tokens: out, problems };
}

type Node = { k: string; span: Span };
type Slot = [Record<string | number, unknown>, string | number];

/** Where the expression and type children of a node live (record fields and call arguments included). */
function slots(node: object, into: Slot[]): void {
  for (const [key, v] of Object.entries(node)) {
    if (key === "span" || key === "name" || key === "unit" || !v || typeof v !== "object") continue;
    if (Array.isArray(v)) {
      v.forEach((x: unknown, i) => {
        if (!x || typeof x !== "object") return;
        if ("k" in x) into.push([v as unknown as Record<number, unknown>, i]);
        else slots(x, into);
      });
    } else if ("k" in v) into.push([node as Record<string, unknown>, key]);
  }
}

/** Cut expression and type trees deeper than MAX_EXPR_DEPTH; iterative, so any depth is safe here. */
export function limitDepth(m: Module, b: AstBuilder): SyntaxProblem[] {
  const problems: SyntaxProblem[] = [];
  for (const d of m.decls) {
    let cutAt: number | undefined;
    const roots: Slot[] = [];
    slots(d, roots);
    const stack: { slot: Slot; depth: number }[] = roots.map((slot) => ({ slot, depth: 1 }));
    while (stack.length > 0) {
      const {
        slot: [holder, key],
        depth,
      } = stack.pop()!;
      const node = holder[key] as Node;
      if (depth > MAX_EXPR_DEPTH) {
        holder[key] = { k: "error", span: node.span };
        cutAt = Math.min(cutAt ?? Infinity, node.span.start);
        continue;
      }
      const children: Slot[] = [];
      slots(node, children);
      for (const c of children) stack.push({ slot: c, depth: depth + 1 });
    }
    // One report per declaration, where the cut part starts (for a chain, its first operand).
    if (cutAt !== undefined)
      problems.push({
        code: "E0004",
        message: `expression nested too deeply: more than ${MAX_EXPR_DEPTH} levels (each operator of a chain counts as one)`,
        span: b.spanAt(cutAt, cutAt + 1),
      });
  }
  return problems;
}
