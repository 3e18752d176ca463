// The building blocks, as functions of tensors: linear, norms, activations, attention with rotary
// positions, dropout. Weights are PyTorch-shaped ([out, in] for linear layers) so that checkpoints map
// name-for-name onto Cerebras and HuggingFace ones.
import { nativeSparseSoftmaxCE } from "../backend/native-ops.js";
import * as tf from "../backend/tf.js";
import type { RopeScaling } from "./config.js";
import { biasOf, weightOf, type AttentionNames, type FeedForwardNames, type ModuleName, type ParamName } from "./arch.js";

export type Tensor = tf.Tensor;

/** Parameters by full Cerebras name (made by runtime/model/arch.ts). */
export interface ParamSource {
  get(name: ParamName): Tensor;
  has(name: ParamName): boolean;
}

// Custom gradients for the layers that hold most of a training step's memory. tfjs saves, for each op,
// its inputs and often its outputs until backpropagation reaches it: its fused matMul saves its output
// as well as its inputs (the LM head's [N, vocab] logits), a softmax with its scale and mask saves three
// [B, heads, T, T] blocks, SwiGLU four [B, T, ffn] ones. These save only what their gradient reads,
// and compute it with the same kernels tfjs's own gradients use.
type Grad = Parameters<typeof tf.customGrad>[0];

/** x [N, in] · Wᵀ (+ b): saves x and W only (tfjs's fused matMul also keeps its output). A plain 2-D matMul,
 * not tfjs's fused one: that reshapes both operands to 3-D and the product back (three TensorFlow ops and
 * three shape uploads on tfjs-node, whose fused kernel is the same product and add anyway). */
const matMulT = tf.customGrad(((x: Tensor, w: Tensor, save: tf.GradSaveFunc) => {
  save([x, w]);
  return {
    value: tf.matMul(x, w, false, true),
    gradFunc: (dy: Tensor, [x, w]: Tensor[]) => [tf.matMul(dy, w!), tf.matMul(dy, x!, true, false)],
  };
}) as unknown as Grad) as (x: Tensor, w: Tensor) => Tensor;
const matMulTBias = tf.customGrad(((x: Tensor, w: Tensor, b: Tensor, save: tf.GradSaveFunc) => {
  save([x, w]);
  return {
    value: tf.matMul(x, w, false, true).add(b),
    gradFunc: (dy: Tensor, [x, w]: Tensor[]) => [tf.matMul(dy, w!), tf.matMul(dy, x!, true, false), dy.sum(0)],
  };
}) as unknown as Grad) as (x: Tensor, w: Tensor, b: Tensor) => Tensor;

/** x[..., in] · Wᵀ + b, with W [out, in]. */
export function linear(x: Tensor, w: Tensor, b?: Tensor): Tensor {
  if (x.rank === 2) return b ? matMulTBias(x, w, b) : matMulT(x, w);
  const inner = x.shape[x.shape.length - 1]!;
  const flat = x.reshape([-1, inner]);
  const y = b ? matMulTBias(flat, w, b) : matMulT(flat, w);
  return y.reshape([...x.shape.slice(0, -1), w.shape[0]!]);
}

/** The linear layer `module` of `p` (its bias if it has one). */
export function dense(p: ParamSource, module: ModuleName, x: Tensor): Tensor {
  return linear(x, p.get(weightOf(module)), p.has(biasOf(module)) ? p.get(biasOf(module)) : undefined);
}

export function layerNorm(x: Tensor, weight: Tensor, bias: Tensor | undefined, eps: number): Tensor {
  const { mean, variance } = tf.moments(x, -1, true);
  const y = x
    .sub(mean)
    .mul(tf.rsqrt(variance.add(eps)))
    .mul(weight);
  return bias ? y.add(bias) : y;
}

/** LLaMA's RMSNorm: x / √(mean(x²) + ε) · w. */
export function rmsNorm(x: Tensor, weight: Tensor, eps: number): Tensor {
  return rmsNormWithGrad(eps)(x, weight);
}

