// Front end of the compiler: text → tokens → CST (with recovery) → AST, plus every syntax problem found.
import type { IRecognitionException, IToken } from "chevrotain";
import type { Expr, Module, Span } from "./ast.js";
import { AstBuilder, type SyntaxProblem } from "./build-ast.js";
import { guardTokens, limitDepth } from "./guard.js";
import { sharedParser } from "./parser.js";
import { llavaLexer } from "./tokens.js";

export type { SyntaxProblem };
export * from "./ast.js";

export interface ParseResult {
  module: Module;
  /** Lexing and parsing problems, in source order; each has a span inside the file. */
  problems: (SyntaxProblem & { kind: "lex" | "parse" })[];
  comments: { text: string; span: Span }[];
}

export function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10) starts.push(i + 1);
    else if (c === 13) {
      if (text.charCodeAt(i + 1) === 10) i++;
      starts.push(i + 1);
    }
  }
  return starts;
}

/** Tokens per file. A spec or standard module has a few thousand; parsing costs memory per token (the CST),
 *  so a generated or hostile file of millions is refused at the first token over the limit. */
export const MAX_TOKENS = 200_000;

/** An upper bound on the token count, without building tokens: strings and comments count one, a word or
 *  number run one, any other character one (so it overcounts operators and regex literals at most ~3×).
 *  Returns the offset where the count passes `limit`, or -1. */
function tokenBoundOver(text: string, limit: number): number {
  let n = 0;
  for (let i = 0; i < text.length; ) {
    const c = text.charCodeAt(i);
    if (c === 32 || c === 9 || c === 10 || c === 13) {
      i++;
      continue;
    }
    if (++n > limit) return i;
    if (c === 34 /* " */) {
      i++;
      while (i < text.length) {
        const d = text.charCodeAt(i);
        if (d === 92) i += 2;
        else if (d === 34) {
          i++;
          break;
        } else if (d === 10 || d === 13) break;
        else i++;
      }
    } else if (c === 47 && text.charCodeAt(i + 1) === 47) {
      while (i < text.length && text.charCodeAt(i) !== 10) i++;
    } else if (c === 47 && text.charCodeAt(i + 1) === 42) {
      const end = text.indexOf("*/", i + 2);
      i = end < 0 ? text.length : end + 2;
    } else if (/[A-Za-z0-9_]/.test(text[i]!)) {
      while (i < text.length && /[A-Za-z0-9_]/.test(text[i]!)) i++;
    } else i++;
  }
  return -1;
}

export function parse(text: string, file: string): ParseResult {
  const builder = new AstBuilder(file, text, lineStarts(text));
  const tooMany = (at: number, count: string): ParseResult => {
    const message = `this file has ${count} tokens; a source file may have at most ${MAX_TOKENS.toLocaleString("en-US")} (a spec has a few thousand)`;
    return {
      module: { file, imports: [], decls: [], span: builder.spanAt(0, text.length) },
      problems: [{ kind: "parse", code: "E0008", message, span: builder.spanAt(at, at + 1) }],
      comments: [],
    };
  };
  // Lexing millions of tokens costs gigabytes before any exact count; the cheap bound refuses those first.
  const over = tokenBoundOver(text, 3 * MAX_TOKENS);
  if (over >= 0) return tooMany(over, `more than ${(3 * MAX_TOKENS).toLocaleString("en-US")}`);
  const lexed = llavaLexer.tokenize(text);
  if (lexed.tokens.length > MAX_TOKENS) return tooMany(lexed.tokens[MAX_TOKENS]!.startOffset, lexed.tokens.length.toLocaleString("en-US"));
  const problems: ParseResult["problems"] = [];

  // Merge runs of bad characters into one problem each.
  for (const e of lexed.errors) {
    const span = builder.spanAt(e.offset, e.offset + Math.max(1, e.length));
    const chars = text.slice(e.offset, e.offset + Math.max(1, e.length));
    const shown = chars.length > 12 ? chars.slice(0, 12) + "…" : chars;
    problems.push({ kind: "lex", message: `unexpected character${chars.length > 1 ? "s" : ""} \`${shown.replace(/\s/g, " ")}\``, span });
  }

  for (const t of lexed.groups["comments"] ?? []) {
    if (t.tokenType.name === "UnterminatedComment")
      problems.push({
        kind: "lex",
        code: "E0005",
        message: "unterminated comment: this `/*` has no closing `*/`",
        span: builder.spanAt(t.startOffset, t.startOffset + 2),
      });
  }

  const guarded = guardTokens(lexed.tokens, builder);
  for (const p of guarded.problems) problems.push({ kind: "parse", ...p });
  const parser = sharedParser();
  parser.input = guarded.tokens;
  const cst = parser.file();
  for (const e of parser.errors) problems.push({ kind: "parse", message: e.message, span: errorSpan(e, builder, text) });

  const module = builder.module(cst);
  for (const p of builder.problems) problems.push({ kind: "parse", ...p });
  for (const p of limitDepth(module, builder)) problems.push({ kind: "parse", ...p });
  problems.sort((a, b) => a.span.start - b.span.start);

  const comments = (lexed.groups["comments"] ?? []).map((t: IToken) => ({ text: t.image, span: builder.tokenSpan(t) }));
  return { module, problems: dedupe(problems), comments };
}

