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
import { type Batch, LlavaModel } from "../runtime/model/llava.js";
import { ParamStore } from "../runtime/model/params.js";
import { loadWeights } from "../runtime/weights/load.js";
import { openSafetensors } from "../runtime/weights/safetensors.js";
import { ROOT } from "./helpers.js";
import { HAS_NATIVE, warnIfNoNative } from "./native.js";

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

/** The fixture's HF configuration in llavac's terms. */
function config(e: Expected): LlavaModelConfig {
  const v = e.vision as Record<string, number>,
    t = e.text,
    rope = t.rope as Record<string, number> & { rope_type: string };
  return {
    arch: {
      vision: {
        hidden_size: v.hidden_size!,
        num_hidden_layers: v.num_hidden_layers!,
        num_heads: v.num_attention_heads!,
        filter_size: v.intermediate_size!,
        image_size: [v.image_size!, v.image_size!],
        patch_size: [v.patch_size!, v.patch_size!],
        num_channels: v.num_channels!,
        prepend_cls_token: true,
        use_conv_patchified_embedding: true,
        use_embed_proj_bias: false,
        use_post_embed_layer_norm: true,
        use_final_layer_norm: true,
        use_projection_bias_in_attention: true,
        use_ffn_bias_in_attention: true,
        use_ffn_bias: true,
        position_embedding_type: "learned",
        nonlinearity: e.vision.hidden_act as string,
      },
      text: {
        vocab_size: t.vocab_size!,
        hidden_size: t.hidden_size!,
        num_hidden_layers: t.num_hidden_layers!,
        num_heads: t.num_attention_heads!,
        num_key_value_heads: t.num_key_value_heads!,
        filter_size: t.intermediate_size!,
        max_position_embeddings: t.max_position_embeddings!,
        position_embedding_type: "rotary",
        nonlinearity: "swiglu",
        norm_type: "rmsnorm",
        use_projection_bias_in_attention: t.qkv_bias,
        use_ffn_bias_in_attention: false,
        use_ffn_bias: false,
        use_bias_in_output: false,
        share_embedding_weights: false,
      },
      projector: { input_unit: v.hidden_size!, layers_units: [t.hidden_size!, t.hidden_size!], use_bias: true },
    },
    vision: {
      layer_norm_epsilon: v.layer_norm_eps!,
      select_layer: v.feature_layer!,
      select: "patch",
      norm_first: true,
      embedding_dropout_rate: 0,
      dropout_rate: 0,
      attention_dropout_rate: 0,
      initializer_range: 0.02,
    },
    text: {
      layer_norm_epsilon: t.rms_norm_eps!,
      rope_theta: rope.rope_theta!,
      rotary_dim: t.hidden_size! / t.num_attention_heads!,
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
      embedding_dropout_rate: 0,
      dropout_rate: 0,
      attention_dropout_rate: 0,
      initializer_range: 0.02,
    },
    projector_activations: ["gelu", null],
    image_start_idx: e.image_start_idx,
    num_patches: e.num_patches,
    max_sequence_length: t.max_position_embeddings!,
    loss_scaling: "num_tokens",
    loss_weight: 1,
  };
}

function inputs(c: string): { batch: Batch; logits: Float32Array; shape: number[] } {
  const f = openSafetensors(path.join(ROOT_DIR, c, "inputs.safetensors"));
  const ints = (n: string) => new Int32Array(f.raw(n).data.slice().buffer);
  const [B, T] = f.info("input_ids")!.shape as [number, number];
  const px = f.info("pixel_values")!.shape as [number, number, number, number];
  const batch: Batch = {
    size: B,
    length: T,
    inputIds: ints("input_ids"),
    lossMask: ints("loss_mask"),
    labels: ints("labels"),
    keyPadding: ints("attention_mask").map((a) => 1 - a),
    images: f.float32("pixel_values"),
    imageShape: [px[1]!, px[2]!, px[3]!],
  };
  const out = { batch, logits: f.float32("logits"), shape: f.info("logits")!.shape };
  f.close();
  return out;
}

const worstDiff = (a: Float32Array, b: Float32Array) => a.reduce((w, x, i) => Math.max(w, Math.abs(x - b[i]!)), 0);

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
    const loss = tf.tidy(() => {
      const r = model.lossSum(batch, { training: false });
      return r.sum.dataSync()[0]! / r.tokens;
    });
    expect(Math.abs(loss - e.loss)).toBeLessThan(1e-5);
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
