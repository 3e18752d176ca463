// The generated training programs: every example's train.ts type-checks against llavac/runtime with
// zero diagnostics, spec strings cannot inject code, and the tiny example's programs train both phases
// to the learning bars (phase 1's caption loss at most half its start; phase 2 answers held-out colour
// questions well above chance), and `llavac chat` on the trained model generates the right colour. The
// example is trained once and shared by those tests.
import { readFileSync } from "node:fs";
import path from "node:path";
import { Project, ts } from "ts-morph";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { templateOf } from "../compiler/derive.js";
import { compile } from "../compiler/compile.js";
import { selectBackend } from "../runtime/backend/index.js";
import { prepareImage } from "../runtime/data/images.js";
import { choiceAccuracy } from "../runtime/eval/choice.js";
import { generate } from "../runtime/model/generate.js";
import { LlavaModel } from "../runtime/model/llava.js";
import { ParamStore } from "../runtime/model/params.js";
import { generationPrompt } from "../runtime/text/layout.js";
import { loadTokenizer, tokenizerSourceOf } from "../runtime/text/tokenizer.js";
import { latestCheckpoint, loadCheckpoint } from "../runtime/train/checkpoint.js";
import type { PhaseRunConfig } from "../runtime/train/config.js";
import type { RunReport } from "../runtime/train/run.js";
import { buildFiles } from "./build-helpers.js";
import { tempDir } from "./data-helpers.js";
import { ROOT, run } from "./helpers.js";
import { DEFAULT_BACKEND } from "./native.js";

/** One TypeScript project for every check of the file: the standard library's and the runtime's declarations
 *  are read and bound once (a project of its own per check did that three times, most of the check's time). */
let project: Project | undefined;

