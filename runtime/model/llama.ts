// The LLaMA decoder as Cerebras' GPT2LMHeadModel runs it for LLaMA configs: word embeddings (positions
// come from rotary attention), pre-norm blocks (norm1 → attention, norm3 → SwiGLU), final norm (ln_f)
// and the LM head.
import * as tf from "../backend/tf.js";
import { biasOf, kvHeadsOf, TEXT_NAMES as N, weightOf, type TextArch } from "./arch.js";
import type { TextRuntime } from "./config.js";
import {
  crossEntropy,
  dense,
  dropout,
  feedForward,
  headCrossEntropy,
  norm,
  rotaryTables,
  selfAttention,
  type LayerCache,
  type ParamSource,
  type Rotary,
  type Tensor,
} from "./layers.js";
import type { RunOptions } from "./vit.js";

export function embedTokens(p: ParamSource, ids: Tensor): Tensor {
  return tf.gather(p.get(weightOf(N.wordEmbeddings)), ids);
}

const rotaryCache = new Map<string, Rotary>();

function rotaryFor(length: number, r: TextRuntime): Rotary {
  const sc = r.rope_scaling;
  const key = `${length}/${r.rotary_dim}/${r.rope_theta}${sc ? `/${sc.factor}/${sc.low_freq_factor}/${sc.high_freq_factor}/${sc.original_max_position_embeddings}` : ""}`;
  let t = rotaryCache.get(key);
  if (!t) {
    // Built outside any tidy scope of the step, and kept for the life of the process.
    const built = rotaryTables(length, r.rotary_dim, r.rope_theta, sc);
    tf.keep(built.cos);
    tf.keep(built.sin);
    t = built;
    rotaryCache.set(key, t);
  }
  return t;
}

/**
 * Generation's key/value cache: per block, the keys and values of every position run so far, so that each
 * new token runs through the decoder alone. Training never passes one.
 */
export class KVCache {
  readonly layers: LayerCache[];
  /** Positions held. */
  length = 0;
  constructor(layers: number) {
    this.layers = Array.from({ length: layers }, () => ({}));
  }
  dispose(): void {
    for (const l of this.layers) {
      l.k?.dispose();
      l.v?.dispose();
      delete l.k;
      delete l.v;
    }
    this.length = 0;
  }
}

/** Positions [from, from + T) of a rotary table. */
function rotaryRows(t: Rotary, from: number, T: number): Rotary {
  return from === 0 && t.cos.shape[0] === T
    ? t
    : { cos: t.cos.slice([from, 0], [T, -1]), sin: t.sin.slice([from, 0], [T, -1]), dims: t.dims };
}

/**
 * Embeddings [B, T, H] → final hidden states [B, T, H] (after ln_f). With a cache, x holds the positions
 * after the cached ones and `mask` is [B or 1, 1, T, past + T].
 */
export function decoder(
  p: ParamSource,
  a: TextArch,
  r: TextRuntime,
  x: Tensor,
  mask: Tensor | undefined,
  o: RunOptions,
  cache?: KVCache,
): Tensor {
  const T = x.shape[1]!;
  const past = cache?.length ?? 0;
  if (a.position_embedding_type === "learned") x = x.add(p.get(weightOf(N.positions)).slice([past, 0], [T, -1]));
  // Generation reads rows of one table of every position (one table per length would pile up as it grows).
  const rotary =
    a.position_embedding_type !== "rotary"
      ? undefined
      : cache
        ? rotaryRows(rotaryFor(Math.max(a.max_position_embeddings, past + T), r), past, T)
        : rotaryFor(T, r);
  x = dropout(x, o.training ? r.embedding_dropout_rate : 0, o.seed);
  // The blocks run on the flattened stream [B·T, H]: every linear layer is then a plain 2-D product, without the
  // two reshapes (and their two in the backward pass) each would take on [B, T, H].
  const [B, H] = [x.shape[0]!, x.shape[2]!];
  const dims: [number, number] = [B, T];
  x = x.reshape([B * T, H]);
  for (let i = 0; i < a.num_hidden_layers; i++) {
    const b = N.block(i);
    const seed = o.seed === undefined ? undefined : o.seed + 7919 * (i + 1);
    const drop = (t: Tensor, k: number) => dropout(t, o.training ? r.dropout_rate : 0, seed === undefined ? undefined : seed + k);
    // One tidy per block: what the block's ops saved for their gradients stays (tfjs keeps it), every
    // other intermediate is freed here rather than when the whole forward pass ends. (The cache's keys and
    // values are kept by the cache itself.)
    const input = x;
    x = tf.tidy(() => {
      const h = norm(p, b.norm1, input, r.layer_norm_epsilon, a.norm_type);
      const y = input.add(
        drop(
          selfAttention(p, b.attention, h, {
            heads: a.num_heads,
            kvHeads: kvHeadsOf(a),
            dropoutRate: o.training ? r.attention_dropout_rate : 0,
            ...(mask ? { mask } : {}),
            ...(rotary ? { rotary } : {}),
            ...(seed !== undefined ? { seed } : {}),
            ...(cache ? { cache: cache.layers[i]! } : {}),
            dims,
          }),
          1,
        ),
      );
      return y.add(drop(feedForward(p, b.ffn, norm(p, b.norm3, y, r.layer_norm_epsilon, a.norm_type), a.nonlinearity), 2));
    });
  }
  if (cache) cache.length = past + T;
  return norm(p, N.finalNorm, x, r.layer_norm_epsilon, a.norm_type).reshape([B, T, H]);
}

/** Hidden states [..., H] → logits [..., V] (the tied word embeddings answer to the head's name). */
export function lmHead(p: ParamSource, h: Tensor): Tensor {
  return dense(p, N.lmHead, h);
}

/** Per-row cross-entropy of the LM head's logits for h [N, H] against targets [N], without keeping
 * the [N, V] logits (fused, when the head has no bias). */
export function lmHeadLoss(p: ParamSource, h: Tensor, targets: Tensor): Tensor {
  if (p.has(biasOf(N.lmHead))) return crossEntropy(lmHead(p, h), targets);
  return headCrossEntropy(h, p.get(weightOf(N.lmHead)), targets);
}
