// The VS Code extension's TextMate grammar against the language's own lexer: every example and standard
// library file is tokenized by vscode-textmate (with the Oniguruma engine VS Code uses) and by the
// chevrotain lexer, and each lexer token must carry the scope of its kind in the editor.
import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import type { IToken } from "chevrotain";
import { beforeAll, describe, expect, it } from "vitest";
import * as oniguruma from "vscode-oniguruma";
import * as vsctm from "vscode-textmate";
import { llavaLexer } from "../grammar/tokens.js";
import { UNITS } from "../compiler/evaluation.js";
import { GRAMMAR_FILE, grammarText, keywordTokens } from "../tools/textmate-grammar.js";
import { ROOT } from "./helpers.js";

let grammar: vsctm.IGrammar;

beforeAll(async () => {
  const wasm = readFileSync(path.join(path.dirname(createRequire(import.meta.url).resolve("vscode-oniguruma")), "onig.wasm"));
  await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
  const registry = new vsctm.Registry({
    onigLib: Promise.resolve({
      createOnigScanner: (sources) => new oniguruma.OnigScanner(sources),
      createOnigString: (s) => new oniguruma.OnigString(s),
    }),
    loadGrammar: async (scope) =>
      scope === "source.llava" ? vsctm.parseRawGrammar(readFileSync(GRAMMAR_FILE, "utf8"), GRAMMAR_FILE) : null,
  });
  grammar = (await registry.loadGrammar("source.llava"))!;
});

/** Each line's TextMate tokens. */
function tokenize(text: string): vsctm.IToken[][] {
  let state = vsctm.INITIAL;
  return text.split("\n").map((line) => {
    const r = grammar.tokenizeLine(line, state);
    state = r.ruleStack;
    return r.tokens;
  });
}

/** The scopes TextMate gives the character at a 1-based line and column. */
function scopesAt(lines: vsctm.IToken[][], line: number, col: number): string[] {
  const t = lines[line - 1]!.find((x) => x.startIndex <= col - 1 && col - 1 < x.endIndex);
  return t?.scopes ?? [];
}

function sources(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith(".llava")) out.push(p);
    }
  };
  walk(path.join(ROOT, "examples"));
  walk(path.join(ROOT, "stdlib"));
  return out.sort();
}

const KEYWORDS = new Set(keywordTokens().map((t) => t.name));

describe("the TextMate grammar", () => {
  it("is the one tools/textmate-grammar.ts derives from the lexer's tokens", () => {
    // Compared as data: the committed file is laid out by the repository's formatter.
    expect(JSON.parse(readFileSync(GRAMMAR_FILE, "utf8"))).toEqual(JSON.parse(grammarText()));
  });

  it("scopes every lexer token of every example and stdlib file as its kind", () => {
    const seen = new Map<string, number>();
    const wrong: string[] = [];
    const files = sources();
    expect(files.length).toBeGreaterThanOrEqual(15);
    for (const file of files) {
      const text = readFileSync(file, "utf8");
      const lines = tokenize(text);
      const lexed = llavaLexer.tokenize(text);
      const tokens: IToken[] = [...lexed.tokens, ...(lexed.groups["comments"] ?? [])].sort((a, b) => a.startOffset - b.startOffset);
      for (const t of tokens) {
        const kind = t.tokenType.name;
        const prev = lexed.tokens[lexed.tokens.indexOf(t) - 1];
        let want: RegExp | undefined;
        if (kind === "LineComment" || kind === "BlockComment") want = /^comment\./;
        else if (kind === "StringLit") want = /^string\.quoted\.double\./;
        else if (kind === "RegexLit") want = /^string\.regexp\./;
        else if (kind === "Percent") want = /^constant\.numeric\.percent\./;
        else if (kind === "FloatLit" || kind === "IntLit") want = /^constant\.numeric\./;
        else if (kind === "Identifier" && t.image in UNITS && prev && /IntLit|FloatLit|Per/.test(prev.tokenType.name))
          want = /^keyword\.other\.unit\./;
        else if (KEYWORDS.has(kind)) want = /^(?!source\.llava$)/; // scoped as something: a keyword, or a field's name
        if (!want) continue;
        const key = kind === "Identifier" ? "unit" : KEYWORDS.has(kind) ? "keyword" : kind;
        seen.set(key, (seen.get(key) ?? 0) + 1);
        const scopes = scopesAt(lines, t.startLine!, t.startColumn!);
        const inner = scopes[scopes.length - 1] ?? "";
        if (!want.test(inner) || scopes.length < 2)
          wrong.push(
            `${path.relative(ROOT, file)}:${t.startLine}:${t.startColumn} ${kind} ${JSON.stringify(t.image)} → ${scopes.join(" ")}`,
          );
      }
    }
    expect(wrong.slice(0, 20)).toEqual([]);
    for (const k of ["LineComment", "StringLit", "RegexLit", "Percent", "FloatLit", "IntLit", "unit", "keyword"])
      expect(seen.get(k) ?? 0, `${k} tokens seen`).toBeGreaterThan(0);
  });

  it("tells keywords, regex literals and division apart as the lexer does", () => {
    const at = (line: number, needle: string, text: string) => {
      const col = text.split("\n")[line - 1]!.indexOf(needle) + 1;
      return scopesAt(lines, line, col).at(-1);
    };
    const src = [
      'import { a as b } from "std/vision"',
      'let p = env("D", ".") / "images"',
      "let f = [/^image_model/i, /a\\/b/]",
      "let n = clip_vit_l14_336 { size: 336 }",
      "phase x { from = y(states: model), warmup: 3%, length: 1 epoch, batch = 8 per micro-batch, on = true }",
    ].join("\n");
    const lines = tokenize(src);
    expect(at(1, "import", src)).toBe("keyword.control.import.llava");
    expect(at(1, "as", src)).toBe("keyword.control.import.llava");
    expect(at(1, "from", src)).toBe("keyword.control.import.llava");
    expect(at(2, "/ ", src)).toBe("keyword.operator.arithmetic.llava");
    expect(at(3, "/^image", src)).toBe("string.regexp.llava");
    expect(at(3, "/a\\/b", src)).toBe("string.regexp.llava");
    expect(at(4, "336 }", src)).toBe("constant.numeric.integer.llava");
    expect(at(4, "14_336", src)).not.toMatch(/numeric/);
    expect(at(5, "from", src)).toBe("variable.other.property.llava");
    expect(at(5, "3%", src)).toBe("constant.numeric.percent.llava");
    expect(at(5, "epoch", src)).toBe("keyword.other.unit.llava");
    expect(at(5, "per", src)).toBe("keyword.operator.per.llava");
    expect(at(5, "micro-batch", src)).toBe("keyword.other.unit.llava");
    expect(at(5, "true", src)).toBe("constant.language.boolean.llava");
  });
});
