// Correctness against HuggingFace: the runtime loads a random-weight LLaVA written by transformers'
// LlavaForConditionalGeneration (HF names, CLS position row first) through the HF → Cerebras mapping,
// and must reproduce PyTorch's logits (1e-4) and loss (1e-5). The fixture comes from
// tools/parity/make_fixture.py and is committed, so this runs without torch.
import { readFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import * as tf from "../runtime/backend/tf.js";
import { selectBackend } from "../runtime/backend/index.js";
import type { LlavaModelConfig } from "../runtime/model/config.js";
import { generate } from "../runtime/model/generate.js";
import { LlavaModel, type Batch } from "../runtime/model/llava.js";
import { ParamStore } from "../runtime/model/params.js";
import { loadWeights } from "../runtime/weights/load.js";
import { openSafetensors } from "../runtime/weights/safetensors.js";
import { ROOT } from "./helpers.js";
import { HAS_NATIVE, warnIfNoNative } from "./native.js";

const DIR = path.join(ROOT, "test/fixtures/parity");
const expected = JSON.parse(readFileSync(path.join(DIR, "expected.json"), "utf8"));
const generations = JSON.parse(readFileSync(path.join(DIR, "generate.json"), "utf8")) as {
  eos_token_id: number;
  generations: { sequence: number; prompt_length: number; new_tokens: number[]; min_margin: number }[];
};

/** The fixture's HF configuration in llavac's terms. */
function config(): LlavaModelConfig {
  const v = expected.vision,
    t = expected.text;
  return {
    arch: {
      vision: {
        hidden_size: v.hidden_size,
        num_hidden_layers: v.num_hidden_layers,
        num_heads: v.num_attention_heads,
        filter_size: v.intermediate_size,
        image_size: [v.image_size, v.image_size],
        patch_size: [v.patch_size, v.patch_size],
        num_channels: v.num_channels,
        prepend_cls_token: true,
        use_conv_patchified_embedding: true,
        use_embed_proj_bias: false,
        use_post_embed_layer_norm: true,
        use_final_layer_norm: true,
        use_projection_bias_in_attention: true,
        use_ffn_bias_in_attention: true,
        use_ffn_bias: true,
        position_embedding_type: "learned",
        nonlinearity: v.hidden_act,
      },
      text: {
        vocab_size: t.vocab_size,
        hidden_size: t.hidden_size,
        num_hidden_layers: t.num_hidden_layers,
        num_heads: t.num_attention_heads,
        filter_size: t.intermediate_size,
        max_position_embeddings: t.max_position_embeddings,
        position_embedding_type: "rotary",
        nonlinearity: "swiglu",
        norm_type: "rmsnorm",
        use_projection_bias_in_attention: false,
        use_ffn_bias_in_attention: false,
        use_ffn_bias: false,
        use_bias_in_output: false,
        share_embedding_weights: false,
      },
      projector: { input_unit: v.hidden_size, layers_units: [t.hidden_size, t.hidden_size], use_bias: true },
    },
    vision: {
      layer_norm_epsilon: v.layer_norm_eps,
      select_layer: v.feature_layer,
      select: "patch",
      norm_first: true,
      embedding_dropout_rate: 0,
      dropout_rate: 0,
      attention_dropout_rate: 0,
      initializer_range: 0.02,
    },
    text: {
      layer_norm_epsilon: t.rms_norm_eps,
      rope_theta: t.rope.rope_theta,
      rotary_dim: t.hidden_size / t.num_attention_heads,
      embedding_dropout_rate: 0,
      dropout_rate: 0,
      attention_dropout_rate: 0,
      initializer_range: 0.02,
    },
    projector_activations: ["gelu", null],
    image_start_idx: expected.image_start_idx,
    num_patches: expected.num_patches,
    max_sequence_length: t.max_position_embeddings,
    loss_scaling: "num_tokens",
    loss_weight: 1,
  };
}

function inputs(): { batch: Batch; logits: Float32Array; shape: number[] } {
  const f = openSafetensors(path.join(DIR, "inputs.safetensors"));
  const ints = (n: string) => new Int32Array(f.raw(n).data.slice().buffer);
  const [B, T] = f.info("input_ids")!.shape as [number, number];
  const attention = ints("attention_mask");
  const px = f.info("pixel_values")!.shape as [number, number, number, number];
  const batch: Batch = {
    size: B,
    length: T,
    inputIds: ints("input_ids"),
    lossMask: ints("loss_mask"),
    labels: ints("labels"),
    keyPadding: attention.map((a) => 1 - a),
    images: f.float32("pixel_values"),
    imageShape: [px[1], px[2], px[3]],
  };
  const out = { batch, logits: f.float32("logits"), shape: f.info("logits")!.shape };
  f.close();
  return out;
}

warnIfNoNative("parity");

// The native backend is what `llavac run` prefers; wasm is the fallback everywhere else; cpu is the
// reference implementation of every kernel.
describe.each(["tensorflow", "wasm", "cpu"])("parity with HuggingFace LlavaForConditionalGeneration (%s backend)", (backend) => {
  let model: LlavaModel;
  if (backend === "tensorflow" && !HAS_NATIVE) {
    it.skip("skipped: the native backend is not built here (llavac backend install)", () => {});
    return;
  }
  beforeAll(async () => {
    await selectBackend(backend);
    const store = new ParamStore(config().arch, { seed: 0, std: { image_model: 0.02, text_model: 0.02, projector_image_model: 0.02 } });
    const report = loadWeights(store, [path.join(DIR, "model.safetensors")]);
    // Every HF tensor maps to a parameter and every parameter gets one.
    expect(report.unknown).toEqual([]);
    expect(report.mismatched).toEqual([]);
    expect(report.missing).toEqual([]);
    expect(report.layouts).toEqual(["hub"]);
    model = new LlavaModel(config(), store);
  });

  it("logits match PyTorch to 1e-4", () => {
    const { batch, logits, shape } = inputs();
    const ours = tf.tidy(() => model.logits(batch).dataSync() as Float32Array);
    expect([batch.size, batch.length, model.config.arch.text.vocab_size]).toEqual(shape);
    let worst = 0;
    for (let i = 0; i < ours.length; i++) worst = Math.max(worst, Math.abs(ours[i]! - logits[i]!));
    expect(worst).toBeLessThan(1e-4);
  });

  it("the loss matches PyTorch to 1e-5", () => {
    const { batch } = inputs();
    const loss = tf.tidy(() => {
      const r = model.lossSum(batch, { training: false });
      return r.sum.dataSync()[0]! / r.tokens;
    });
    expect(Math.abs(loss - expected.loss)).toBeLessThan(1e-5);
  });

  it("fails when a weight is perturbed (the comparison can tell)", () => {
    const { batch, logits } = inputs();
    const name = "text_model.transformer_decoder.layers.1.ffn.ffn.0.linear_layer_for_glu.weight";
    const w = model.params.get(name);
    const saved = w.clone();
    w.assign(w.add(1e-3));
    const ours = tf.tidy(() => model.logits(batch).dataSync() as Float32Array);
    w.assign(saved);
    saved.dispose();
    let worst = 0;
    for (let i = 0; i < ours.length; i++) worst = Math.max(worst, Math.abs(ours[i]! - logits[i]!));
    expect(worst).toBeGreaterThan(1e-4);
  });

  it("greedy generation gives HF generate's 32 token ids, with and without the key/value cache", async () => {
    const { batch } = inputs();
    const [C, H, W] = batch.imageShape;
    const image = (b: number) => batch.images.slice(b * C * H * W, (b + 1) * C * H * W);
    expect(generations.generations).toHaveLength(2);
    await generate(model, Array.from(batch.inputIds.subarray(0, 24)), image(0), { maxNewTokens: 1 }); // makes the rotary table once
    for (const g of generations.generations) {
      const prompt = Array.from(batch.inputIds.subarray(g.sequence * batch.length, g.sequence * batch.length + g.prompt_length));
      const opts = { maxNewTokens: 32, eosId: generations.eos_token_id };
      const tensors = tf.memory().numTensors;
      const cached = await generate(model, prompt, image(g.sequence), opts);
      // Generation with the cache frees what it allocates (the cache included).
      expect(tf.memory().numTensors).toBe(tensors);
      const uncached = await generate(model, prompt, image(g.sequence), { ...opts, cache: false });
      expect(cached.ids, `sequence ${g.sequence}`).toEqual(g.new_tokens);
      expect(uncached.ids, `sequence ${g.sequence} without the cache`).toEqual(g.new_tokens);
      expect(cached.stop).toBe(g.new_tokens.length === 32 ? "max_new_tokens" : "eos");
      // The image reaches generation: another image gives other tokens (so the comparison can fail).
      const other = await generate(model, prompt, image(1 - g.sequence), opts);
      expect(other.ids).not.toEqual(g.new_tokens);
    }
  });
});
