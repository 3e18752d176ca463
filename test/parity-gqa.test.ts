// Grouped-query attention against HuggingFace: random-weight LLaVAs in the llava-hf layout whose text
// models share key/value heads (Mistral with a sliding window, Llama-3.1 multi-query with the `llama3`
// rope scaling, Qwen2 with q/k/v biases), written by transformers' LlavaForConditionalGeneration
// (tools/parity/make_gqa_fixture.py, committed in test/fixtures/parity-gqa). The runtime loads them through
// the HF → Cerebras mapping and must reproduce PyTorch's logits (1e-4), loss (1e-5) and greedy generation
// (with and without the key/value cache) on every backend.
import { readFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { selectBackend } from "../runtime/backend/index.js";
import * as tf from "../runtime/backend/tf.js";
import { textParameters } from "../runtime/model/arch.js";
import type { LlavaModelConfig } from "../runtime/model/config.js";
import { generate } from "../runtime/model/generate.js";
import { LlavaModel } from "../runtime/model/llava.js";
import { ParamStore } from "../runtime/model/params.js";
import { loadWeights } from "../runtime/weights/load.js";
import { ROOT } from "./helpers.js";
import { HAS_NATIVE, warnIfNoNative } from "./native.js";
import { CLIP_TOWER, fixtureConfig, fixtureInputs, meanLoss, worstDiff } from "./parity-fixture.js";

const ROOT_DIR = path.join(ROOT, "test/fixtures/parity-gqa");
const CASES = ["mistral", "llama31", "qwen2"] as const;

interface Expected {
  loss: number;
  image_start_idx: number;
  num_patches: number;
  vision: Record<string, number | string>;
  text: Record<string, number> & {
    rope: Record<string, number | string>;
    sliding_window: number | null;
    qkv_bias: boolean;
  };
}

const read = (c: string, f: string) => JSON.parse(readFileSync(path.join(ROOT_DIR, c, f), "utf8"));

/** The fixture's HF configuration in llavac's terms: the shared LLaVA one with the text model's GQA settings. */
function config(e: Expected): LlavaModelConfig {
  const base = fixtureConfig(e, CLIP_TOWER),
    t = e.text,
    rope = t.rope as Record<string, number> & { rope_type: string };
  return {
    ...base,
    arch: {
      ...base.arch,
      text: { ...base.arch.text, num_key_value_heads: t.num_key_value_heads!, use_projection_bias_in_attention: t.qkv_bias },
    },
    text: {
      ...base.text,
      ...(rope.rope_type === "llama3"
        ? {
            rope_scaling: {
              type: "llama3" as const,
              factor: rope.factor!,
              low_freq_factor: rope.low_freq_factor!,
              high_freq_factor: rope.high_freq_factor!,
              original_max_position_embeddings: rope.original_max_position_embeddings!,
            },
          }
        : {}),
      ...(t.sliding_window !== null ? { sliding_window: t.sliding_window } : {}),
    },
  };
}

const inputs = (c: string) => fixtureInputs(path.join(ROOT_DIR, c));

warnIfNoNative("GQA parity");

describe.each(["tensorflow", "wasm", "cpu"])("GQA parity with HuggingFace LlavaForConditionalGeneration (%s backend)", (backend) => {
  if (backend === "tensorflow" && !HAS_NATIVE) {
    it.skip("skipped: the native backend is not built here (llavac backend install)", () => {});
    return;
  }
  const models = new Map<string, LlavaModel>();
  beforeAll(async () => {
    await selectBackend(backend);
    for (const c of CASES) {
      const cfg = config(read(c, "expected.json"));
      const store = new ParamStore(cfg.arch, { seed: 0, std: { image_model: 0.02, text_model: 0.02, projector_image_model: 0.02 } });
      const report = loadWeights(store, [path.join(ROOT_DIR, c, "model.safetensors")]);
      // Every HF tensor maps to a parameter and every parameter gets one, k/v at their grouped widths.
      expect(report.unknown, c).toEqual([]);
      expect(report.mismatched, c).toEqual([]);
      expect(report.missing, c).toEqual([]);
      models.set(c, new LlavaModel(cfg, store));
    }
  });

  it.each(CASES)("%s: logits to 1e-4 and the loss to 1e-5", (c) => {
    const model = models.get(c)!;
    const e = read(c, "expected.json") as Expected;
    const { batch, logits, shape } = inputs(c);
    const ours = tf.tidy(() => model.logits(batch).dataSync() as Float32Array);
    expect([batch.size, batch.length, e.text.vocab_size]).toEqual(shape);
    expect(worstDiff(ours, logits)).toBeLessThan(1e-4);
    expect(Math.abs(meanLoss(model, batch) - e.loss)).toBeLessThan(1e-5);
  });

  it.each(CASES)("%s: the comparison can fail (full attention, no rope scaling, or a perturbed key projection differ)", (c) => {
    const model = models.get(c)!;
    const { batch, logits } = inputs(c);
    const cfg = model.config;
    // What makes the case what it is: without it the logits are off.
    const plain: LlavaModelConfig = {
      ...cfg,
      text: { ...cfg.text, sliding_window: undefined, rope_scaling: undefined } as LlavaModelConfig["text"],
    };
    if (c !== "qwen2") {
      const off = tf.tidy(() => new LlavaModel(plain, model.params).logits(batch).dataSync() as Float32Array);
      expect(worstDiff(off, logits)).toBeGreaterThan(1e-4);
    }
    const name = "text_model.transformer_decoder.layers.1.self_attn.proj_k_dense_layer.weight";
    const w = model.params.get(name);
    expect(w.shape).toEqual([
      (cfg.arch.text.hidden_size / cfg.arch.text.num_heads) * cfg.arch.text.num_key_value_heads!,
      cfg.arch.text.hidden_size,
    ]);
    const saved = w.clone();
    w.assign(w.add(1e-2));
    const ours = tf.tidy(() => model.logits(batch).dataSync() as Float32Array);
    w.assign(saved);
    saved.dispose();
    expect(worstDiff(ours, logits)).toBeGreaterThan(1e-4);
  });

  // The key/value cache holds the unrepeated key/value heads and, with a sliding window, masks what fell out of
  // it (the fixture asserts that HF's generate gives the same ids with and without its cache; the uncached
  // path is the forward pass the logits test checks).
  it.each(CASES)("%s: greedy generation with the key/value cache gives HF generate's token ids", async (c) => {
    const model = models.get(c)!;
    const gens = read(c, "generate.json") as {
      eos_token_id: number;
      generations: { sequence: number; prompt_length: number; new_tokens: number[] }[];
    };
    const { batch } = inputs(c);
    const [C, H, W] = batch.imageShape;
    const image = (b: number) => batch.images.slice(b * C * H * W, (b + 1) * C * H * W);
    // The first call makes the rotary table of every position, which is kept for the process.
    await generate(model, Array.from(batch.inputIds.subarray(0, 24)), image(0), { maxNewTokens: 1 });
    // The first prompt (31 tokens): the sliding window of 16 blocks part of the cache at every new token.
    for (const g of gens.generations.slice(0, 1)) {
      const prompt = Array.from(batch.inputIds.subarray(g.sequence * batch.length, g.sequence * batch.length + g.prompt_length));
      // The first 12 of HF's 32 greedy tokens (a greedy prefix is the same whatever follows), to keep the test short.
      const expected = g.new_tokens.slice(0, 12);
      const opts = { maxNewTokens: expected.length, eosId: gens.eos_token_id };
      const tensors = tf.memory().numTensors;
      const cached = await generate(model, prompt, image(g.sequence), opts);
      expect(tf.memory().numTensors).toBe(tensors);
      expect(cached.ids, `sequence ${g.sequence}`).toEqual(expected);
    }
  });
});

describe("the fixtures' key/value widths are the parameter tree's", () => {
  it.each(CASES)("%s", (c) => {
    const cfg = config(read(c, "expected.json"));
    const tensors = (read(c, "expected.json") as { tensors: string[] }).tensors;
    const t = cfg.arch.text;
    const k = textParameters(t).find((p) => p.name.endsWith("layers.0.self_attn.proj_k_dense_layer.weight"))!;
    expect(k.shape).toEqual([(t.hidden_size / t.num_heads) * t.num_key_value_heads!, t.hidden_size]);
    expect(tensors.some((n) => n.includes("language_model") && n.endsWith("layers.0.self_attn.q_proj.bias"))).toBe(c === "qwen2");
  });
});