// RMSNorm's gradient in one piece: with r = 1/√(mean(x²) + ε) per row and g = dy·w,
//   dx = r·(g − x·r·mean(g·x·r)),  dw = Σ over rows of dy·x·r,
// eight kernels, where the gradients of its six ops take ~15 and upload a tensor of ones of x's size (the
// mean's). The forward ops are the same, so the values are unchanged; it saves x·r and r (tfjs saved x·r too).
const rmsNormGrads = new Map<number, (x: Tensor, w: Tensor) => Tensor>();
function rmsNormWithGrad(eps: number): (x: Tensor, w: Tensor) => Tensor {
  let f = rmsNormGrads.get(eps);
  if (f) return f;
  f = tf.customGrad(((x: Tensor, w: Tensor, save: tf.GradSaveFunc) => {
    const r = tf.rsqrt(x.square().mean(-1, true).add(eps));
    const xr = x.mul(r);
    save([xr, r, w]);
    return {
      value: xr.mul(w),
      gradFunc: (dy: Tensor, [xr, r, w]: Tensor[]) => {
        const g = dy.mul(w!);
        const rows = Array.from({ length: dy.rank - 1 }, (_, i) => i);
        const dw = dy.mul(xr!).sum(rows);
        const dx = g.sub(xr!.mul(g.mul(xr!).mean(-1, true))).mul(r!);
        return [dx, dw];
      },
    };
  }) as unknown as Grad) as (x: Tensor, w: Tensor) => Tensor;
  rmsNormGrads.set(eps, f);
  return f;
}

export function norm(p: ParamSource, module: ModuleName, x: Tensor, eps: number, type: "layernorm" | "rmsnorm"): Tensor {
  if (type === "rmsnorm") return rmsNorm(x, p.get(weightOf(module)), eps);
  return layerNorm(x, p.get(weightOf(module)), p.get(biasOf(module)), eps);
}

const SQRT1_2 = Math.SQRT1_2;

/** Activations by their Cerebras/PyTorch names. GELU is the exact (erf) one, as torch.nn.GELU(). */
export function activate(name: string, x: Tensor): Tensor {
  switch (name.toLowerCase()) {
    case "gelu":
      return x.mul(0.5).mul(tf.erf(x.mul(SQRT1_2)).add(1));
    case "quick_gelu":
      return x.mul(tf.sigmoid(x.mul(1.702)));
    case "gelu_new":
    case "gelu_tanh":
    case "gelu_pytorch_tanh": {
      const inner = x.add(x.pow(3).mul(0.044715)).mul(Math.sqrt(2 / Math.PI));
      return x.mul(0.5).mul(tf.tanh(inner).add(1));
    }
    case "silu":
    case "swish":
    case "swiglu":
      return x.mul(tf.sigmoid(x));
    case "relu":
    case "reglu":
      return tf.relu(x);
    case "geglu":
      return activate("gelu", x);
    default:
      throw new Error(`the runtime has no activation "${name}"`);
  }
}

/** The gated unit's own activation: "swiglu" gates with SiLU, "geglu" with GELU. */
export function gluActivation(name: string): string {
  const n = name.toLowerCase();
  return n === "swiglu" ? "silu" : n === "geglu" ? "gelu" : n === "reglu" ? "relu" : n;
}

/** Dropout with a seed, so that a resumed run draws the same masks. */
export function dropout(x: Tensor, rate: number, seed: number | undefined): Tensor {
  if (rate <= 0 || seed === undefined) return x;
  return tf.dropout(x, rate, undefined, seed);
}

export interface Rotary {
  cos: Tensor;
  sin: Tensor;
  dims: number;
}

/** The rotary inverse frequencies [dims / 2], in float32 as torch computes them, with Llama-3.1's `llama3`
 * scaling if given (HF `rope_type: llama3`; the Model Zoo 2.10's `pos_scaling_type: llama3`). */
export function rotaryFrequencies(dims: number, theta: number, scaling?: RopeScaling): Float32Array {
  const half = dims / 2;
  const inv = new Float32Array(half);
  for (let i = 0; i < half; i++) inv[i] = Math.fround(1 / Math.pow(theta, Math.fround((2 * i) / dims)));
  if (!scaling) return inv;
  const { factor, low_freq_factor: low, high_freq_factor: high, original_max_position_embeddings: old } = scaling;
  const lowWavelen = old / low,
    highWavelen = old / high;
  for (let i = 0; i < half; i++) {
    const f = inv[i]!;
    const wavelen = Math.fround((2 * Math.PI) / f);
    // Long wavelengths are divided by the factor, short ones kept, the band between blended smoothly.
    if (wavelen > lowWavelen) inv[i] = Math.fround(f / factor);
    else if (wavelen >= highWavelen) {
      const smooth = Math.fround((old / wavelen - low) / (high - low));
      inv[i] = Math.fround((1 - smooth) * Math.fround(f / factor) + smooth * f);
    }
  }
  return inv;
}

