// A small LLaVA-1.5-shaped architecture (CLIP-style ViT, LLaMA, an MLP projector) for tests of the parameter
// tree: LLaVA-1.5's switches at tiny widths; a test states only what it changes.
import type { LlavaArch, ProjectorArch, TextArch, VisionArch } from "../runtime/model/arch.js";

export function tinyArch(
  over: { vision?: Partial<VisionArch>; text?: Partial<TextArch>; projector?: Partial<ProjectorArch> } = {},
): LlavaArch {
  return {
    vision: {
      hidden_size: 8,
      num_hidden_layers: 1,
      num_heads: 2,
      filter_size: 16,
      image_size: [4, 4],
      patch_size: [2, 2],
      num_channels: 3,
      prepend_cls_token: true,
      use_conv_patchified_embedding: true,
      use_embed_proj_bias: false,
      use_post_embed_layer_norm: true,
      use_final_layer_norm: true,
      use_projection_bias_in_attention: true,
      use_ffn_bias_in_attention: true,
      use_ffn_bias: true,
      position_embedding_type: "learned",
      nonlinearity: "quick_gelu",
      ...over.vision,
    },
    text: {
      vocab_size: 10,
      hidden_size: 8,
      num_hidden_layers: 1,
      num_heads: 2,
      filter_size: 16,
      max_position_embeddings: 16,
      position_embedding_type: "rotary",
      nonlinearity: "swiglu",
      norm_type: "rmsnorm",
      use_projection_bias_in_attention: false,
      use_ffn_bias_in_attention: false,
      use_ffn_bias: false,
      use_bias_in_output: false,
      share_embedding_weights: false,
      ...over.text,
    },
    projector: { input_unit: 8, layers_units: [8, 8], use_bias: true, ...over.projector },
  };
}
