// `llavac fmt`: the layout changes spaces only (the AST without positions and the comments are the input's),
// it is idempotent, it does not depend on how the input was spaced, and the examples and the standard
// library are in it (this is `npm test`'s `fmt --check`).
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { specFiles } from "../compiler/cli/fmt.js";
import { FormatError, formatSource } from "../compiler/format.js";
import { parse } from "../grammar/index.js";
import { llavaLexer } from "../grammar/tokens.js";
import { mutated, tokenStream } from "./fuzz-support.js";
import { ROOT, TINY } from "./helpers.js";

const FILES = specFiles([path.join(ROOT, "examples"), path.join(ROOT, "stdlib")]);
const SOURCES = FILES.map((f) => ({ file: path.relative(ROOT, f), text: readFileSync(f, "utf8") }));

/** The AST with every position dropped. */
function shape(text: string): unknown {
  const r = parse(text, "x.llava");
  return JSON.parse(JSON.stringify(r.module, (k, v) => (k === "span" || k === "pathSpan" ? undefined : v)));
}
const comments = (text: string) => parse(text, "x.llava").comments.map((c) => c.text.trimEnd());
const parsesClean = (text: string) => parse(text, "x.llava").problems.length === 0;

function roundTrips(text: string): void {
  const once = formatSource(text);
  expect(shape(once)).toEqual(shape(text));
  expect(comments(once)).toEqual(comments(text));
  expect(formatSource(once)).toBe(once);
}

// The fuzzers' corpus (test/fuzz-*.test.ts), drawn with fixed seeds; only what parses can be formatted.
const seven = SOURCES.find((s) => s.file === path.join("examples", "llava-v1.5-7b", "llava.llava"))!.text;
const corpus = [
  ...fc.sample(mutated(TINY), { numRuns: 120, seed: 4242 }),
  ...fc.sample(mutated(seven), { numRuns: 80, seed: 1515 }),
  ...fc.sample(tokenStream, { numRuns: 1500, seed: 777 }),
].filter(parsesClean);

/** The same tokens on the same lines, spaced at random: between tokens, indentation, blank lines. */
function respaced(text: string, seed: number): string {
  const lexed = llavaLexer.tokenize(text);
  const tokens = [...lexed.tokens, ...(lexed.groups["comments"] ?? [])].sort((a, b) => a.startOffset - b.startOffset);
  const pick = fc.sample(fc.array(fc.nat(3), { minLength: tokens.length, maxLength: tokens.length }), { numRuns: 1, seed })[0]!;
  let out = "",
    end = 0;
  tokens.forEach((t, i) => {
    const gap = text.slice(end, t.startOffset);
    const breaks = gap.split("\n").length - 1;
    const r = pick[i]!;
    if (breaks > 0) out += "\n".repeat(breaks > 1 ? breaks + r : 1) + [" ", "\t", "    ", ""][r];
    else if (i > 0) out += gap.length === 0 ? ["", " ", "", ""][r] : [" ", "  ", "\t", "   "][r];
    out += t.image;
    end = t.endOffset! + 1;
  });
  return out + "\n".repeat(1 + (pick[0] ?? 0));
}

describe("fmt", () => {
  it("the examples and the standard library are formatted (fmt --check)", () => {
    expect(FILES.length).toBeGreaterThan(10);
    const unformatted = SOURCES.filter((s) => formatSource(s.text, s.file) !== s.text).map((s) => s.file);
    expect(unformatted, "run `llavac fmt examples stdlib`").toEqual([]);
  });

  it("keeps the AST and the comments of every example and standard module, and is idempotent", () => {
    for (const s of SOURCES) roundTrips(s.text);
  });

  it("keeps the AST and the comments over the fuzz corpus, and is idempotent", () => {
    expect(corpus.length).toBeGreaterThan(100);
    for (const text of corpus) roundTrips(text);
  });

  it("gives one layout whatever the spacing: a respaced example formats to the example", () => {
    for (const [i, s] of SOURCES.slice(0, 6).entries()) {
      const messy = respaced(s.text, i);
      expect(messy).not.toBe(s.text);
      expect(formatSource(messy)).toBe(s.text);
    }
  });

  it("lays out tokens, indentation, aligned fields and trailing comments", () => {
    const input = 'phase  p{\n  a=1   // x\n      bb = [\n 1,2 ,\n  3 ]\n\n\n  // c\n  ccc= f( x :1) { y = -1 - -2, z:"s"/"t" }\n}\n';
    expect(formatSource(input)).toBe(
      'phase p {\n  a  = 1  // x\n  bb = [\n    1, 2,\n    3]\n\n  // c\n  ccc = f(x: 1) { y = -1 - -2, z: "s" / "t" }\n}\n',
    );
  });

  it("refuses a file that does not parse, with the diagnostic check gives", () => {
    expect(() => formatSource("phase p {\n  a = \n}\n", "bad.llava")).toThrow(FormatError);
    try {
      formatSource("phase p {\n  a = \n}\n", "bad.llava");
    } catch (err) {
      expect((err as FormatError).diagnostics[0]!.code).toBe("E0001");
      expect((err as FormatError).message).toContain("--> bad.llava:3:1");
    }
  });

  it("the CLI: --check exits 1 listing unformatted files and writes nothing; fmt rewrites them", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "llavac-fmt-"));
    const messy = path.join(dir, "messy.llava"),
      clean = path.join(dir, "clean.llava");
    writeFileSync(messy, "model  m {\n  vision=v\n}\n");
    writeFileSync(clean, "model m {\n  vision = v\n}\n");
    const bin = path.join(ROOT, "bin/llavac.js");
    const check = spawnSync(process.execPath, [bin, "fmt", "--check", dir], { encoding: "utf8" });
    expect(check.status).toBe(1);
    expect(check.stdout).toBe(`${messy}\n`);
    expect(readFileSync(messy, "utf8")).toBe("model  m {\n  vision=v\n}\n");
    const fix = spawnSync(process.execPath, [bin, "fmt", messy, clean], { encoding: "utf8" });
    expect(fix.status).toBe(0);
    expect(readFileSync(messy, "utf8")).toBe("model m {\n  vision = v\n}\n");
  });
});
