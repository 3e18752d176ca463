// `llavac fmt`: the one layout of a .llava file. Line breaks carry meaning in the language (a unit word
// belongs to the number on its line, fields end at a newline), so the formatter never joins or splits
// lines: it keeps every token and comment on its line and sets only the spaces. Indentation is two spaces
// per line that opens brackets, the `=` of consecutive `name = value` fields of a block line up (as the
// examples write them), trailing comments of consecutive lines share a column, and blank lines collapse
// to one. Tokens are never added, removed or reordered, so the AST is the one of the input.
import type { IToken } from "chevrotain";
import { parse } from "../grammar/index.js";
import { llavaLexer, OPERAND_ENDS } from "../grammar/tokens.js";
import { DiagnosticBag, renderDiagnostic, type Diagnostic } from "./diagnostics.js";
import { problemCode } from "./modules.js";

/** A file that does not parse: the syntax diagnostics `check` would give, rendered as `check` prints them. */
export class FormatError extends Error {
  constructor(
    readonly file: string,
    readonly diagnostics: Diagnostic[],
    text: string,
  ) {
    const sources = { text: (f: string) => (f === file ? text : undefined), display: (f: string) => f };
    super(diagnostics.map((d) => renderDiagnostic(d, sources)).join("\n\n"));
    this.name = "FormatError";
  }
}

const OPENERS = new Set(["LCurly", "LBracket", "LParen"]);
const CLOSERS = new Set(["RCurly", "RBracket", "RParen"]);
const isComment = (t: IToken) => t.tokenType.name === "LineComment" || t.tokenType.name === "BlockComment";

/** Whether a space goes between two tokens of one line. */
function spaced(prev: IToken, next: IToken, prevPrev: IToken | undefined): boolean {
  const p = prev.tokenType.name,
    n = next.tokenType.name;
  if (isComment(prev) || isComment(next)) return true;
  if (p === "LParen" || p === "LBracket" || p === "Dot") return false;
  if (n === "RParen" || n === "RBracket" || n === "Comma" || n === "Colon" || n === "Question" || n === "Dot") return false;
  if (p === "LCurly" && n === "RCurly") return false;
  // A call: `env("X")`, `pretrain(states: model)`.
  if (n === "LParen" && prev.tokenType.CATEGORIES?.some((c) => c.name === "Name")) return false;
  // A unary minus sticks to its operand.
  if (p === "Minus" && !(prevPrev && OPERAND_ENDS.has(prevPrev.tokenType.name))) return false;
  return true;
}

interface Open {
  inner: number;
  outer: number;
  kind: string;
}

interface Line {
  tokens: IToken[];
  level: number;
  parent: Open | undefined;
  blankBefore: boolean;
  /** The code, without a trailing comment. */
  code: string;
  comment?: string;
  multiline: boolean;
}

