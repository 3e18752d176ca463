// The ViT as Cerebras' ViTModel computes it, and as LLaVA reads it:
//   patchify (a conv with stride = kernel, done as one matmul) → + learned positions → CLS first
//   (its position row stored last) → pre-norm (post_embed_ln) → pre-LN blocks 0..select → features.
// SigLIP is the same module with switches off: no CLS token (the positions are the patches' only, and
// `patch` keeps every output), no pre-norm, a biased patch embedding, gelu_pytorch_tanh.
import * as tf from "../backend/tf.js";
import { biasOf, VISION_NAMES as NAMES, weightOf, type VisionArch } from "./arch.js";
import { selectedBlock, type VisionRuntime } from "./config.js";
import { dropout, feedForward, linear, norm, selfAttention, type ParamSource, type Tensor } from "./layers.js";

/** Images [B, C, H, W] → patches [B, N, C·ph·pw], flattened in Conv2d weight order (c, kh, kw). */
export function patchify(images: Tensor, a: VisionArch): Tensor {
  const [B, C, H, W] = images.shape as [number, number, number, number];
  const [ph, pw] = a.patch_size;
  const gh = Math.floor(H / ph),
    gw = Math.floor(W / pw);
  const cropped = H === gh * ph && W === gw * pw ? images : images.slice([0, 0, 0, 0], [B, C, gh * ph, gw * pw]);
  // [B, C, gh, ph, gw, pw] → [B, gh, gw, C, ph, pw], in two rank-5 steps (the wasm backend stops at rank 5).
  const rows = cropped.reshape([B * C, gh, ph, gw, pw]).transpose([0, 1, 3, 2, 4]); // [B·C, gh, gw, ph, pw]
  return rows
    .reshape([B, C, gh * gw, ph * pw])
    .transpose([0, 2, 1, 3])
    .reshape([B, gh * gw, C * ph * pw]);
}

export interface RunOptions {
  training: boolean;
  /** Base seed for this micro-batch's dropout masks; undefined disables dropout. */
  seed?: number;
}

function embed(p: ParamSource, a: VisionArch, r: VisionRuntime, images: Tensor, o: RunOptions): Tensor {
  const w = p.get(weightOf(NAMES.patchEmbedding));
  const flatW = w.rank === 4 ? w.reshape([w.shape[0]!, -1]) : w;
  const bias = p.has(biasOf(NAMES.patchEmbedding)) ? p.get(biasOf(NAMES.patchEmbedding)) : undefined;
  let x = linear(patchify(images, a), flatW, bias); // [B, N, D]
  const [B, N, D] = x.shape as [number, number, number];
  const positions = a.position_embedding_type === "learned" ? p.get(weightOf(NAMES.positions)) : undefined;
  if (positions) x = x.add(positions.slice([0, 0], [N, D]));
  if (a.prepend_cls_token) {
    let cls = p.get(NAMES.cls).reshape([1, 1, D]);
    if (positions) cls = cls.add(positions.slice([N, 0], [1, D]).reshape([1, 1, D]));
    x = tf.concat([tf.tile(cls, [B, 1, 1]), x], 1);
  }
  x = dropout(x, o.training ? r.embedding_dropout_rate : 0, o.seed);
  if (a.use_post_embed_layer_norm) x = norm(p, NAMES.postEmbedNorm, x, r.layer_norm_epsilon, "layernorm");
  return x;
}

function block(p: ParamSource, a: VisionArch, r: VisionRuntime, i: number, x: Tensor, o: RunOptions): Tensor {
  const b = NAMES.block(i);
  const eps = r.layer_norm_epsilon;
  const seed = o.seed === undefined ? undefined : o.seed + 1000 * (i + 1);
  const drop = (t: Tensor, k: number) => dropout(t, o.training ? r.dropout_rate : 0, seed === undefined ? undefined : seed + k);
  const attend = (t: Tensor) =>
    selfAttention(p, b.attention, t, {
      heads: a.num_heads,
      dropoutRate: o.training ? r.attention_dropout_rate : 0,
      ...(seed !== undefined ? { seed } : {}),
    });
  if (r.norm_first) {
    x = x.add(drop(attend(norm(p, b.norm1, x, eps, "layernorm")), 1));
    return x.add(drop(feedForward(p, b.ffn, norm(p, b.norm2, x, eps, "layernorm"), a.nonlinearity), 2));
  }
  x = norm(p, b.norm1, x.add(drop(attend(x), 1)), eps, "layernorm");
  return norm(p, b.norm2, x.add(drop(feedForward(p, b.ffn, x, a.nonlinearity), 2)), eps, "layernorm");
}

/** Image features LLaVA feeds the projector: [B, num_patches, D]. */
export function visionFeatures(p: ParamSource, a: VisionArch, r: VisionRuntime, images: Tensor, o: RunOptions): Tensor {
  let x = embed(p, a, r, images, o);
  const last = selectedBlock(a.num_hidden_layers, r.select_layer);
  const upTo = last ?? a.num_hidden_layers - 1;
  for (let i = 0; i <= upTo; i++) x = block(p, a, r, i, x, o);
  if (last === null && a.use_final_layer_norm) x = norm(p, NAMES.finalNorm, x, r.layer_norm_epsilon, "layernorm");
  if (r.select === "patch" && a.prepend_cls_token) x = x.slice([0, 1, 0], [-1, -1, -1]);
  return x;
}
