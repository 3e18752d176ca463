// Fuzzing, part 3: hostile inputs by class — nesting depth, literal and file size, file kinds, and YAML
// alias bombs for `llavac import`. Each run must not throw, every diagnostic must point inside a file,
// and the input's defect must be reported (no timing assertions: the generous timeouts only bound a hang).
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import fc from "fast-check";
import { dump } from "js-yaml";
import { describe, expect, it } from "vitest";
import { compile } from "../compiler/compile.js";
import { importConfigs } from "../compiler/import/import.js";
import { MAX_EXPR_DEPTH, MAX_NESTING } from "../grammar/guard.js";
import { breathe, compilesSafely, FUZZ_FILE } from "./fuzz-support.js";
import { VIRTUAL } from "./helpers.js";

async function codesOf(source: string): Promise<string[]> {
  await compilesSafely(source);
  const r = await compile(FUZZ_FILE, { source, env: {}, cwd: VIRTUAL });
  return r.diags.items.filter((d) => d.severity === "error").map((d) => d.code);
}

const OPENERS = ["[", "(", "adamw { lr: ", "{ a: ", "env(", "x(", "tiny_vit { "];
const CLOSERS = ["]", ")", "}", " ", ","];

describe("fuzz: depth", () => {
  it("60 random bracket towers past the limit: E0004, never a crash", async () => {
    const tower = fc.record({
      opens: fc.array(fc.constantFrom(...OPENERS), { minLength: MAX_NESTING + 1, maxLength: 1500 }),
      closes: fc.array(fc.constantFrom(...CLOSERS), { maxLength: 1500 }),
      inner: fc.constantFrom("1", "x", '"s"', "", "-", "/a/"),
      head: fc.constantFrom("let x = ", "let x: ", "phase p { model = ", "model m = "),
    });
    await fc.assert(
      fc.asyncProperty(tower, async (t) => {
        const codes = await codesOf(t.head + t.opens.join("") + t.inner + t.closes.join("") + "\n");
        expect(codes).toContain("E0004");
      }),
      { numRuns: 60, seed: 6464 },
    );
  }, 600_000);

  it("60 random operator chains past the depth limit: E0004", async () => {
    // One precedence level per chain (`+` with `-`, `*` with `/`): mixing levels makes shallower trees.
    const chain = fc.record({
      operands: fc.array(fc.constantFrom('"a"', "1", "x", "x.y", "2.5", "[1]", "(1)", 'env("A")'), {
        minLength: MAX_EXPR_DEPTH + 2,
        maxLength: 3000,
      }),
      ops: fc.constantFrom([" / "], [" * ", " / "], [" + "], [" + ", " - "]),
    });
    await fc.assert(
      fc.asyncProperty(chain, async ({ operands, ops }) => {
        const text = "let x = " + operands.map((o, i) => (i === 0 ? o : ops[i % ops.length] + o)).join("") + "\n";
        expect(await codesOf(text)).toContain("E0004");
      }),
      { numRuns: 60, seed: 2560 },
    );
  }, 600_000);

  it("50 random member, override and call chains past the depth limit: E0004", async () => {
    const steps = fc.array(fc.constantFrom(".a", " { }", "()", ".b", "(x: 1)"), { minLength: MAX_EXPR_DEPTH + 1, maxLength: 5000 });
    await fc.assert(
      fc.asyncProperty(steps, async (s) => {
        expect(await codesOf("let x = y" + s.join("") + "\n")).toContain("E0004");
      }),
      { numRuns: 50, seed: 4096 },
    );
  }, 600_000);
});