/** cos/sin tables [T, rotary_dim] in HuggingFace's layout (frequencies repeated, for rotate_half). */
export function rotaryTables(length: number, dims: number, theta: number, scaling?: RopeScaling): Rotary {
  const half = dims / 2;
  const inv = rotaryFrequencies(dims, theta, scaling);
  const cos = new Float32Array(length * dims);
  const sin = new Float32Array(length * dims);
  for (let t = 0; t < length; t++) {
    for (let i = 0; i < half; i++) {
      // In float32, as torch computes the outer product.
      const angle = Math.fround(t * inv[i]!);
      const c = Math.cos(angle),
        s = Math.sin(angle);
      cos[t * dims + i] = c;
      cos[t * dims + i + half] = c;
      sin[t * dims + i] = s;
      sin[t * dims + i + half] = s;
    }
  }
  return { cos: tf.tensor2d(cos, [length, dims]), sin: tf.tensor2d(sin, [length, dims]), dims };
}

/** q·cos + rotate_half(q)·sin on the first `dims` channels of x [B, heads, T, head]. */
export function applyRotary(x: Tensor, r: Rotary): Tensor {
  const head = x.shape[3]!;
  const rot = r.dims === head ? x : x.slice([0, 0, 0, 0], [-1, -1, -1, r.dims]);
  const half = r.dims / 2;
  const [x1, x2] = tf.split(rot, [half, half], 3);
  const rotated = tf.concat([x2!.neg(), x1!], 3);
  const out = rot.mul(r.cos).add(rotated.mul(r.sin));
  return r.dims === head ? out : tf.concat([out, x.slice([0, 0, 0, r.dims], [-1, -1, -1, head - r.dims])], 3);
}

/** softmax(scores + mask) over the last axis, saving only the probabilities (tfjs would keep the
 * masked scores too: one more [B, heads, T, T] block per layer). */
function maskedSoftmax(scores: Tensor, mask: Tensor | undefined): Tensor {
  const f = tf.customGrad(((s: Tensor, save: tf.GradSaveFunc) => {
    const probs = tf.softmax(mask ? s.add(mask) : s);
    save([probs]);
    return {
      value: probs,
      gradFunc: (dy: Tensor, [y]: Tensor[]) => {
        const dyTimesY = dy.mul(y!);
        return dyTimesY.sub(dyTimesY.sum(-1, true).mul(y!));
      },
    };
  }) as unknown as Grad) as (s: Tensor) => Tensor;
  return f(scores);
}

export interface AttentionOptions {
  heads: number;
  /** Grouped-query attention: key/value heads, each shared by heads / kvHeads query heads (absent: heads). */
  kvHeads?: number;
  /** Additive mask broadcast to [B, heads, T, T] (0 to attend, a large negative number to block). */
  mask?: Tensor;
  rotary?: Rotary;
  dropoutRate: number;
  seed?: number;
  /** Generation: this block's keys and values of the positions already run, extended in place (see llama.ts KVCache). */
  cache?: LayerCache;
  /** [B, T] when x comes flattened to [B·T, H] (the decoder's stream: its linear layers then need no reshapes). */
  dims?: [number, number];
}

/** One block's cached keys and values [B, kv heads, T_past, head] (kept out of tidy scopes; the owner disposes them). */
export interface LayerCache {
  k?: Tensor;
  v?: Tensor;
}

/** The cached keys or values followed by this call's, kept for the next call; the previous ones are freed. */
function extend(cache: LayerCache, key: "k" | "v", t: Tensor): Tensor {
  const old = cache[key];
  const all = old ? tf.concat([old, t], 2) : t;
  cache[key] = tf.keep(all);
  old?.dispose();
  return all;
}

