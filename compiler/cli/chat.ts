// `llavac chat`: talk to a trained phase about an image. The prompt is laid out with the phase's template
// by runtime/text/layout.ts (as training lays it out), the model is the phase's newest verified checkpoint
// (or --checkpoint), and the answer streams to the terminal as it is generated (runtime/model/generate.ts).
// Without --prompt it reads prompts line by line and keeps the conversation.
import { existsSync, statSync } from "node:fs";
import path from "node:path";
import { createInterface } from "node:readline";
import type { Command } from "commander";
import type { CompileResult, PhaseResult } from "../compile.js";
import type { Derived } from "../derive.js";
import type { Painter } from "../diagnostics.js";
import { shownPath } from "../../runtime/util/format.js";
import { addSetOption } from "../overrides.js";
import { defaultRunDir } from "./run.js";

export class ChatFailure extends Error {}
export class ChatUsageError extends Error {}

interface Io {
  paint: (color?: boolean) => Painter;
  compileSpec(spec: string, overrides: string[]): Promise<CompileResult>;
  printDiagnostics(result: CompileResult, paint: Painter): void;
}

interface ChatOpts {
  phase?: string;
  checkpoint?: string;
  out?: string;
  image: string;
  prompt?: string;
  seed: string;
  temperature: string;
  topP?: string;
  maxNewTokens: string;
  backend?: string;
  cache: boolean;
  set: string[];
}

type Phase = PhaseResult & { derived: Derived };

function number(flag: string, raw: string, ok: (n: number) => boolean, want: string): number {
  const n = Number(raw);
  if (raw.trim() === "" || !Number.isFinite(n) || !ok(n)) throw new ChatUsageError(`${flag} wants ${want}, not "${raw}"`);
  return n;
}