export interface ValueParseResult {
  value: Expr;
  problems: (SyntaxProblem & { kind: "lex" | "parse" })[];
}

/**
 * One value (what follows `field =` in a spec) from `text.slice(start)`, with spans into the whole of
 * `text`: a command-line `--set path=value` is shown as its own line, the caret under the value.
 */
export function parseValue(text: string, file: string, start = 0): ValueParseResult {
  const builder = new AstBuilder(file, text, lineStarts(text));
  // Blanks in place of the prefix keep the lexer's offsets those of `text`.
  const lexed = llavaLexer.tokenize(text.slice(0, start).replace(/[^\r\n]/g, " ") + text.slice(start));
  const problems: ValueParseResult["problems"] = [];
  for (const e of lexed.errors) {
    const chars = text.slice(e.offset, e.offset + Math.max(1, e.length));
    problems.push({
      kind: "lex",
      message: `unexpected character${chars.length > 1 ? "s" : ""} \`${chars.length > 12 ? chars.slice(0, 12) + "…" : chars}\``,
      span: builder.spanAt(e.offset, e.offset + Math.max(1, e.length)),
    });
  }
  const parser = sharedParser();
  parser.input = lexed.tokens;
  const cst = parser.fieldValue();
  for (const e of parser.errors) {
    const message =
      e.name === "NotAllInputParsedException"
        ? `unexpected ${e.token.image ? "`" + e.token.image + "`" : "text"} after the value`
        : e.message;
    problems.push({ kind: "parse", message, span: errorSpan(e, builder, text) });
  }
  if (lexed.tokens.length === 0)
    problems.push({ kind: "parse", message: "expected a value, found nothing", span: builder.spanAt(text.length, text.length) });
  const value = builder.fieldValue(cst);
  for (const p of builder.problems) problems.push({ kind: "parse", ...p });
  problems.sort((a, b) => a.span.start - b.span.start);
  return { value, problems: dedupe(problems) };
}

/** The place to point at: the offending token, or just after the last good one when it was at EOF. */
function errorSpan(e: IRecognitionException, b: AstBuilder, text: string): Span {
  const t = e.token;
  if (t && Number.isFinite(t.startOffset) && t.tokenType?.name !== "EOF") return b.tokenSpan(t);
  const prev = (e as IRecognitionException & { previousToken?: IToken }).previousToken;
  if (prev && Number.isFinite(prev.endOffset)) {
    const at = (prev.endOffset as number) + 1;
    return b.spanAt(at, at);
  }
  return b.spanAt(text.length, text.length);
}

function dedupe<T extends { message: string; span: Span }>(ps: T[]): T[] {
  const seen = new Set<string>();
  return ps.filter((p) => {
    const key = `${p.span.start}:${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