describe("fuzz: size", () => {
  it("20 long literals: unterminated strings and comments and oversized numbers are named; strings and comments of any length are read", async () => {
    const lit = fc.record({
      kind: fc.constantFrom("string", "unterminated", "comment", "open-comment", "number", "line-comment", "escapes"),
      length: fc.integer({ min: 1, max: 3 * 1024 * 1024 }),
      ch: fc.constantFrom("a", "é", "😀", " ", "\\\\", "/", "*", '"'),
    });
    await fc.assert(
      fc.asyncProperty(lit, async ({ kind, length, ch }) => {
        const body = ch === '"' || ch === "\\\\" ? "a".repeat(length) : ch.repeat(Math.max(1, Math.floor(length / ch.length)));
        const plain = body.replace(/\*\//g, "**");
        const text = {
          string: `let x = "${body}"\n`,
          unterminated: `let x = "${body}\nlet y = 1\n`,
          comment: `/* ${plain} */\nlet x = 1\n`,
          "open-comment": `let x = 1\n/* ${plain}`,
          number: `let x = ${"9".repeat(Math.max(20, length))}\n`,
          "line-comment": `// ${body}\nlet x = 1\n`,
          escapes: `let x = "${"\\n".repeat(Math.max(1, length >> 1))}"\n`,
        }[kind];
        const codes = await codesOf(text);
        const expected = {
          string: [],
          unterminated: ["E0003"],
          comment: [],
          "open-comment": ["E0005"],
          number: ["E0003"],
          "line-comment": [],
          escapes: [],
        }[kind];
        expect(codes.filter((c) => c !== "E0409")).toEqual(expected);
      }),
      { numRuns: 20, seed: 1048576 },
    );
  }, 600_000);

  it("8 files of too many tokens: one E0008", async () => {
    const many = fc.record({
      unit: fc.constantFrom("1,", "{", "a.", "- ", "[", "x "),
      count: fc.integer({ min: 200_001, max: 2_000_000 }),
    });
    await fc.assert(
      fc.asyncProperty(many, async ({ unit, count }) => {
        expect(await codesOf(`let x = [${unit.repeat(count)}\n`)).toEqual(["E0008"]);
      }),
      { numRuns: 8, seed: 200001 },
    );
  }, 600_000);
});

describe("fuzz: file kinds", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "llavac-fuzz-kinds-"));
  const kinds: string[] = ["folder", "huge"];
  mkdirSync(path.join(dir, "folder.llava"));
  writeFileSync(path.join(dir, "huge.llava"), "");
  truncateSync(path.join(dir, "huge.llava"), 20 * 1024 * 1024);
  if (process.platform !== "win32") {
    execFileSync("mkfifo", [path.join(dir, "pipe.llava")]);
    symlinkSync("/dev/zero", path.join(dir, "zero.llava"));
    symlinkSync("/dev/stdin", path.join(dir, "stdin.llava"));
    kinds.push("pipe", "zero", "stdin");
  }

  it("every kind as the root, as an import and as an import of an import: refused with the reason, never a hang", async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...kinds), fc.constantFrom("root", "import", "nested"), async (kind, role) => {
        const root = path.join(dir, `root${n++}.llava`);
        if (role === "root") {
          const r = await compile(path.join(dir, `${kind}.llava`), { cwd: dir, env: {} });
          expect(r.readable).toBe(false);
          expect(r.unreadable).toMatch(/folder|pipe|device|MiB|not a regular file/);
          return;
        }
        const via = path.join(dir, `via${n}.llava`);
        writeFileSync(via, `import { a } from "./${kind}"\nlet b = 1\n`);
        writeFileSync(
          root,
          role === "import" ? `import { a } from "./${kind}"\n` : `import { b } from "./${path.basename(via, ".llava")}"\n`,
        );
        const r = await compile(root, { cwd: dir, env: {} });
        expect(r.diags.items.filter((d) => d.code === "E0106")).toHaveLength(1);
      }),
      { numRuns: 30, seed: 7 },
    );
  }, 120_000);
});

describe("fuzz: YAML for llavac import", () => {
  it("200 alias bombs of every shape are refused, not expanded", async () => {
    const bomb = fc
      .record({
        levels: fc.integer({ min: 2, max: 40 }),
        width: fc.integer({ min: 2, max: 12 }),
        under: fc.constantFrom("model", "trainer", "train_input", "other"),
      })
      .filter(({ levels, width }) => Math.pow(width, levels) > 200_000);
    await fc.assert(
      fc.asyncProperty(bomb, async ({ levels, width, under }) => {
        const lines = [
          "a0: &a0 [lol]",
          ...Array.from({ length: levels }, (_, i) => `a${i + 1}: &a${i + 1} [${Array(width).fill(`*a${i}`).join(", ")}]`),
          `${under}: *a${levels}`,
        ];
        await breathe();
        const r = await importConfigs([{ file: "bomb.yaml", text: lines.join("\n") + "\n" }]);
        expect(r.problems.map((p) => p.message)).toEqual([expect.stringMatching(/^refused: .*expand/)]);
        expect(r.spec).toBe("");
      }),
      { numRuns: 200, seed: 999 },
    );
  }, 300_000);

  it("300 random documents of LLaVA-like keys: a reason or a spec, never a throw", async () => {
    const key = fc.constantFrom(
      "model",
      "image_model",
      "text_model",
      "hidden_size",
      "num_hidden_layers",
      "patch_size",
      "image_size",
      "freeze",
      "projector",
      "trainer",
      "init",
      "fit",
      "name",
      "train_input",
      "runconfig",
      "optimizer",
      "layers_units",
      "mixed_precision",
      "image_start_idx",
      "llava",
      "x",
    );
    const leaf = fc.oneof(
      fc.integer(),
      fc.constant("llava"),
      fc.string({ maxLength: 6 }),
      fc.boolean(),
      fc.constant(null),
      fc.array(fc.integer(), { maxLength: 3 }),
    );
    const doc = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: "small" },
        leaf,
        fc.dictionary(key, tie("node"), { maxKeys: 5 }),
        fc.array(tie("node"), { maxLength: 3 }),
      ),
    })).node;
    await fc.assert(
      fc.asyncProperty(fc.dictionary(key, doc, { minKeys: 1, maxKeys: 5 }), async (d) => {
        await breathe();
        const r = await importConfigs([{ file: "doc.yaml", text: dump(d) }]);
        expect(r.spec !== "" || r.problems.length > 0).toBe(true);
      }),
      { numRuns: 300, seed: 31337 },
    );
  }, 600_000);
});