export function registerChatCommand(program: Command, io: Io): void {
  addSetOption(
    program
      .command("chat")
      .description("generate answers about an image with a trained phase, streaming them; interactive without --prompt")
      .argument("<spec>", "the .llava file")
      .option("--phase <name>", "the phase to talk to (default: the spec's last)")
      .option("--checkpoint <file>", "a checkpoint or weights file (.safetensors; default: the phase's newest verified checkpoint)")
      .option("-o, --out <dir>", "the run folder `llavac run` trained into (default: out/<spec name>)")
      .requiredOption("--image <file>", "the image to talk about")
      .option("--prompt <text>", "answer this one prompt and exit (default: read prompts from the terminal)")
      .option("--max-new-tokens <n>", "stop after n tokens", "128")
      .option("--temperature <t>", "0 is greedy; above 0 samples", "0")
      .option("--top-p <p>", "sample from the most likely tokens whose probabilities add up to p (with --temperature)")
      .option("--seed <n>", "the sampling seed", "0")
      .option("--backend <name>", "tensorflow-gpu, tensorflow, wasm or cpu (default: the fastest available)")
      .option("--no-cache", "no key/value cache: run the whole sequence for every token (slower; the same tokens)"),
  ).action(async (spec: string, o: ChatOpts) => {
    const maxNew = number("--max-new-tokens", o.maxNewTokens, (n) => Number.isInteger(n) && n > 0, "a positive integer");
    const temperature = number("--temperature", o.temperature, (n) => n >= 0, "a number ≥ 0");
    const seed = number("--seed", o.seed, Number.isInteger, "an integer");
    if (o.topP !== undefined && temperature === 0) throw new ChatUsageError("--top-p filters sampling: give --temperature above 0 with it");
    const topP = o.topP === undefined ? 1 : number("--top-p", o.topP, (n) => n > 0 && n <= 1, "a number in (0, 1]");
    if (!existsSync(o.image) || !statSync(o.image).isFile()) throw new ChatUsageError(`--image: not a file: ${o.image}`);
    if (o.checkpoint !== undefined && (!existsSync(o.checkpoint) || !statSync(o.checkpoint).isFile()))
      throw new ChatUsageError(`--checkpoint: not a file: ${o.checkpoint}`);

    const result = await io.compileSpec(spec, o.set);
    const paint = io.paint();
    if (result.diags.errorCount > 0) {
      io.printDiagnostics(result, paint);
      throw new ChatFailure(`${spec} has ${result.diags.errorCount} error(s)`);
    }
    const all = result.phases.filter((p): p is Phase => p.derived !== undefined);
    const phase = o.phase === undefined ? all[all.length - 1] : all.find((p) => p.unit.ir.$name === o.phase);
    if (!phase) throw new ChatUsageError(`no phase \`${o.phase}\` (the spec has ${all.map((p) => p.unit.ir.$name).join(", ")})`);
    const name = phase.unit.ir.$name;

    const { runConfig, phaseDir } = await import("../run-config.js");
    const { templateOf } = await import("../derive.js");
    const outDir = o.out ?? defaultRunDir(spec);
    const cfg = runConfig(result, phase, outDir);
    const template = templateOf(phase.unit.ir.template);
    // With the phase's own transforms, as its training images.
    const { prepareImage } = await import("../../runtime/data/images.js");
    let image: Float32Array;
    try {
      image = (await prepareImage(o.image, cfg.data.transforms)).data;
    } catch (err) {
      throw new ChatFailure(`--image ${o.image} cannot be read as an image: ${(err as Error).message}`);
    }

    // Which weights: --checkpoint, or the newest checkpoint of the phase's run folder that verifies.
    const { checkpointProblem, latestVerifiedCheckpoint } = await import("../../runtime/train/checkpoint.js");
    let weights: string;
    if (o.checkpoint !== undefined) {
      weights = o.checkpoint;
      const m = /^(.*checkpoint_\d+)\.safetensors$/.exec(weights);
      // A llavac checkpoint is checked against its recorded checksum first.
      if (m && existsSync(`${m[1]}.json`)) {
        const problem = checkpointProblem({ step: 0, json: `${m[1]}.json`, weights });
        if (problem) throw new ChatFailure(`--checkpoint ${weights} is not usable: ${problem}`);
      }
    } else {
      const dir = path.join(phaseDir(outDir, name), "checkpoints");
      const v = latestVerifiedCheckpoint(dir);
      for (const r of v.rejected)
        process.stderr.write(`checkpoint ${shownPath(r.ref.weights)} (step ${r.ref.step}) is not usable: ${r.problem}\n`);
      if (!v.found)
        throw new ChatFailure(
          `phase ${name} has no ${v.rejected.length ? "usable " : ""}checkpoint in ${shownPath(dir)}: train it first (\`llavac run ${spec} --phase ${name}${o.out ? ` -o ${o.out}` : ""}\`), or give --checkpoint FILE`,
        );
      weights = v.found.ref.weights;
    }

    const { selectBackend, BackendError } = await import("../../runtime/backend/index.js");
    // TensorFlow's start-up notes would mix into the conversation.
    process.env.TF_CPP_MIN_LOG_LEVEL ??= "2";
    let backend: string;
    try {
      backend = (await selectBackend(o.backend)).backend;
    } catch (err) {
      if (err instanceof BackendError) throw new ChatUsageError(err.message);
      throw err;
    }
    const { ParamStore } = await import("../../runtime/model/params.js");
    const { LlavaModel } = await import("../../runtime/model/llava.js");
    const { loadWeights } = await import("../../runtime/weights/load.js");
    const mc = cfg.model;
    const store = new ParamStore(mc.arch, { seed: 0, std: { image_model: 0.02, text_model: 0.02, projector_image_model: 0.02 } });
    let report: ReturnType<typeof loadWeights>;
    try {
      report = loadWeights(store, [weights]);
    } catch (err) {
      throw new ChatFailure(`cannot read ${weights}: ${(err as Error).message}`);
    }
    // Every parameter of the phase's model must come from the file, at its shape.
    if (report.mismatched.length || report.missing.length) {
      const shape = (s: number[]) => `[${s.join(", ")}]`;
      const differ = new Set(report.mismatched.map((m) => m.cs));
      const absent = report.missing.filter((n) => !differ.has(n));
      const lines = [
        ...report.mismatched.map((m) => `  ${m.cs}: ${shape(m.got)} in the file, ${shape(m.expected)} in the model`),
        ...absent.map((n) => `  ${n}: not in the file`),
      ];
      throw new ChatFailure(
        `${shownPath(weights)} does not fit phase ${name}'s model (${report.mismatched.length} shape(s) differ, ${absent.length} parameter(s) missing):\n${lines.slice(0, 8).join("\n")}${lines.length > 8 ? `\n  … and ${lines.length - 8} more` : ""}\nwas it trained from another spec, or with other --set overrides?`,
      );
    }
    const model = new LlavaModel(mc, store);

    const { loadTokenizer, tokenizerSourceOf } = await import("../../runtime/text/tokenizer.js");
    const tk = phase.unit.ir.model.language.tokenizer;
    const tok = await loadTokenizer(
      tokenizerSourceOf(tk, (p) => path.resolve(result.ctx.cwd, p)),
      tk?.pad_id ?? phase.derived.tokenizer?.pad,
    );
    process.stderr.write(`chat: phase ${name} (${template.name} template) from ${shownPath(weights)} on ${backend}\n`);
    if (template.layout === "plain")
      process.stderr.write(`chat: the plain template has no prompt: the model continues the image with a caption, whatever is asked\n`);

    const { generationPrompt } = await import("../../runtime/text/layout.js");
    const { cleaningOf } = await import("../../runtime/data/classify.js");
    const pre = phase.unit.ir.preprocess;
    // The writer's own rule (one home): the phase's use_ftfy / ftfy_normalizer, with the writer's defaults.
    const cleaning = cleaningOf({
      ...(pre?.use_ftfy != null ? { useFtfy: pre.use_ftfy } : {}),
      ...(pre?.ftfy_normalizer != null ? { ftfyNormalizer: pre.ftfy_normalizer } : {}),
    });
    const { generate, textStream } = await import("../../runtime/model/generate.js");
    const turns: { from: string; value: string }[] = [];
    const answer = async (text: string): Promise<void> => {
      turns.push({ from: "human", value: turns.length === 0 ? `<image>\n${text}` : text });
      const laid = generationPrompt(tok, template, turns, mc.num_patches, "<image>", cleaning);
      if (laid.imageStart !== mc.image_start_idx)
        throw new ChatFailure(`the template puts the image at ${laid.imageStart}, the model at ${mc.image_start_idx}`);
      if (laid.tokens.length > mc.max_sequence_length)
        throw new ChatFailure(
          `the conversation has ${laid.tokens.length} tokens; the model reads at most ${mc.max_sequence_length} (start a new chat)`,
        );
      const stream = textStream(tok);
      const r = await generate(model, laid.tokens, image, {
        maxNewTokens: maxNew,
        eosId: tok.eosId,
        cache: o.cache,
        ...(temperature > 0 ? { sampling: { temperature, topP, seed: seed + turns.length } } : {}),
        onToken: (id) => process.stdout.write(stream(id)),
      });
      process.stdout.write("\n");
      if (r.stop === "max_new_tokens") process.stderr.write(`chat: stopped after --max-new-tokens ${maxNew}\n`);
      if (r.stop === "max_length") process.stderr.write(`chat: stopped: the model's ${mc.max_sequence_length} positions are full\n`);
      turns.push({ from: "gpt", value: tok.decode(r.ids.filter((id) => id !== tok.eosId)) });
    };

    if (o.prompt !== undefined) {
      await answer(o.prompt);
      return;
    }
    // Interactive: a prompt per line, the conversation kept, until end of input (Ctrl-D).
    const tty = process.stdin.isTTY === true;
    if (tty) process.stderr.write("chat: one prompt per line; Ctrl-D ends\n");
    const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: tty, prompt: "> " });
    // Ctrl-C ends the conversation (readline would only pause the input).
    rl.on("SIGINT", () => rl.close());
    if (tty) rl.prompt();
    for await (const line of rl) {
      if (line.trim() !== "") await answer(line.trim());
      if (tty) rl.prompt();
    }
  });
}
