// One LLaVA training step in llavac's runtime (the bundle generated programs import): the peer of
// tools/bench/torch_step.py, the same model, data, loss and optimizer. Prints one JSON line.
//   node bench/train-step-tfjs.mjs [steps] [warmup] [micro-batch] [backend]
// PROFILE=1 (native backend): each timed step's TensorFlow kernels by name, count and CPU time, on stderr.
// The wasm heap is 32-bit (4 GiB), too small for this step's activations at batch 4 in one piece, so
// the step runs as micro-batches (default 1) with accumulated gradients: the same update.
import { availableParallelism } from "node:os";
import { AdamW, applyFreeze, LlavaModel, ParamStore, selectBackend, trainStep } from "../dist/runtime.js";

const [steps = 5, warmup = 2, micro = 1] = process.argv.slice(2, 5).map(Number);
const backend = await selectBackend(process.argv[5]);

// Per-kernel CPU time on the native backend: every kernel goes through the binding's executeOp.
const kernels = new Map();
let profiling = false;
if (process.env.PROFILE === "1" && backend.tfjs === "tensorflow") {
  const native = (await import("@tensorflow/tfjs")).backend();
  const binding = native.binding;
  native.binding = Object.create(binding, {
    executeOp: {
      value: (name, attrs, inputs, outputs) => {
        if (!profiling) return binding.executeOp(name, attrs, inputs, outputs);
        const c0 = process.cpuUsage();
        const out = binding.executeOp(name, attrs, inputs, outputs);
        const c = process.cpuUsage(c0);
        const k = kernels.get(name) ?? { n: 0, ms: 0 };
        kernels.set(name, { n: k.n + 1, ms: k.ms + (c.user + c.system) / 1e3 });
        return out;
      },
    },
  });
}
const report = () => {
  const all = [...kernels.entries()].sort((a, b) => b[1].ms - a[1].ms);
  const total = all.reduce((t, [, k]) => t + k.ms, 0);
  console.error(`kernels: ${all.reduce((t, [, k]) => t + k.n, 0)}, CPU ${(total / 1000).toFixed(2)} s`);
  for (const [name, k] of all) console.error(`  ${name.padEnd(40)} ${String(k.n).padStart(5)} ${k.ms.toFixed(0).padStart(7)} ms`);
  kernels.clear();
};

// The benchmark model (issue §8): ViT 2 × 256 at 224 px / 16, mlp2x_gelu, LLaMA 4 × 512, 8 heads, MSL 512, vocab 32,000.
const V = { d: 256, layers: 2, heads: 4, ffn: 1024, image: 224, patch: 16 };
const T = { d: 512, layers: 4, heads: 8, ffn: 1376, msl: 512, vocab: 32000 };
const B = 4,
  START = 35,
  NP = (V.image / V.patch) ** 2;
const config = {
  arch: {
    vision: {
      hidden_size: V.d,
      num_hidden_layers: V.layers,
      num_heads: V.heads,
      filter_size: V.ffn,
      image_size: [V.image, V.image],
      patch_size: [V.patch, V.patch],
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
    },
    text: {
      vocab_size: T.vocab,
      hidden_size: T.d,
      num_hidden_layers: T.layers,
      num_heads: T.heads,
      filter_size: T.ffn,
      max_position_embeddings: T.msl,
      position_embedding_type: "rotary",
      nonlinearity: "swiglu",
      norm_type: "rmsnorm",
      use_projection_bias_in_attention: false,
      use_ffn_bias_in_attention: false,
      use_ffn_bias: false,
      use_bias_in_output: false,
      share_embedding_weights: false,
    },
    projector: { input_unit: V.d, layers_units: [T.d, T.d], use_bias: true },
  },
  vision: {
    layer_norm_epsilon: 1e-5,
    select_layer: -2,
    select: "patch",
    norm_first: true,
    embedding_dropout_rate: 0,
    dropout_rate: 0,
    attention_dropout_rate: 0,
    initializer_range: 0.02,
  },
  text: {
    layer_norm_epsilon: 1e-5,
    rope_theta: 10000,
    rotary_dim: T.d / T.heads,
    embedding_dropout_rate: 0,
    dropout_rate: 0,
    attention_dropout_rate: 0,
    initializer_range: 0.02,
  },
  projector_activations: ["gelu", null],
  image_start_idx: START,
  num_patches: NP,
  max_sequence_length: T.msl,
  loss_scaling: "num_tokens",
  loss_weight: 1,
};

const store = new ParamStore(config.arch, { seed: 0, std: { image_model: 0.02, text_model: 0.02, projector_image_model: 0.02 } });
const model = new LlavaModel(config, store);
const freeze = applyFreeze(store.specs, [/^image_model/]);
const opt = new AdamW(
  { betas: [0.9, 0.999], eps: 1e-8, weight_decay: 0, correct_bias: true },
  new Map(freeze.trainable.map((p) => [p.name, store.get(p.name)])),
);

let seed = 1;
const rand = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
const ids = Int32Array.from({ length: B * T.msl }, () => 3 + Math.floor(rand() * (T.vocab - 3)));
const labels = Int32Array.from({ length: B * T.msl }, () => 3 + Math.floor(rand() * (T.vocab - 3)));
const lossMask = Int32Array.from({ length: B * T.msl }, (_, i) => (i % T.msl >= 300 && i % T.msl < 511 ? 1 : 0));
const images = Float32Array.from({ length: B * 3 * V.image * V.image }, () => rand() * 2 - 1);
const px = 3 * V.image * V.image;
const batches = Array.from({ length: B / micro }, (_, k) => {
  const rows = (a) => a.slice(k * micro * T.msl, (k + 1) * micro * T.msl);
  return {
    size: micro,
    length: T.msl,
    inputIds: rows(ids),
    labels: rows(labels),
    lossMask: rows(lossMask),
    keyPadding: new Int32Array(micro * T.msl),
    images: images.slice(k * micro * px, (k + 1) * micro * px),
    imageShape: [3, V.image, V.image],
  };
});
const supervised = lossMask.reduce((a, b) => a + b, 0);

const times = [],
  cpuTimes = [];
let last;
for (let i = 0; i < warmup + steps; i++) {
  profiling = i >= warmup;
  const t0 = performance.now(),
    c0 = process.cpuUsage();
  last = trainStep(model, opt, batches, { supervised, globalBatch: B, lr: 2e-5, maxGradNorm: 1, frozen: { vision: true, text: false } });
  // CPU time (user + sys, every thread of the process): on a shared machine the comparable figure.
  const c = process.cpuUsage(c0);
  if (i >= warmup) times.push((performance.now() - t0) / 1000), cpuTimes.push((c.user + c.system) / 1e6);
  if (profiling && kernels.size) console.error(`step ${i}: CPU ${((c.user + c.system) / 1e6).toFixed(2)} s`), report();
}
times.sort((a, b) => a - b);
cpuTimes.sort((a, b) => a - b);
const trainable = freeze.trainable.reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0);
console.log(
  JSON.stringify({
    framework: `tfjs ${backend.backend}`,
    // tfjs-node's TensorFlow reads its pool sizes from the environment; wasm runs single-threaded in Node.
    threads: backend.tfjs === "tensorflow" ? Number(process.env.TF_NUM_INTRAOP_THREADS ?? availableParallelism()) : 1,
    micro_batch: micro,
    step_s: times[Math.floor(times.length / 2)],
    steps: times,
    step_cpu_s: cpuTimes[Math.floor(cpuTimes.length / 2)],
    peak_rss_mib: process.resourceUsage().maxRSS / 1024,
    trainable,
    loss: last.loss,
  }),
);
