// The generated training programs: every example's train.ts type-checks against llavac/runtime with
// zero diagnostics, spec strings cannot inject code, and the tiny example's programs train both phases
// to the learning bars (phase 1's caption loss at most half its start; phase 2 answers held-out colour
// questions well above chance).
import { readFileSync } from "node:fs";
import path from "node:path";
import { Project, ts } from "ts-morph";
import { describe, expect, it } from "vitest";
import { templateOf } from "../compiler/derive.js";
import { compile } from "../compiler/compile.js";
import { selectBackend } from "../runtime/backend/index.js";
import { choiceAccuracy } from "../runtime/eval/choice.js";
import { LlavaModel } from "../runtime/model/llava.js";
import { ParamStore } from "../runtime/model/params.js";
import { loadTokenizer } from "../runtime/text/tokenizer.js";
import { latestCheckpoint, loadCheckpoint } from "../runtime/train/checkpoint.js";
import type { PhaseRunConfig } from "../runtime/train/config.js";
import type { RunReport } from "../runtime/train/run.js";
import { buildFiles } from "./build-helpers.js";
import { tempDir } from "./data-helpers.js";
import { ROOT, run } from "./helpers.js";
import { DEFAULT_BACKEND } from "./native.js";

function typeCheck(programs: Map<string, string>): string[] {
  const project = new Project({
    compilerOptions: {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ESNext,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      types: ["node"],
      lib: ["lib.es2023.d.ts"],
      noUnusedLocals: true,
      exactOptionalPropertyTypes: true,
      verbatimModuleSyntax: true,
    },
  });
  // `llavac/runtime` resolves through package.json's exports (types → dist/types/runtime/index.d.ts, which
  // scripts/build.mjs writes), as for a user.
  for (const [name, text] of programs) project.createSourceFile(path.join(ROOT, "out", "typecheck", name), text, { overwrite: true });
  return project
    .getPreEmitDiagnostics()
    .map(
      (d) =>
        `${d.getSourceFile()?.getBaseName()}:${d.getLineNumber()}: ${ts.flattenDiagnosticMessageText(d.getMessageText() as string, "\n")}`,
    );
}

