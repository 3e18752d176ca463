// What the tfjs model needs beyond the parameter list: norms' epsilons, which encoder block LLaVA reads,
// the projector's activations, rotary settings, where the image slots are and how the loss is scaled.
// The compiler fills it from a phase; generated programs hold it as a typed constant.
import type { LlavaArch } from "./arch.js";

export interface VisionRuntime {
  layer_norm_epsilon: number;
  /** Cerebras `image_feature_select_layer_idx`: blocks 0..idx run, no final norm; null runs all blocks and the final norm. */
  select_layer: number | null;
  select: "patch" | "cls_patch";
  norm_first: boolean;
  embedding_dropout_rate: number;
  dropout_rate: number;
  attention_dropout_rate: number;
  initializer_range: number;
}

/** Llama-3.1's rope scaling: long wavelengths divided by `factor`, short ones kept, the band between blended. */
export interface RopeScaling {
  type: "llama3";
  factor: number;
  low_freq_factor: number;
  high_freq_factor: number;
  original_max_position_embeddings: number;
}

export interface TextRuntime {
  layer_norm_epsilon: number;
  rope_theta: number;
  /** Rotary dimensions per head (the head size unless the spec says otherwise). */
  rotary_dim: number;
  /** Llama-3.1's `llama3` rope scaling of the rotary frequencies (absent: none). */
  rope_scaling?: RopeScaling;
  /** Mistral's sliding window: a position attends itself and the sliding_window − 1 before it (absent: all before it). */
  sliding_window?: number;
  embedding_dropout_rate: number;
  dropout_rate: number;
  attention_dropout_rate: number;
  initializer_range: number;
}

export interface LlavaModelConfig {
  arch: LlavaArch;
  vision: VisionRuntime;
  text: TextRuntime;
  /** One activation per projector layer; null for none ("mlp2x_gelu" is ["gelu", null]). */
  projector_activations: (string | null)[];
  /** The first image slot in every sequence (Cerebras `image_start_idx`). */
  image_start_idx: number;
  /** Image features per sample: (H/p)·(W/p), plus one with `cls_patch`. */
  num_patches: number;
  max_sequence_length: number;
  loss_scaling: "num_tokens" | "batch_size";
  loss_weight: number;
}

/** The encoder block whose output LLaVA reads, as Cerebras resolves it (−2 → L−2), or null for "all, then the final norm". */
export function selectedBlock(numLayers: number, selectLayer: number | null): number | null {
  if (selectLayer === null) return null;
  // Python's `idx % n` for a truthy idx; 0 stays 0.
  return selectLayer === 0 ? 0 : ((selectLayer % numLayers) + numLayers) % numLayers;
}
