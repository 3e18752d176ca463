// The HF parity fixtures (test/fixtures/parity*, written by tools/parity/*.py): their configuration in
// llavac's terms and their inputs as a batch. Shared by the parity tests of each fixture.
import path from "node:path";
import type { VisionArch } from "../runtime/model/arch.js";
import type { LlavaModelConfig } from "../runtime/model/config.js";
import * as tf from "../runtime/backend/tf.js";
import type { Batch, LlavaModel } from "../runtime/model/llava.js";
import { openSafetensors } from "../runtime/weights/safetensors.js";

/** The switches that make a CLIP vision tower (HF CLIPVisionModel). */
export const CLIP_TOWER = {
  prepend_cls_token: true,
  use_embed_proj_bias: false,
  use_post_embed_layer_norm: true,
} as const satisfies Partial<VisionArch>;

/** A fixture's expected.json (vision and text configuration in HF's terms) as a LlavaModelConfig. */
export function fixtureConfig(expected: any, tower: Pick<VisionArch, keyof typeof CLIP_TOWER>): LlavaModelConfig {
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
        ...tower,
        use_conv_patchified_embedding: true,
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

/** A fixture's inputs.safetensors: the batch (HF's attention mask as Cerebras' key padding) and PyTorch's logits. */
export function fixtureInputs(dir: string): { batch: Batch; logits: Float32Array; shape: number[] } {
  const f = openSafetensors(path.join(dir, "inputs.safetensors"));
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

/** The Cerebras loss of a batch (Σ cross-entropy over the supervised tokens / their count), as a number. */
export function meanLoss(model: LlavaModel, batch: Batch): number {
  return tf.tidy(() => {
    const r = model.lossSum(batch, { training: false });
    return r.sum.dataSync()[0]! / r.tokens;
  });
}

/** The largest absolute difference between two arrays of the same length. */
export const worstDiff = (a: Float32Array, b: Float32Array): number => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i]!)), 0);