describe("generated programs", () => {
  it("every example's train.ts type-checks with zero diagnostics", async () => {
    const programs = new Map<string, string>();
    for (const ex of ["llava-v1.5-7b/llava.llava", "llava-v1.5-13b/llava.llava", "tiny-shapes/tiny.llava"]) {
      const { files } = await buildFiles(path.join(ROOT, "examples", ex));
      for (const [name, text] of files) if (name.endsWith("train.ts")) programs.set(`${path.dirname(ex)}-${name.replace("/", "-")}`, text);
    }
    expect(programs.size).toBe(6);
    expect(typeCheck(programs)).toEqual([]);
    // The check can fail: a wrong field is reported.
    const broken = new Map([["broken.ts", programs.get("tiny-shapes-pretrain-train.ts")!.replace("max_steps: 111", 'max_steps: "111"')]]);
    expect(typeCheck(broken).join("\n")).toMatch(/broken.ts:\d+: Type .string. is not assignable to type .number./);
  }, 120_000);

  it("spec strings stay strings: quotes, newlines and comment markers cannot become code", async () => {
    const evil = `x"; process.exit(3); //\n*/ \u2028 \${1}`;
    const source = readFileSync(path.join(ROOT, "examples/tiny-shapes/tiny.llava"), "utf8").replace(
      'let data = env("LLAVAC_TINY_DATA", "out/tiny-shapes/data")',
      `let data = ${JSON.stringify(evil)}`,
    );
    const { files } = await buildFiles(path.join(ROOT, "examples/tiny-shapes/tiny.llava"), { source });
    const program = files.get("pretrain/train.ts")!;
    expect(typeCheck(new Map([["evil.ts", program]]))).toEqual([]);
    // The program's only statements are the import, the constant and the call.
    const sf = new Project({ useInMemoryFileSystem: true }).createSourceFile("p.ts", program);
    expect(sf.getStatements().map((s) => s.getKindName())).toEqual(["ImportDeclaration", "VariableStatement", "ExpressionStatement"]);
    const images = sf
      .getVariableDeclarationOrThrow("config")
      .getInitializerOrThrow()
      .getText()
      .match(/images: ("(?:[^"\\]|\\.)*")/)![1]!;
    expect(JSON.parse(images)).toContain('x"; process.exit(3); /');
  });

  it("the tiny example trains both phases: phase 1's loss halves, phase 2 answers held-out colour questions well above chance", async () => {
    const dir = tempDir("llavac-tiny-");
    const out = path.join(dir, "out");
    const r = await run(process.execPath, [path.join(ROOT, "bin/llavac.js"), "run", "examples/tiny-shapes/tiny.llava", "-o", out], {
      cwd: ROOT,
      env: { NO_COLOR: "1", CI: "1", LLAVAC_TINY_DATA: path.join(dir, "data") },
    });
    expect(r.code, r.stderr + r.stdout).toBe(0);

    const p1 = JSON.parse(readFileSync(path.join(out, "pretrain/run.json"), "utf8")) as RunReport;
    // It trained on the backend llavac prefers here (the native one where it is built).
    expect(p1.backend.backend).toBe(DEFAULT_BACKEND);
    const losses = p1.steps.map((s) => s.loss);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const start = mean(losses.slice(0, 3)),
      end = mean(losses.slice(-5));
    expect(end).toBeLessThanOrEqual(start / 2);

    // Phase 2 evaluates its held-out split every 25 steps and at the end: the eval loss falls too.
    const p2 = JSON.parse(readFileSync(path.join(out, "finetune/run.json"), "utf8")) as RunReport;
    expect(p2.eval!.map((e) => e.step)).toEqual([25, 50, 75, 100, 125, 150]);
    expect(p2.eval![p2.eval!.length - 1]!.loss).toBeLessThanOrEqual(p2.eval![0]!.loss / 2);

    // Phase 2: held-out images (never trained on), "What colour is the shape?", four colours.
    await selectBackend(DEFAULT_BACKEND);
    const result = await compile(path.join(ROOT, "examples/tiny-shapes/tiny.llava"), { env: { LLAVAC_TINY_DATA: path.join(dir, "data") } });
    const phase = result.phases.find((p) => p.unit.ir.$name === "finetune")!;
    const program = readFileSync(path.join(out, "finetune/train.ts"), "utf8");
    const cfg = new Function(
      `return (${program.slice(program.indexOf("const config: PhaseRunConfig = ") + 31, program.lastIndexOf(";\n\nawait main"))});`,
    )() as PhaseRunConfig;
    const store = new ParamStore(cfg.model.arch, { seed: 0, std: { image_model: 0.02, text_model: 0.02, projector_image_model: 0.02 } });
    loadCheckpoint(latestCheckpoint(path.join(out, "finetune/checkpoints"))!, store);
    const model = new LlavaModel(cfg.model, store);
    const tok = await loadTokenizer({ kind: "llama2" });
    const heldout = readFileSync(path.join(dir, "data/heldout/heldout.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    const items = heldout.map((x) => ({
      image: path.join(dir, "data", x.image),
      question: x.conversations[0].value.replace("<image>\n", ""),
      answer: x.conversations[1].value,
    }));
    const res = await choiceAccuracy(model, tok, templateOf(phase.unit.ir.template), cfg.data.transforms, items, [
      "Red.",
      "Green.",
      "Blue.",
      "Yellow.",
    ]);
    expect(res.total).toBe(200);
    // Chance is 25%.
    expect(res.accuracy, JSON.stringify(res.confusion)).toBeGreaterThanOrEqual(0.6);
  }, 900_000);
});