/** Multi-head self-attention with the Cerebras module names proj_{q,k,v,output}_dense_layer. */
export function selfAttention(p: ParamSource, n: AttentionNames, x: Tensor, o: AttentionOptions): Tensor {
  const flat = x.rank === 2;
  const [B, T] = flat ? o.dims! : (x.shape as [number, number]);
  const H = x.shape[x.shape.length - 1]!;
  const d = H / o.heads;
  const kv = o.kvHeads ?? o.heads;
  const heads = (t: Tensor, count: number) => t.reshape([B, T, count, d]).transpose([0, 2, 1, 3]);
  let q = heads(dense(p, n.q, x), o.heads);
  let k = heads(dense(p, n.k, x), kv);
  let v = heads(dense(p, n.v, x), kv);
  if (o.rotary) {
    q = applyRotary(q, o.rotary);
    k = applyRotary(k, o.rotary);
  }
  // With a cache the queries are the new positions only; the keys and values are every position so far.
  if (o.cache) {
    k = extend(o.cache, "k", k);
    v = extend(o.cache, "v", v);
  }
  // Grouped-query attention: each key/value head serves heads / kv consecutive query heads (HF's
  // repeat_kv); the cache holds them unrepeated.
  if (kv !== o.heads) {
    const group = o.heads / kv;
    const index = tf.tensor1d(
      Array.from({ length: o.heads }, (_, h) => Math.floor(h / group)),
      "int32",
    );
    const repeat = (t: Tensor) => tf.gather(t, index, 1);
    k = repeat(k);
    v = repeat(v);
  }
  // The 1/√d scale on the queries [B, heads, T, d] rather than on the scores [B, heads, T, T]: T/d times
  // fewer elements, forward and backward (for d a power of 4 the scale is a power of 2 and the scores
  // are bit-identical to scaling them).
  const scores = tf.matMul(q.mul(1 / Math.sqrt(d)), k, false, true);
  const probs = dropout(maskedSoftmax(scores, o.mask), o.dropoutRate, o.seed);
  const context = tf
    .matMul(probs, v)
    .transpose([0, 2, 1, 3])
    .reshape(flat ? [B * T, H] : [B, T, H]);
  return dense(p, n.output, context);
}

/** up · silu(gate), saving up and gate only (the sigmoid is recomputed for the gradient). */
const swiGlu = tf.customGrad(((up: Tensor, gate: Tensor, save: tf.GradSaveFunc) => {
  save([up, gate]);
  return {
    value: up.mul(gate.mul(tf.sigmoid(gate))),
    gradFunc: (dy: Tensor, [up, gate]: Tensor[]) => {
      // The order of tfjs's own gradients of these ops (mul, mul, sigmoid), so the results are the same.
      const sig = tf.sigmoid(gate!);
      const dAct = dy.mul(up!);
      const dGate = dAct.mul(sig).add(dAct.mul(gate!).mul(sig.mul(tf.scalar(1).sub(sig))));
      return [dy.mul(gate!.mul(sig)), dGate];
    },
  };
}) as unknown as Grad) as (up: Tensor, gate: Tensor) => Tensor;

/** Cerebras' FeedForwardNetwork: ffn.0 (with a gate for GLU activations), then ffn.1. */
export function feedForward(p: ParamSource, n: FeedForwardNames, x: Tensor, nonlinearity: string): Tensor {
  const up = dense(p, n.up, x);
  if (!p.has(weightOf(n.gate))) return dense(p, n.down, activate(nonlinearity, up));
  const act = gluActivation(nonlinearity);
  const gate = dense(p, n.gate, x);
  return dense(p, n.down, act === "silu" ? swiGlu(up, gate) : up.mul(activate(act, gate)));
}

/**
 * 0 where a query may attend a key, −1e9 where it may not: causal, plus keys marked as padding, plus (with a
 * sliding window) keys `window` or more positions back.
 */
export function causalPaddingMask(keyPadding: Int32Array, batch: number, length: number, stride: number, window?: number): Tensor {
  const causal = new Float32Array(length * length);
  for (let i = 0; i < length; i++)
    for (let j = 0; j < length; j++) if (j > i || (window !== undefined && i - j >= window)) causal[i * length + j] = -1e9;
  const padding = new Float32Array(batch * length);
  for (let b = 0; b < batch; b++) for (let j = 0; j < length; j++) if (keyPadding[b * stride + j]) padding[b * length + j] = -1e9;
  return tf.tensor4d(causal, [1, 1, length, length]).add(tf.tensor4d(padding, [batch, 1, 1, length]));
}

/** Per-row cross-entropy from logits [N, V] and int32 targets [N]: the loss, and softmax (its
 * gradient's part), computed disposing each [N, V] intermediate once the next is made. */
function softmaxParts(logits: Tensor, targets: Tensor): { loss: Tensor; probs: Tensor } {
  const [N, V] = logits.shape as [number, number];
  const shifted = logits.sub(logits.max(1, true));
  const flat = tf.range(0, N, 1, "int32").mul(tf.scalar(V, "int32")).add(targets);
  const picked = tf.gather(shifted.reshape([-1]), flat).reshape([-1, 1]);
  const exp = shifted.exp();
  shifted.dispose();
  const sum = exp.sum(1, true);
  const probs = exp.div(sum);
  exp.dispose();
  return { loss: sum.log().sub(picked).reshape([-1]), probs };
}