export function formatSource(text: string, file = "<input>"): string {
  const parsed = parse(text, file);
  if (parsed.problems.length > 0) {
    const bag = new DiagnosticBag();
    for (const p of parsed.problems) bag.error(problemCode(p), p.message, p.span, p.notes ? { notes: p.notes } : {});
    throw new FormatError(file, bag.sorted(), text);
  }
  const lexed = llavaLexer.tokenize(text);
  const all = [...lexed.tokens, ...(lexed.groups["comments"] ?? [])].sort((a, b) => a.startOffset - b.startOffset);
  if (all.length === 0) return "";

  // Logical lines: tokens that share a source line (a multi-line block comment joins its two ends).
  const groups: { tokens: IToken[]; blankBefore: boolean }[] = [];
  let prevEnd = 0;
  for (const t of all) {
    const last = groups[groups.length - 1];
    if (last && t.startLine === prevEnd) last.tokens.push(t);
    else groups.push({ tokens: [t], blankBefore: last !== undefined && t.startLine! - prevEnd >= 2 });
    prevEnd = t.endLine!;
  }

  const stack: Open[] = [];
  const lines: Line[] = groups.map((g) => {
    const first = g.tokens[0]!;
    const top = stack[stack.length - 1];
    const level = CLOSERS.has(first.tokenType.name) && top ? top.outer : (top?.inner ?? 0);
    const parent = top;
    let openedHere: Open | undefined;
    for (const t of g.tokens) {
      const k = t.tokenType.name;
      if (OPENERS.has(k)) {
        const shared = openedHere && stack.includes(openedHere) ? openedHere.inner : level + 1;
        openedHere = { inner: shared, outer: level, kind: k };
        stack.push(openedHere);
      } else if (CLOSERS.has(k)) stack.pop();
    }
    const last = g.tokens[g.tokens.length - 1]!;
    const trailing = g.tokens.length > 1 && isComment(last) && !last.image.includes("\n") ? last : undefined;
    const codeTokens = trailing ? g.tokens.slice(0, -1) : g.tokens;
    let code = "";
    codeTokens.forEach((t, i) => {
      const image = t.tokenType.name === "LineComment" ? t.image.trimEnd() : t.image;
      code += i === 0 ? image : (spaced(codeTokens[i - 1]!, t, codeTokens[i - 2]) ? " " : "") + image;
    });
    return {
      tokens: codeTokens,
      level,
      parent,
      blankBefore: g.blankBefore,
      code,
      ...(trailing ? { comment: trailing.image.trimEnd() } : {}),
      multiline: g.tokens.some((t) => t.image.includes("\n")),
    };
  });

  alignFields(lines);
  const indented = lines.map((l) => "  ".repeat(l.level) + l.code);
  alignComments(lines, indented);
  let out = "";
  lines.forEach((l, i) => {
    if (l.blankBefore) out += "\n";
    out += (indented[i] + (l.comment !== undefined ? l.comment : "")).trimEnd() + "\n";
  });
  return out;
}

const isField = (l: Line) =>
  l.parent?.kind === "LCurly" &&
  !l.multiline &&
  l.tokens.length >= 3 &&
  l.tokens[0]!.tokenType.CATEGORIES?.some((c) => c.name === "Name") === true &&
  l.tokens[1]!.tokenType.name === "Equals";
const isCommentOnly = (l: Line) => l.tokens.length === 1 && isComment(l.tokens[0]!) && l.comment === undefined;

/** The `=` of consecutive `name = value` lines of one block (comment lines between them included) line up;
 *  the lines of a multi-line value (deeper, or the line closing it) belong to their field. */
function alignFields(lines: Line[]): void {
  const runs = new Map<Open | undefined, Line[]>();
  const flush = (parent: Open | undefined) => {
    const run = runs.get(parent)!;
    runs.delete(parent);
    const width = Math.max(...run.map((l) => l.tokens[0]!.image.length));
    for (const l of run) l.code = l.tokens[0]!.image.padEnd(width) + l.code.slice(l.tokens[0]!.image.length);
  };
  for (const l of lines) {
    for (const [parent, run] of runs) {
      const head = run[0]!;
      const inside = l.level > head.level || (CLOSERS.has(l.tokens[0]!.tokenType.name) && l.parent !== parent);
      if (l.blankBefore || (!inside && !((isField(l) || isCommentOnly(l)) && l.parent === parent))) flush(parent);
    }
    if (isField(l)) runs.set(l.parent, [...(runs.get(l.parent) ?? []), l]);
  }
  for (const parent of [...runs.keys()]) flush(parent);
}

/** Trailing comments of consecutive lines start in one column, two spaces after the longest code. */
function alignComments(lines: Line[], indented: string[]): void {
  let run: number[] = [];
  const flush = () => {
    const column = Math.max(...run.map((i) => indented[i]!.length)) + 2;
    for (const i of run) indented[i] = indented[i]!.padEnd(column);
    run = [];
  };
  lines.forEach((l, i) => {
    if (run.length > 0 && (l.blankBefore || l.comment === undefined || l.multiline)) flush();
    if (l.comment !== undefined && !l.multiline) run.push(i);
  });
  if (run.length > 0) flush();
}
