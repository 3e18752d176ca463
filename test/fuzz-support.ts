// The fuzzers' shared property: compiling any text never throws, and every diagnostic points inside a
// real file, under a catalogued code; a rejected input always has at least one diagnostic in the input itself.
import fc from "fast-check";
import path from "node:path";
import { expect } from "vitest";
import { CODES, fitsTemplate, isCode, type CodeInfo } from "../compiler/codes.js";
import { compile } from "../compiler/compile.js";
import type { Span } from "../grammar/ast.js";
import { VIRTUAL } from "./helpers.js";

export const FUZZ_FILE = path.join(VIRTUAL, "fuzz.llava");

function spanInside(span: Span, text: string | undefined): boolean {
  if (text === undefined) return false;
  const lines = text.split(/\r\n|\r|\n/);
  return (
    span.start >= 0 &&
    span.start <= span.end &&
    span.end <= text.length &&
    span.line >= 1 &&
    span.col >= 1 &&
    span.line <= lines.length &&
    span.col <= lines[span.line - 1]!.length + 1
  );
}

/** Let the test runner's own messages through between runs: a property run is one long synchronous
 *  stretch, and thousands of them back to back starve the worker's reports ("Timeout calling onTaskUpdate"). */
export const breathe = () => new Promise<void>((resolve) => setImmediate(resolve));

export async function compilesSafely(source: string): Promise<void> {
  await breathe();
  // The front end's property, over thousands of inputs: emission (a third more time per input) is
  // fuzzed by test/check-build-agreement.test.ts on a corpus of its own.
  const r = await compile(FUZZ_FILE, { source, env: {}, cwd: VIRTUAL, emit: false });
  // Plain checks, one `expect` on what they found: an `expect` per diagnostic was a tenth of the fuzzers' time.
  const problems: string[] = [];
  for (const d of r.diags.items) {
    const where = `${d.code} ${d.message} @${d.span.file}:${d.span.line}:${d.span.col}`;
    // Every code the corpus produces is in the catalog, with a message of its template.
    if (!isCode(d.code)) {
      problems.push(`${where}: not in the catalog`);
      continue;
    }
    if (!fitsTemplate(d.code, d.message)) problems.push(`${where}: does not fit "${(CODES[d.code] as CodeInfo).message}"`);
    if ((CODES[d.code] as CodeInfo).trigger?.internal !== undefined) problems.push(`${where}: an internal code for user input`);
    if (!spanInside(d.span, r.graph.text(d.span.file))) problems.push(`${where}: the span is not inside its file`);
    for (const n of d.notes)
      if (n.span && !spanInside(n.span, r.graph.text(n.span.file))) problems.push(`note of ${where}: the span is not inside its file`);
  }
  if (r.diags.errorCount > 0 && !r.diags.items.some((d) => d.severity === "error" && d.span.file === FUZZ_FILE))
    problems.push("rejected without an error in the input itself");
  expect(problems).toEqual([]);
}

export const FRAGMENTS = [
  "{",
  "}",
  "[",
  "]",
  "(",
  ")",
  ",",
  ":",
  "=",
  '"',
  "/",
  "%",
  ".",
  "|",
  "&",
  "?",
  "-",
  "+",
  "*",
  "per",
  "step",
  "steps",
  "epoch",
  "micro-batch",
  "none",
  "true",
  "-1",
  "0",
  "1e-3",
  "3%",
  "1e999",
  "99999999999999999999",
  "x",
  "phase",
  "model",
  "schema",
  "enum",
  "type",
  "let",
  "import",
  "from",
  "as",
  "env",
  'env("X")',
  "pretrain(states: model)",
  "\n",
  "//",
  "/*",
  "*/",
  "é",
  "😀",
  "\u0000",
  "\t",
  "@",
  "${",
  "`",
  "\\",
  ">= 1",
  "=~",
  "/^a/",
  "/(/",
  '"\\q"',
  '"\\u{110000}"',
  "clip_vit_l14_336",
  "vicuna_7b_v1_5",
  "mlp2x_gelu",
  "lcs_558k",
  "plain",
  "vicuna_v1",
  "adamw { lr: 1 }",
  "warmup_cosine",
  "hidden_size: 0",
  "patch_size: 0",
  "select_layer: 99",
  "num_csx: 0",
  "freeze = [/zzz/]",
  "batch = 0 per step",
];

export const VOCAB = [
  ...FRAGMENTS,
  "vision",
  "projector",
  "language",
  "data",
  "template",
  "images",
  "hdf5",
  "freeze",
  "batch",
  "optimizer",
  "schedule",
  "from",
  '"./a"',
  '"std/vision"',
  '"std/nothing"',
  "{ }",
  "256",
  "22",
  "2048",
  "336",
  "14",
  "-2",
  "patch",
  "cls_patch",
  "cerebras",
  "dataset",
  "vit",
  "llama",
  "tokenizer",
  "hdf5_writer",
  "eval_input",
  "loader",
  "run",
];

/** One to three text mutations of `base`. */
export function mutated(base: string): fc.Arbitrary<string> {
  const op = fc.oneof(
    fc.record({ k: fc.constant("delete" as const), at: fc.nat(), len: fc.integer({ min: 1, max: 12 }) }),
    fc.record({ k: fc.constant("insert" as const), at: fc.nat(), frag: fc.constantFrom(...FRAGMENTS) }),
    fc.record({ k: fc.constant("dupline" as const), at: fc.nat() }),
    fc.record({ k: fc.constant("swaplines" as const), at: fc.nat(), to: fc.nat() }),
  );
  return fc.array(op, { minLength: 1, maxLength: 3 }).map((ops) => {
    let s = base;
    for (const o of ops) {
      const at = s.length === 0 ? 0 : o.at % (s.length + 1);
      if (o.k === "delete") s = s.slice(0, at) + s.slice(at + o.len);
      else if (o.k === "insert") s = s.slice(0, at) + o.frag + s.slice(at);
      else {
        const lines = s.split("\n");
        const i = o.at % lines.length;
        if (o.k === "dupline") lines.splice(i, 0, lines[i]!);
        else {
          const j = o.to % lines.length;
          [lines[i], lines[j]] = [lines[j]!, lines[i]!];
        }
        s = lines.join("\n");
      }
    }
    return s;
  });
}

export const tokenStream: fc.Arbitrary<string> = fc
  .array(fc.tuple(fc.constantFrom(...VOCAB), fc.constantFrom(" ", " ", "\n", "", "  ")), { maxLength: 60 })
  .map((parts) => parts.map(([t, ws]) => t + ws).join(""));
