// SigLIP parity with HuggingFace: the runtime loads a random-weight LLaVA whose vision tower is a
// SiglipVisionModel (no CLS token, no pre-layernorm, gelu_pytorch_tanh, biased patch embedding, its
// attention-pooling head in the weights) written by transformers' LlavaForConditionalGeneration, and must
// reproduce PyTorch's logits (1e-4) and loss (1e-5) with every patch as an image feature. The fixture comes
// from tools/parity/make_siglip_fixture.py and is committed, so this runs without torch.
import { readFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import * as tf from "../runtime/backend/tf.js";
import { selectBackend } from "../runtime/backend/index.js";
import type { LlavaModelConfig } from "../runtime/model/config.js";
import { LlavaModel, type Batch } from "../runtime/model/llava.js";
import { ParamStore } from "../runtime/model/params.js";
import { loadWeights, type WeightReport } from "../runtime/weights/load.js";
import { openSafetensors } from "../runtime/weights/safetensors.js";
import { ROOT } from "./helpers.js";
import { HAS_NATIVE, warnIfNoNative } from "./native.js";

const DIR = path.join(ROOT, "test/fixtures/parity-siglip");
const expected = JSON.parse(readFileSync(path.join(DIR, "expected.json"), "utf8"));

/** The fixture's HF configuration in llavac's terms: the SigLIP switches of std/vision's towers. */
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
        prepend_cls_token: false,
        use_conv_patchified_embedding: true,
        use_embed_proj_bias: true,
        use_post_embed_layer_norm: false,
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
  const px = f.info("pixel_values")!.shape as [number, number, number, number];
  const batch: Batch = {
    size: B,
    length: T,
    inputIds: ints("input_ids"),
    lossMask: ints("loss_mask"),
    labels: ints("labels"),
    keyPadding: ints("attention_mask").map((a) => 1 - a),
    images: f.float32("pixel_values"),
    imageShape: [px[1], px[2], px[3]],
  };
  const out = { batch, logits: f.float32("logits"), shape: f.info("logits")!.shape };
  f.close();
  return out;
}

const worstDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i]!)), 0);

warnIfNoNative("SigLIP parity");

describe.each(["tensorflow", "wasm", "cpu"])("SigLIP LLaVA parity with HuggingFace (%s backend)", (backend) => {
  let model: LlavaModel;
  let report: WeightReport;
  if (backend === "tensorflow" && !HAS_NATIVE) {
    it.skip("skipped: the native backend is not built here (llavac backend install)", () => {});
    return;
  }
  beforeAll(async () => {
    await selectBackend(backend);
    const store = new ParamStore(config().arch, { seed: 0, std: { image_model: 0.02, text_model: 0.02, projector_image_model: 0.02 } });
    report = loadWeights(store, [path.join(DIR, "model.safetensors")]);
    model = new LlavaModel(config(), store);
  });

  it("every HF tensor is loaded or dropped for a reason: the pooling head is dropped, no CLS row is moved", () => {
    expect(report.unknown).toEqual([]);
    expect(report.mismatched).toEqual([]);
    expect(report.missing).toEqual([]);
    expect(report.layouts).toEqual(["hub"]);
    const dropped = report.dropped.map((d) => d.name).sort();
    expect(dropped).toHaveLength(expected.head_tensors.length);
    for (const d of report.dropped) expect(d.reason).toMatch(/attention-pooling head/);
    // The tree has no CLS token, and the position table is the patches' alone (HF's order, unchanged).
    expect(model.params.has("image_model.embedding_layer.cls_embedding")).toBe(false);
    expect(model.params.get("image_model.embedding_layer.position_embeddings.weight").shape).toEqual([
      expected.num_patches,
      expected.vision.hidden_size,
    ]);
    const f = openSafetensors(path.join(DIR, "model.safetensors"));
    const hf = f.float32("vision_tower.embeddings.position_embedding.weight");
    f.close();
    expect(worstDiff(model.params.get("image_model.embedding_layer.position_embeddings.weight").dataSync() as Float32Array, hf)).toBe(0);
  });

  it("logits match PyTorch to 1e-4, with all 16 patches as image features", () => {
    const { batch, logits, shape } = inputs();
    const feats = tf.tidy(() => model.visionFeatures(batch, { training: false }).shape);
    expect(feats).toEqual([batch.size, expected.num_patches, expected.vision.hidden_size]);
    const ours = tf.tidy(() => model.logits(batch).dataSync() as Float32Array);
    expect([batch.size, batch.length, model.config.arch.text.vocab_size]).toEqual(shape);
    expect(worstDiff(ours, logits)).toBeLessThan(1e-4);
  });

  it("the loss matches PyTorch to 1e-5", () => {
    const { batch } = inputs();
    const loss = tf.tidy(() => {
      const r = model.lossSum(batch, { training: false });
      return r.sum.dataSync()[0]! / r.tokens;
    });
    expect(Math.abs(loss - expected.loss)).toBeLessThan(1e-5);
  });

  it("fails when the vision tower is computed otherwise (the comparison can tell)", () => {
    const { batch, logits } = inputs();
    const perturbed = (change: () => void, undo: () => void) => {
      change();
      const ours = tf.tidy(() => model.logits(batch).dataSync() as Float32Array);
      undo();
      return worstDiff(ours, logits);
    };
    // A vision weight: the SigLIP path reaches the logits.
    const w = model.params.get("image_model.encoder.transformer_encoder.layers.1.ffn.ffn.0.linear_layer.weight");
    const saved = w.clone();
    expect(
      perturbed(
        () => w.assign(w.add(1e-2)),
        () => w.assign(saved),
      ),
    ).toBeGreaterThan(1e-4);
    saved.dispose();
    // Exact GELU instead of its tanh approximation.
    const arch = model.config.arch.vision;
    expect(
      perturbed(
        () => (arch.nonlinearity = "gelu"),
        () => (arch.nonlinearity = expected.vision.hidden_act),
      ),
    ).toBeGreaterThan(1e-5);
  });
});
