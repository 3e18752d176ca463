// The scanner of the .llava language: chevrotain token types and the lexer built from them.
//
// Two tokens need context a regular expression cannot see:
//  - `/` starts a regex literal where an operand is expected (`freeze = [/^image_model/]`) and is the
//    division/path-join operator after an operand (`env("D", ".") / "images"`);
//  - keywords are reserved only where the grammar needs them: every keyword is also a `Name`, so a
//    record may still have fields called `from`, `as` or `per`.
import { createToken, Lexer, type CustomPatternMatcherFunc, type IToken, type TokenType } from "chevrotain";

export const WhiteSpace = createToken({ name: "WhiteSpace", pattern: /[ \t\r\n\uFEFF]+/, group: Lexer.SKIPPED, line_breaks: true });
export const LineComment = createToken({ name: "LineComment", pattern: /\/\/[^\n\r]*/, group: "comments" });
export const BlockComment = createToken({ name: "BlockComment", pattern: /\/\*[\s\S]*?\*\//, group: "comments", line_breaks: true });
// A `/*` without its `*/` swallows the rest of the file; parse() names it at its opening.
export const UnterminatedComment = createToken({
  name: "UnterminatedComment",
  pattern: /\/\*[\s\S]*/,
  group: "comments",
  line_breaks: true,
});

// Every word that can name a field. Keywords carry this category so field positions accept them.
export const Name = createToken({ name: "Name", pattern: Lexer.NA });
export const Identifier = createToken({ name: "Identifier", pattern: /[A-Za-z_][A-Za-z0-9_]*/, categories: [Name] });

function keyword(word: string): TokenType {
  return createToken({
    name: word[0]!.toUpperCase() + word.slice(1),
    pattern: new RegExp(word + "(?![A-Za-z0-9_])"),
    longer_alt: Identifier,
    categories: [Name],
  });
}
export const Import = keyword("import");
export const From = keyword("from");
export const As = keyword("as");
export const Schema = keyword("schema");
export const Enum = keyword("enum");
export const Let = keyword("let");
export const TypeKw = keyword("type");
export const True = keyword("true");
export const False = keyword("false");
export const None = keyword("none");
export const Per = keyword("per");

// `micro-batch` is a unit word; without its own token the hyphen would read as a minus.
export const MicroBatch = createToken({
  name: "MicroBatch",
  pattern: /micro-batch(?![A-Za-z0-9_])/,
  longer_alt: Identifier,
  categories: [Name],
});

// Written as the "unrolled loop" (`[^"\\]*(?:\\.[^"\\]*)*`): an alternation under `*` backtracks per
// character and overflows the regex engine's stack on a multi-megabyte literal.
export const StringLit = createToken({ name: "StringLit", pattern: /"[^"\\\r\n]*(?:\\.[^"\\\r\n]*)*"/ });
export const UnterminatedString = createToken({ name: "UnterminatedString", pattern: /"[^"\\\r\n]*(?:\\.[^"\\\r\n]*)*/ });
export const Percent = createToken({ name: "Percent", pattern: /\d[\d_]*(?:\.\d[\d_]*)?(?:[eE][+-]?\d+)?%/ });
export const FloatLit = createToken({ name: "FloatLit", pattern: /\d[\d_]*(?:\.\d[\d_]*(?:[eE][+-]?\d+)?|[eE][+-]?\d+)/ });
export const IntLit = createToken({ name: "IntLit", pattern: /\d[\d_]*/ });

/** The tokens after which `/` is an operator (and `-` is binary): they end an operand. */
export const OPERAND_ENDS = new Set([
  "Identifier",
  "StringLit",
  "FloatLit",
  "IntLit",
  "Percent",
  "RParen",
  "RBracket",
  "RCurly",
  "True",
  "False",
  "None",
  "RegexLit",
]);

// A regex literal: `/body/flags`, on one line, with `\/` and `[...]` classes able to hold `/`.
const matchRegex: CustomPatternMatcherFunc = (text, offset, tokens) => {
  if (text.charCodeAt(offset) !== 47 /* / */) return null;
  const next = text.charCodeAt(offset + 1);
  if (next === 47 || next === 42) return null; // `//` or `/*` is a comment
  const prev = tokens.length > 0 ? tokens[tokens.length - 1]! : undefined;
  if (prev && OPERAND_ENDS.has(prev.tokenType.name)) return null;
  let i = offset + 1;
  let inClass = false;
  for (; i < text.length; i++) {
    const c = text[i]!;
    if (c === "\n" || c === "\r") return null;
    if (c === "\\") {
      i++;
      continue;
    }
    if (c === "[") inClass = true;
    else if (c === "]") inClass = false;
    else if (c === "/" && !inClass) break;
  }
  if (i >= text.length) return null;
  i++;
  while (i < text.length && /[a-z]/.test(text[i]!)) i++;
  const match = [text.slice(offset, i)] as unknown as RegExpExecArray;
  return match;
};
export const RegexLit = createToken({ name: "RegexLit", pattern: { exec: matchRegex }, line_breaks: false, start_chars_hint: ["/"] });

export const LCurly = createToken({ name: "LCurly", pattern: /{/ });
export const RCurly = createToken({ name: "RCurly", pattern: /}/ });
export const LBracket = createToken({ name: "LBracket", pattern: /\[/ });
export const RBracket = createToken({ name: "RBracket", pattern: /]/ });
export const LParen = createToken({ name: "LParen", pattern: /\(/ });
export const RParen = createToken({ name: "RParen", pattern: /\)/ });
export const Comma = createToken({ name: "Comma", pattern: /,/ });
export const Colon = createToken({ name: "Colon", pattern: /:/ });
export const Dot = createToken({ name: "Dot", pattern: /\./ });
export const Question = createToken({ name: "Question", pattern: /\?/ });
export const Pipe = createToken({ name: "Pipe", pattern: /\|/ });
export const Amp = createToken({ name: "Amp", pattern: /&/ });
export const Match = createToken({ name: "Match", pattern: /=~/ });
export const EqEq = createToken({ name: "EqEq", pattern: /==/ });
export const NotEq = createToken({ name: "NotEq", pattern: /!=/ });
export const GtEq = createToken({ name: "GtEq", pattern: />=/ });
export const LtEq = createToken({ name: "LtEq", pattern: /<=/ });
export const Gt = createToken({ name: "Gt", pattern: />/ });
export const Lt = createToken({ name: "Lt", pattern: /</ });
export const Equals = createToken({ name: "Equals", pattern: /=/ });
export const Plus = createToken({ name: "Plus", pattern: /\+/ });
export const Minus = createToken({ name: "Minus", pattern: /-/ });
export const Star = createToken({ name: "Star", pattern: /\*/ });
export const Slash = createToken({ name: "Slash", pattern: /\// });
// Never lexed: parse() puts one in place of a bracket group nested deeper than the limit (reported once),
// so the parser and every later stage see a bounded tree.
export const TooDeep = createToken({ name: "TooDeep", pattern: Lexer.NA });

// Order matters: comments before `/`, regex before `/`, longer operators before their prefixes,
// Percent and FloatLit before IntLit, keywords before Identifier.
export const allTokens: TokenType[] = [
  WhiteSpace,
  LineComment,
  BlockComment,
  UnterminatedComment,
  StringLit,
  UnterminatedString,
  RegexLit,
  Percent,
  FloatLit,
  IntLit,
  Import,
  From,
  As,
  Schema,
  Enum,
  Let,
  TypeKw,
  True,
  False,
  None,
  Per,
  MicroBatch,
  Identifier,
  Name,
  LCurly,
  RCurly,
  LBracket,
  RBracket,
  LParen,
  RParen,
  Comma,
  Colon,
  Dot,
  Question,
  Pipe,
  Amp,
  Match,
  EqEq,
  NotEq,
  GtEq,
  LtEq,
  Gt,
  Lt,
  Equals,
  Plus,
  Minus,
  Star,
  Slash,
  TooDeep,
];

export const llavaLexer = new Lexer(allTokens, { positionTracking: "full", ensureOptimizations: false, skipValidations: true });

export type Token = IToken;
