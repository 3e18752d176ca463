// `llavac chat` and the pieces under it: the generation prompt is the training layout up to the answer,
// seeded sampling, streamed text, and the command's choice of checkpoint and its errors. (That a trained
// model answers correctly is tested in program.test.ts, on the tiny example it trains; that greedy ids equal
// HuggingFace's generate, in parity.test.ts.)
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { compile } from "../compiler/compile.js";
import { templateOf } from "../compiler/derive.js";
import { runConfig } from "../compiler/run-config.js";
import { selectBackend } from "../runtime/backend/index.js";
import { argmax, sampleToken, textStream } from "../runtime/model/generate.js";
import { ParamStore } from "../runtime/model/params.js";
import { generationPrompt, layoutConversation, type Template, type Turn } from "../runtime/text/layout.js";
import { loadTokenizer, type Tokenizer, tokenizerSourceOf } from "../runtime/text/tokenizer.js";
import { saveCheckpoint } from "../runtime/train/checkpoint.js";
import type { PhaseRunConfig } from "../runtime/train/config.js";
import { AdamW } from "../runtime/train/optimizer.js";
import { Random } from "../runtime/util/random.js";
import { tempDir, writeImage } from "./data-helpers.js";
import { ROOT, run } from "./helpers.js";

const SPEC = path.join(ROOT, "examples/tiny-shapes/tiny.llava");
const BIN = path.join(ROOT, "bin/llavac.js");

let dir: string;
let tok: Tokenizer;
const templates: Record<string, Template> = {};
const configs: Record<string, PhaseRunConfig> = {};

beforeAll(async () => {
  dir = tempDir("llavac-chat-");
  const result = await compile(SPEC, { env: { LLAVAC_TINY_DATA: path.join(dir, "data") }, emit: false });
  for (const p of result.phases) {
    templates[p.unit.ir.$name] = templateOf(p.unit.ir.template);
    configs[p.unit.ir.$name] = runConfig(result, p as Parameters<typeof runConfig>[1], path.join(dir, "out"));
  }
  // The example's own vocabulary (tools/tiny-tokenizer), as `llavac chat` loads it.
  tok = await loadTokenizer(tokenizerSourceOf(result.phases[0]!.unit.ir.model.language.tokenizer, (p) => path.resolve(ROOT, p)));
  await writeImage(path.join(dir, "shape.jpg"), "#dd2222");
});

const h = (value: string): Turn => ({ from: "human", value });
const g = (value: string): Turn => ({ from: "gpt", value });

describe("the generation prompt is the training layout up to the answer", () => {
  // Training's input ids up to the position that predicts the k-th answer's first token (the k-th 0 → 1 of the loss mask).
  function trainedPrefix(template: Template, turns: Turn[], k: number): number[] {
    const r = layoutConversation(tok, template, turns, true, { numPatches: 30, msl: 400 });
    if (!r.ok) throw new Error(r.detail);
    const [ids, loss] = r.rows;
    let seen = 0;
    for (let j = 0; j < r.length; j++)
      if (loss[j] === 1 && (j === 0 || loss[j - 1] === 0) && ++seen === k) return [...ids.subarray(0, j + 1)];
    throw new Error(`no answer ${k}`);
  }

  it("vicuna_v1: system, USER:, the image slots, the prompt, ASSISTANT:, for the first turn and a later one", () => {
    const t = templates.finetune!;
    expect(t.layout).toBe("chat");
    const turns = [h("<image>\nWhat colour is the shape?"), g("Red."), h("What shape is this?"), g("A square.")];
    const first = generationPrompt(tok, t, turns.slice(0, 1), 30);
    expect(first.tokens).toEqual(trainedPrefix(t, turns, 1));
    expect(first.imageStart).toBe(configs.finetune!.model.image_start_idx);
    expect(tok.decode(first.tokens.slice(-8))).toMatch(/shape\? ASSISTANT:$/);
    expect(generationPrompt(tok, t, turns.slice(0, 3), 30).tokens).toEqual(trainedPrefix(t, turns, 2));
    // And it can tell: a prompt without the assistant role is not the trained one.
    expect(generationPrompt(tok, { ...t, assistant: "" }, turns.slice(0, 1), 30).tokens).not.toEqual(trainedPrefix(t, turns, 1));
  });

  it("plain: <s> and the image slots (the prompt's text is dropped, as in training); an even number of turns is refused", () => {
    const t = templates.pretrain!;
    const turns = [h("<image>\nDescribe it."), g("a red square")];
    const p = generationPrompt(tok, t, turns.slice(0, 1), 30);
    expect(p.tokens).toEqual([tok.bosId, ...new Array(30).fill(tok.padId)]);
    // The last slot is the position trained to predict the caption's first token.
    expect(p.tokens).toEqual(trainedPrefix(t, turns, 1));
    expect(() => generationPrompt(tok, t, turns, 30)).toThrow(/ends with the turn to answer/);
  });
});