/** The per-row loss, and what its gradient needs: softmax (`probs`), or on the native backend (softmax −
 * one-hot) itself from TensorFlow's fused kernel (`backprop`): one pass over [N, V] instead of ten. */
interface CrossEntropyParts {
  loss: Tensor;
  probs?: Tensor;
  backprop?: Tensor;
}
function crossEntropyParts(logits: Tensor, targets: Tensor): CrossEntropyParts {
  return nativeSparseSoftmaxCE(logits, targets) ?? softmaxParts(logits, targets);
}

/** softmax − one-hot, from the softmax. */
function crossEntropyDiff(probs: Tensor, targets: Tensor): Tensor {
  const oneHot = tf.oneHot(targets, probs.shape[1]!, 1, 0, "float32");
  const diff = probs.sub(oneHot);
  oneHot.dispose();
  return diff;
}

/** (softmax − one-hot) · dy per row, the gradient of the cross-entropy in its logits. */
function crossEntropyGrad(part: Tensor, native: boolean, targets: Tensor, dy: Tensor): Tensor {
  if (native) return part.mul(dy.reshape([-1, 1]));
  const diff = crossEntropyDiff(part, targets);
  const out = diff.mul(dy.reshape([-1, 1]));
  diff.dispose();
  return out;
}

/**
 * Per-row cross-entropy of logits [N, V] against int32 targets [N], with a fused gradient
 * (softmax − one-hot). tfjs's own logSumExp gradient goes through max's, which broadcasts an Equal
 * over the whole [N, V] block: on wasm that alone cost more than the LM head's matmuls.
 */
export const crossEntropy = tf.customGrad(((logits: Tensor, targets: Tensor, save: tf.GradSaveFunc) => {
  const { loss, probs, backprop } = crossEntropyParts(logits, targets);
  save([(backprop ?? probs)!, targets]);
  return {
    value: loss,
    gradFunc: (dy: Tensor, [part, t]: Tensor[]) => [crossEntropyGrad(part!, backprop !== undefined, t!, dy), tf.zerosLike(t!)],
  };
}) as unknown as Grad) as (logits: Tensor, targets: Tensor) => Tensor;

/**
 * The LM head and the cross-entropy in one: per-row loss of h [N, H] · Wᵀ (W [V, H]) against targets
 * [N]. The [N, V] logits live only inside it (tfjs's matMul would save them until backpropagation);
 * it saves h, W and the probabilities (or softmax − one-hot), the one [N, V] block the gradient needs.
 */
export const headCrossEntropy = tf.customGrad(((h: Tensor, w: Tensor, targets: Tensor, save: tf.GradSaveFunc) => {
  const logits = tf.fused.matMul({ a: h, b: w, transposeB: true });
  const { loss, probs, backprop } = crossEntropyParts(logits, targets);
  logits.dispose();
  save([h, w, (backprop ?? probs)!, targets]);
  return {
    value: loss,
    gradFunc: (dy: Tensor, [h, w, part, t]: Tensor[]) => {
      // The rows' weights dy applied to the [N, H] sides of the two products instead of the [N, V]
      // block: diag(dy)·D·W = dy ⊙ (D·W) and (diag(dy)·D)ᵀ·h = Dᵀ·(dy ⊙ h), one pass over [N, V] fewer.
      const rows = dy.reshape([-1, 1]);
      const diff = backprop !== undefined ? part! : crossEntropyDiff(part!, t!);
      const dh = tf.matMul(diff, w!).mul(rows);
      const dw = tf.matMul(diff, h!.mul(rows), true, false);
      if (diff !== part) diff.dispose();
      return [dh, dw, tf.zerosLike(t!)];
    },
  };
}) as unknown as Grad) as (h: Tensor, w: Tensor, targets: Tensor) => Tensor;

/** Generation's mask for `count` new queries after `past` cached positions: [1, 1, count, past + count] (causal, sliding window). */
export function cachedStepMask(past: number, count: number, window?: number): Tensor {
  const total = past + count;
  const m = new Float32Array(count * total);
  for (let i = 0; i < count; i++)
    for (let j = 0; j < total; j++) if (j > past + i || (window !== undefined && past + i - j >= window)) m[i * total + j] = -1e9;
  return tf.tensor4d(m, [1, 1, count, total]);
}
