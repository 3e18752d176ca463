// The TextMate grammar of .llava (editors/vscode/syntaxes/llava.tmLanguage.json), derived from the
// lexer's token definitions (grammar/tokens.ts) and the unit words (compiler/evaluation.ts), so the
// highlighting cannot drift from the language: a new keyword token without a scope here fails the build
// of the grammar, and test/textmate.test.ts checks the committed file is this function's output.
//   npx tsx tools/textmate-grammar.ts && npx biome format --write editors/vscode/syntaxes   (rewrites the committed grammar)
import { writeFileSync } from "node:fs";
import path from "node:path";
import type { TokenType } from "chevrotain";
import * as T from "../grammar/tokens.js";
import { UNITS } from "../compiler/evaluation.js";

export const GRAMMAR_FILE = path.resolve(import.meta.dirname, "../editors/vscode/syntaxes/llava.tmLanguage.json");

/** The scope of each keyword token; every token that is a keyword in the lexer must have one. */
const KEYWORD_SCOPES: Record<string, string> = {
  Import: "keyword.control.import.llava",
  From: "keyword.control.import.llava",
  As: "keyword.control.import.llava",
  Schema: "storage.type.schema.llava",
  Enum: "storage.type.enum.llava",
  Let: "storage.type.let.llava",
  Type: "storage.type.type.llava",
  True: "constant.language.boolean.llava",
  False: "constant.language.boolean.llava",
  None: "constant.language.none.llava",
  Per: "keyword.operator.per.llava",
  MicroBatch: "keyword.other.unit.llava",
};

/** The lexer's keyword tokens: words that are also a `Name` (so fields may use them), other than Identifier. */
export function keywordTokens(): TokenType[] {
  return T.allTokens.filter((t) => t !== T.Identifier && (t.CATEGORIES ?? []).includes(T.Name));
}

/** The literal word a keyword token matches (`micro-batch`, `import`). */
export function keywordWord(t: TokenType): string {
  const src = (t.PATTERN as RegExp).source;
  return src.replace(/\(\?!\[A-Za-z0-9_\]\)$/, "");
}

const esc = (w: string) => w.replace(/[-]/g, "\\-");
// Numbers never start inside a word (`clip_vit_l14_336`) or after a dot, and never run into one.
const number = (t: TokenType) => `(?<![\\w.])${(t.PATTERN as RegExp).source}(?![\\w.%])`;

export function textmateGrammar(): Record<string, unknown> {
  const keywords = keywordTokens();
  const missing = keywords.filter((t) => !KEYWORD_SCOPES[t.name]);
  if (missing.length) throw new Error(`no TextMate scope for keyword token(s) ${missing.map((t) => t.name).join(", ")}`);
  const byScope = new Map<string, string[]>();
  for (const t of keywords) byScope.set(KEYWORD_SCOPES[t.name]!, [...(byScope.get(KEYWORD_SCOPES[t.name]!) ?? []), keywordWord(t)]);
  const units = [...Object.keys(UNITS), keywordWord(T.MicroBatch)].sort((a, b) => b.length - a.length).map(esc);
  const word = "[A-Za-z_][A-Za-z0-9_]*";
  const declWords = [T.Schema, T.Enum, T.Let, T.TypeKw].map(keywordWord);
  return {
    $schema: "https://raw.githubusercontent.com/martinring/tmlanguage/master/tmlanguage.json",
    name: "llava",
    scopeName: "source.llava",
    fileTypes: ["llava"],
    patterns: [
      { include: "#comments" },
      { include: "#strings" },
      { include: "#regex" },
      { include: "#declarations" },
      { include: "#numbers" },
      { include: "#units" },
      { include: "#fields" },
      { include: "#keywords" },
      { include: "#operators" },
    ],
    repository: {
      comments: {
        patterns: [
          { name: "comment.line.double-slash.llava", match: (T.LineComment.PATTERN as RegExp).source },
          { name: "comment.block.llava", begin: "/\\*", end: "\\*/" },
        ],
      },
      strings: {
        patterns: [
          {
            name: "string.quoted.double.llava",
            begin: '"',
            end: '"|$',
            patterns: [{ name: "constant.character.escape.llava", match: "\\\\." }],
          },
        ],
      },
      regex: {
        // A `/` starts a regex literal where an operand is expected (after `=`, `[`, `,`, `(`, `:` or `=~`),
        // and is division after an operand, as the lexer decides (grammar/tokens.ts matchRegex).
        patterns: [
          {
            match: "(?<=[=\\[,(:~])\\s*(/(?![/*])(?:\\\\.|\\[(?:\\\\.|[^\\]\\\\\\n])*\\]|[^/\\\\\\[\\n])+/[a-z]*)",
            captures: { "1": { name: "string.regexp.llava" } },
          },
        ],
      },
      declarations: {
        patterns: [
          {
            match: `^\\s*(${declWords.join("|")})\\s+(${word})`,
            captures: { "1": { name: "storage.type.llava" }, "2": { name: "entity.name.type.llava" } },
          },
          {
            // `phase pretrain {`, `model llava_7b {`, `cerebras cluster {`: an instance of a schema.
            match: `^(${word})\\s+(${word})\\s*(?=[{=])`,
            captures: { "1": { name: "entity.name.type.schema.llava" }, "2": { name: "entity.name.instance.llava" } },
          },
        ],
      },
      numbers: {
        patterns: [
          { name: "constant.numeric.percent.llava", match: number(T.Percent) },
          { name: "constant.numeric.float.llava", match: number(T.FloatLit) },
          { name: "constant.numeric.integer.llava", match: number(T.IntLit) },
        ],
      },
      units: {
        // `1 epoch`, `66 steps`, `22 per micro-batch`: the unit word after a number or `per`.
        patterns: [{ match: `(?<=\\d|\\bper)\\s+(${units.join("|")})(?![\\w-])`, captures: { "1": { name: "keyword.other.unit.llava" } } }],
      },
      fields: {
        // A field's name before its `:` or `=` (keywords may name fields: `from = pretrain(...)`).
        patterns: [
          {
            match: `(?:^|(?<=[{,]))\\s*(${word})\\s*(?=[:=](?![=~]))`,
            captures: { "1": { name: "variable.other.property.llava" } },
          },
        ],
      },
      keywords: {
        patterns: [...byScope].map(([name, words]) => ({ name, match: `(?<![\\w-])(?:${words.map(esc).join("|")})(?![\\w-])` })),
      },
      operators: {
        patterns: [
          { name: "keyword.operator.comparison.llava", match: "=~|==|!=|>=|<=|>|<" },
          { name: "keyword.operator.type.llava", match: "[|&?]" },
          { name: "keyword.operator.arithmetic.llava", match: "[-+*/]" },
          { name: "keyword.operator.assignment.llava", match: "=" },
        ],
      },
    },
  };
}

export function grammarText(): string {
  return JSON.stringify(textmateGrammar(), null, 2) + "\n";
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  writeFileSync(GRAMMAR_FILE, grammarText());
  process.stdout.write(`wrote ${path.relative(process.cwd(), GRAMMAR_FILE)}\n`);
}