describe("sampling", () => {
  const logits = Float32Array.from([Math.log(0.4), Math.log(0.3), Math.log(0.2), Math.log(0.1)]);
  const draws = (s: { temperature: number; topP: number; seed: number }, n = 4000) => {
    const rng = new Random(s.seed);
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < n; i++) counts[sampleToken(logits, s, rng)]!++;
    return counts.map((c) => c / n);
  };

  it("temperature 1 draws each token at its probability; the same seed draws the same tokens", () => {
    const f = draws({ temperature: 1, topP: 1, seed: 7 });
    [0.4, 0.3, 0.2, 0.1].forEach((p, i) => expect(Math.abs(f[i]! - p)).toBeLessThan(0.03));
    expect(draws({ temperature: 1, topP: 1, seed: 7 })).toEqual(f);
    expect(draws({ temperature: 1, topP: 1, seed: 8 })).not.toEqual(f);
  });

  it("top-p keeps the fewest likely tokens reaching p; temperature 0 and a tiny top-p are greedy", () => {
    const f = draws({ temperature: 1, topP: 0.65, seed: 1 });
    expect(f[2]).toBe(0);
    expect(f[3]).toBe(0);
    expect(Math.abs(f[0]! - 0.4 / 0.7)).toBeLessThan(0.03);
    expect(draws({ temperature: 1, topP: 1e-6, seed: 1 })).toEqual([1, 0, 0, 0]);
    expect(draws({ temperature: 0, topP: 1, seed: 1 })).toEqual([1, 0, 0, 0]);
    // A low temperature sharpens, a high one flattens.
    expect(draws({ temperature: 0.3, topP: 1, seed: 1 })[0]).toBeGreaterThan(0.6);
    expect(draws({ temperature: 5, topP: 1, seed: 1 })[3]).toBeGreaterThan(0.18);
    expect(argmax(Float32Array.from([1, 3, 3, 2]))).toBe(1);
  });
});

describe("streaming", () => {
  it("the streamed pieces join to the decoded answer, also across a character split over byte tokens", () => {
    const text = "Grün ist 緑 🟩, not red.";
    const ids = tok.encode(text);
    // The emoji is not in the vocabulary: it is spelled in bytes, so a chunk must wait for the last one.
    expect(ids.some((id) => /^<0x[0-9A-F]{2}>$/.test(tok.idToPiece(id)))).toBe(true);
    const stream = textStream(tok);
    const chunks = [...ids, tok.eosId].map(stream);
    expect(chunks.join("")).toBe(tok.decode(ids));
    expect(chunks.some((c) => c.includes("\uFFFD"))).toBe(false);
  });
});