/** The diagnostics of these programs (name → text), type-checked against llavac/runtime, as `file:line: message`. */
function typeCheck(programs: Map<string, string>): string[] {
  project ??= new Project({
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
  const files = [...programs].map(([name, text]) =>
    project!.createSourceFile(path.join(ROOT, "out", "typecheck", name), text, { overwrite: true }),
  );
  const found = files
    .flatMap((f) => f.getPreEmitDiagnostics())
    .map(
      (d) =>
        `${d.getSourceFile()?.getBaseName()}:${d.getLineNumber()}: ${ts.flattenDiagnosticMessageText(d.getMessageText() as string, "\n")}`,
    );
  // Out of the project again: each check sees only its own programs, as with a project of its own.
  for (const f of files) f.forget();
  return found;
}

/** The tiny example trained once (both phases), shared by the tests that read its checkpoints. */
let trained: Promise<{ dir: string; out: string; r: Awaited<ReturnType<typeof run>> }> | undefined;
function trainedTiny() {
  trained ??= (async () => {
    const dir = tempDir("llavac-tiny-");
    const out = path.join(dir, "out");
    const r = await run(process.execPath, [path.join(ROOT, "bin/llavac.js"), "run", "examples/tiny-shapes/tiny.llava", "-o", out], {
      cwd: ROOT,
      env: { NO_COLOR: "1", CI: "1", LLAVAC_TINY_DATA: path.join(dir, "data") },
    });
    return { dir, out, r };
  })();
  return trained;
}

/** The held-out colour questions of the tiny example's data, in the file's order. */
function heldOut(dir: string): { image: string; question: string; answer: string }[] {
  return readFileSync(path.join(dir, "data/heldout/heldout.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l))
    .map((x) => ({
      image: path.join(dir, "data", x.image),
      question: x.conversations[0].value.replace("<image>\n", ""),
      answer: x.conversations[1].value as string,
    }));
}

/** The finetune phase's model (from its latest checkpoint, or untrained), the spec's tokenizer and the held-out colour questions. */
async function tinyFinetune(dir: string, out: string, fromCheckpoint: boolean, result: Awaited<ReturnType<typeof compile>>) {
  const program = readFileSync(path.join(out, "finetune/train.ts"), "utf8");
  const cfg = new Function(
    `return (${program.slice(program.indexOf("const config: PhaseRunConfig = ") + 31, program.lastIndexOf(";\n\nawait main"))});`,
  )() as PhaseRunConfig;
  const store = new ParamStore(cfg.model.arch, { seed: 0, std: { image_model: 0.02, text_model: 0.02, projector_image_model: 0.02 } });
  if (fromCheckpoint) loadCheckpoint(latestCheckpoint(path.join(out, "finetune/checkpoints"))!, store);
  const model = new LlavaModel(cfg.model, store);
  // The example's own vocabulary, as `llavac chat` loads it (paths in a spec are relative to the working directory).
  const tok = await loadTokenizer(tokenizerSourceOf(result.phases[0]!.unit.ir.model.language.tokenizer, (p) => path.resolve(ROOT, p)));
  expect(tok.source).toMatch(/examples\/tiny-shapes\/tokenizer\/tokenizer\.model$/);
  return { cfg, model, tok, items: heldOut(dir) };
}

const TRAINS = "the tiny example trains both phases: phase 1's loss halves, phase 2 answers held-out colour questions well above chance";
const CHATS =
  'llavac chat: the trained tiny example answers "What colour is the shape?" right on held-out images, an untrained one does not';

describe("generated programs", () => {
  // The training (a child process, minutes) starts with the file, while the type checks run here, when a test
  // that reads it is to run; the file ends only after it.
  beforeAll((suite) => {
    if (suite.tasks.some((t) => t.mode === "run" && (t.name === TRAINS || t.name === CHATS))) void trainedTiny();
  });
  afterAll(async () => {
    await trained;
  });

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

  it(TRAINS, async () => {
    const { dir, out, r } = await trainedTiny();
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
    const { cfg, model, tok, items } = await tinyFinetune(dir, out, true, result);
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

  it(CHATS, async () => {
    const { dir, out, r } = await trainedTiny();
    expect(r.code, r.stderr + r.stdout).toBe(0);
    // The command, on the first two held-out images, runs beside the library's answers (its own process):
    // it must give the same answer as the library for them.
    const chats = heldOut(dir)
      .slice(0, 2)
      .map(async ({ image }) => ({
        image,
        c: await run(
          process.execPath,
          [
            path.join(ROOT, "bin/llavac.js"),
            "chat",
            "examples/tiny-shapes/tiny.llava",
            "-o",
            out,
            "--image",
            image,
            "--prompt",
            "What colour is the shape?",
          ],
          { cwd: ROOT, env: { NO_COLOR: "1", CI: "1", LLAVAC_TINY_DATA: path.join(dir, "data") } },
        ),
      }));
    await selectBackend(DEFAULT_BACKEND);
    const result = await compile(path.join(ROOT, "examples/tiny-shapes/tiny.llava"), { env: { LLAVAC_TINY_DATA: path.join(dir, "data") } });
    const template = templateOf(result.phases.find((p) => p.unit.ir.$name === "finetune")!.unit.ir.template);
    // Greedy answers, generated (not scored among choices), to the held-out images: drawn by the same
    // generator as the training images, never trained on.
    const answers = async (fromCheckpoint: boolean, n: number) => {
      const { cfg, model, tok, items } = await tinyFinetune(dir, out, fromCheckpoint, result);
      const said: { image: string; answer: string; text: string }[] = [];
      for (const it of items.slice(0, n)) {
        const prompt = generationPrompt(tok, template, [{ from: "human", value: `<image>\n${it.question}` }], cfg.model.num_patches);
        const image = (await prepareImage(it.image, cfg.data.transforms)).data;
        const g = await generate(model, prompt.tokens, image, { maxNewTokens: 8, eosId: tok.eosId });
        said.push({ image: it.image, answer: it.answer, text: tok.decode(g.ids.filter((id) => id !== tok.eosId)) });
      }
      return said;
    };
    const colourOf = (s: string) => /^\s*(red|green|blue|yellow)\b/i.exec(s)?.[1]?.toLowerCase();
    const right = (said: { answer: string; text: string }[]) =>
      said.filter((x) => colourOf(x.text) !== undefined && colourOf(x.text) === colourOf(x.answer)).length / said.length;
    const trainedSaid = await answers(true, 200);
    expect(trainedSaid).toHaveLength(200);
    // At least 80% right: chance is 25% for a model that names some colour (four colours, balanced), and
    // the trained model gets ~99% (97% when scored among the four choices); 80% leaves room for a less lucky training run on another backend.
    const wrong = trainedSaid.filter((x) => colourOf(x.text) !== colourOf(x.answer)).slice(0, 5);
    expect(right(trainedSaid), JSON.stringify(wrong)).toBeGreaterThanOrEqual(0.8);
    // The answers are the trained phrasing ("Red."), ended by </s>.
    expect(trainedSaid.filter((x) => /^(Red|Green|Blue|Yellow)\.$/.test(x.text)).length).toBeGreaterThanOrEqual(160);
    // The same measure fails for the untrained model (the initial weights of the same architecture).
    expect(right(await answers(false, 20))).toBeLessThan(0.8);

    // The command gives the same answer as the library for a few of them.
    for (const [k, chat] of chats.entries()) {
      const { image, c } = await chat;
      expect(image).toBe(trainedSaid[k]!.image);
      expect(c.code, c.stderr).toBe(0);
      expect(c.stdout).toBe(`${trainedSaid[k]!.text}\n`);
    }
  }, 900_000);
});