describe("llavac chat: which checkpoint, and the errors", () => {
  const llavac = (args: string[]) =>
    run(process.execPath, [BIN, "chat", SPEC, "-o", path.join(dir, "out"), "--image", path.join(dir, "shape.jpg"), ...args], {
      cwd: ROOT,
      env: { NO_COLOR: "1", CI: "1", LLAVAC_TINY_DATA: path.join(dir, "data") },
    });

  it("no checkpoint: names the folder and how to train it (exit 1); bad options are usage errors (exit 2)", async () => {
    const r = await llavac(["--prompt", "What colour is the shape?"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /phase finetune has no checkpoint in \S*out\/finetune\/checkpoints: train it first \(`llavac run .*--phase finetune/,
    );
    for (const [args, why] of [
      [["--top-p", "0.9"], /--top-p filters sampling: give --temperature above 0/],
      [["--temperature", "-1"], /--temperature wants a number ≥ 0/],
      [["--max-new-tokens", "0"], /--max-new-tokens wants a positive integer/],
      [["--phase", "nope"], /no phase `nope` \(the spec has pretrain, finetune\)/],
      [["--checkpoint", "nowhere.safetensors"], /--checkpoint: not a file: nowhere.safetensors/],
    ] as const) {
      const u = await llavac([...args]);
      expect(u.code, u.stderr).toBe(2);
      expect(u.stderr).toMatch(why);
    }
  });

  it("the newest verified checkpoint is used (a corrupt newer one is named and passed over); the cache changes no token", async () => {
    await selectBackend("cpu");
    const cfg = configs.finetune!;
    const store = new ParamStore(cfg.model.arch, { seed: 5, std: { image_model: 0.02, text_model: 0.02, projector_image_model: 0.02 } });
    const opt = new AdamW({ betas: [0.9, 0.999], eps: 1e-8, weight_decay: 0, correct_bias: true }, new Map());
    const ckpts = path.join(dir, "out/finetune/checkpoints");
    const state = { format: "llavac-checkpoint/1" as const, phase: "finetune", cursor: 0, seed: 0, history: [], trainable: [] };
    await saveCheckpoint(ckpts, store, opt, { ...state, step: 1 }, 5);
    await saveCheckpoint(ckpts, store, opt, { ...state, step: 2 }, 5);
    const bytes = readFileSync(path.join(ckpts, "checkpoint_2.safetensors"));
    bytes[bytes.length - 10] ^= 1;
    writeFileSync(path.join(ckpts, "checkpoint_2.safetensors"), bytes);
    const args = ["--prompt", "What colour is the shape?", "--max-new-tokens", "6", "--backend", "cpu"];
    const r = await llavac(args);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/checkpoint \S*checkpoint_2\.safetensors \(step 2\) is not usable: .*SHA-256/);
    expect(r.stderr).toMatch(/chat: phase finetune \(vicuna_v1 template\) from \S*checkpoint_1\.safetensors on cpu/);
    // An untrained model does not stop by itself: it runs to the token budget.
    expect(r.stderr).toMatch(/stopped after --max-new-tokens 6/);
    const uncached = await llavac([...args, "--no-cache"]);
    expect(uncached.code, uncached.stderr).toBe(0);
    expect(uncached.stdout).toBe(r.stdout);
    // Interactive: prompts from standard input, one answer per line.
    const { spawnSync } = await import("node:child_process");
    const i = spawnSync(
      process.execPath,
      [BIN, "chat", SPEC, "-o", path.join(dir, "out"), "--image", path.join(dir, "shape.jpg"), "--max-new-tokens", "6", "--backend", "cpu"],
      { cwd: ROOT, input: "What colour is the shape?\n\nWhat shape is this?\n", encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } },
    );
    expect(i.status, i.stderr).toBe(0);
    expect(i.stdout.split("\n")[0]).toBe(r.stdout.split("\n")[0]);
    expect(i.stdout.trimEnd().split("\n")).toHaveLength(2);
  });

  it("a checkpoint of another model is refused with the shapes that differ", async () => {
    const other = path.join(dir, "other.safetensors");
    copyFileSync(path.join(ROOT, "test/fixtures/parity/model.safetensors"), other);
    const r = await llavac(["--checkpoint", other, "--prompt", "x"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/other\.safetensors does not fit phase finetune's model \(\d+ shape\(s\) differ/);
    expect(r.stderr).toMatch(/text_model\.embedding_layer\.word_embeddings\.weight: \[256, 64\] in the file, \[512, 64\] in the model/);
    mkdirSync(path.join(dir, "img"), { recursive: true });
    writeFileSync(path.join(dir, "img/not.png"), "not an image");
    const bad = await run(
      process.execPath,
      [BIN, "chat", SPEC, "--checkpoint", other, "--image", path.join(dir, "img/not.png"), "--prompt", "x"],
      { cwd: ROOT, env: { NO_COLOR: "1" } },
    );
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/--image \S*not\.png cannot be read as an image/);
  });
});
