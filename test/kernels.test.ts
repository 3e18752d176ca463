// Every kernel the runtime dispatches (forward, backward, the optimizer and the evaluation path) is
// registered on each backend: a training step on a backend that lacks one would throw mid-run. The
// kernels are recorded with tf.profile on the cpu backend (the reference, which has them all), then
// looked up in each backend's registry.
import { describe, expect, it } from "vitest";
import * as tf from "../runtime/backend/tf.js";
import { selectBackend } from "../runtime/backend/index.js";
import { oneDnnMatMuls, useOneDnnMatMul } from "../runtime/backend/native-matmul.js";
import type { LlavaModelConfig } from "../runtime/model/config.js";
import { applyFreeze } from "../runtime/model/arch.js";
import { crossEntropy, headCrossEntropy, rmsNorm } from "../runtime/model/layers.js";
import { LlavaModel, type Batch } from "../runtime/model/llava.js";
import { ParamStore } from "../runtime/model/params.js";
import { AdamW, globalNorm } from "../runtime/train/optimizer.js";
import { trainStep } from "../runtime/train/step.js";
import { HAS_NATIVE, warnIfNoNative } from "./native.js";

warnIfNoNative("kernels");

/** A small LLaVA with every kind of layer the specs use: LayerNorm + quick_gelu ViT, gelu projector, RMSNorm + SwiGLU LLaMA, dropout. */
function config(): LlavaModelConfig {
  return {
    arch: {
      vision: {
        hidden_size: 16,
        num_hidden_layers: 2,
        num_heads: 2,
        filter_size: 32,
        image_size: [8, 8],
        patch_size: [4, 4],
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
        vocab_size: 40,
        hidden_size: 16,
        num_hidden_layers: 2,
        num_heads: 2,
        filter_size: 24,
        max_position_embeddings: 16,
        position_embedding_type: "rotary",
        nonlinearity: "swiglu",
        norm_type: "rmsnorm",
        use_projection_bias_in_attention: false,
        use_ffn_bias_in_attention: false,
        use_ffn_bias: false,
        use_bias_in_output: false,
        share_embedding_weights: false,
      },
      projector: { input_unit: 16, layers_units: [16, 16], use_bias: true },
    },
    vision: {
      layer_norm_epsilon: 1e-5,
      select_layer: -2,
      select: "patch",
      norm_first: true,
      embedding_dropout_rate: 0.1,
      dropout_rate: 0.1,
      attention_dropout_rate: 0.1,
      initializer_range: 0.02,
    },
    text: {
      layer_norm_epsilon: 1e-5,
      rope_theta: 10000,
      rotary_dim: 8,
      embedding_dropout_rate: 0.1,
      dropout_rate: 0.1,
      attention_dropout_rate: 0.1,
      initializer_range: 0.02,
    },
    projector_activations: ["gelu", null],
    image_start_idx: 1,
    num_patches: 4,
    max_sequence_length: 16,
    loss_scaling: "num_tokens",
    loss_weight: 1,
  };
}

function batch(): Batch {
  const B = 2,
    T = 16;
  return {
    size: B,
    length: T,
    inputIds: Int32Array.from({ length: B * T }, (_, i) => 3 + ((i * 7) % 37)),
    labels: Int32Array.from({ length: B * T }, (_, i) => 3 + ((i * 5) % 37)),
    lossMask: Int32Array.from({ length: B * T }, (_, i) => (i % T >= 6 ? 1 : 0)),
    keyPadding: Int32Array.from({ length: B * T }, (_, i) => (i % T === T - 1 ? 1 : 0)),
    images: Float32Array.from({ length: B * 3 * 8 * 8 }, (_, i) => Math.sin(i)),
    imageShape: [3, 8, 8],
  };
}

/** The kernels one step uses: trainable and frozen vision (both gradient paths), clipping, AdamW, and evaluation logits. */
async function kernelsUsed(): Promise<string[]> {
  await selectBackend("cpu");
  const store = new ParamStore(config().arch, { seed: 0, std: { image_model: 0.02, text_model: 0.02, projector_image_model: 0.02 } });
  const model = new LlavaModel(config(), store);
  const b = batch();
  const supervised = b.lossMask.reduce((a, x) => a + x, 0);
  const names = new Set<string>();
  for (const frozenVision of [false, true]) {
    const freeze = applyFreeze(store.specs, frozenVision ? [/^image_model/] : []);
    const opt = new AdamW(
      { betas: [0.9, 0.999], eps: 1e-8, weight_decay: 0.01, correct_bias: true },
      new Map(freeze.trainable.map((p) => [p.name, store.get(p.name)])),
    );
    const info = await tf.profile(() => {
      trainStep(model, opt, [b, b], {
        supervised: 2 * supervised,
        globalBatch: 4,
        lr: 1e-3,
        maxGradNorm: 1e-6,
        frozen: { vision: frozenVision, text: false },
        seed: (k) => 7 + k,
      });
      tf.tidy(() => model.logits(b).dataSync());
    });
    for (const k of info.kernelNames) names.add(k);
  }
  // tf.customGrad's forward functions are recorded under their own names ("forward", "fusedMatMul__op")
  // but dispatch only the kernels recorded beside them: keep the names some backend registers.
  const registered = new Set(
    ["cpu", "wasm", ...(HAS_NATIVE ? ["tensorflow"] : [])].flatMap((b) => tf.getKernelsForBackend(b).map((k) => k.kernelName)),
  );
  return [...names].filter((k) => registered.has(k)).sort();
}

const missingOn = (names: readonly string[], backend: string) => names.filter((k) => tf.getKernel(k, backend) === undefined);

describe("every kernel the runtime uses is registered on each backend", () => {
  let used: string[] = [];
  it("a training step uses the kernels of attention, norms, activations, gather and its gradient", async () => {
    used = await kernelsUsed();
    for (const k of ["BatchMatMul", "_FusedMatMul", "Softmax", "GatherV2", "UnsortedSegmentSum", "Rsqrt", "Erf", "Sigmoid"])
      expect(used).toContain(k);
    expect(used.length).toBeGreaterThan(30);
    // The lookup can fail: without llavac's UnsortedSegmentSum for wasm (runtime/backend/wasm-fixes.ts),
    // wasm is reported as lacking it.
    await selectBackend("wasm");
    const fix = tf.getKernel("UnsortedSegmentSum", "wasm")!;
    tf.unregisterKernel("UnsortedSegmentSum", "wasm");
    try {
      expect(missingOn(used, "wasm")).toEqual(["UnsortedSegmentSum"]);
    } finally {
      tf.registerKernel(fix);
    }
  });

  it.each(["wasm", "cpu"])("%s", async (backend) => {
    await selectBackend(backend);
    expect(missingOn(used, backend)).toEqual([]);
  });

  it.skipIf(!HAS_NATIVE)("tensorflow (native)", async () => {
    await selectBackend("tensorflow");
    expect(missingOn(used, "tensorflow")).toEqual([]);
  });
});

describe("backpropagation frees saved tensors and gradients as it goes (runtime/backend/tape-fix.ts)", () => {
  it("gives tfjs's gradients bit for bit, with a lower peak of tensor memory and no leaked tensor", async () => {
    await selectBackend("cpu");
    const engine = tf.engine() as unknown as { gradients: unknown; llavacTfjsGradients: unknown };
    const store = new ParamStore(config().arch, { seed: 0, std: { image_model: 0.02, text_model: 0.02, projector_image_model: 0.02 } });
    const model = new LlavaModel(config(), store);
    const b = batch();
    const vars = store.specs.map((p) => store.get(p.name));
    const grads = async () => {
      const before = tf.memory().numTensors,
        base = tf.memory().numBytes;
      let out: Float32Array[] = [];
      const info = await tf.profile(() => {
        const { value, grads } = tf.variableGrads(
          () => model.lossSum(b, { training: true, frozen: { vision: false, text: false }, seed: 3 }).sum as tf.Scalar,
          vars,
        );
        out = Object.values(grads).map((g) => g.dataSync() as Float32Array);
        tf.dispose([value, ...Object.values(grads)]);
      });
      // Peak above what was allocated before: the activations, saved tensors and gradients.
      return { out, peak: info.peakBytes - base, leaked: tf.memory().numTensors - before };
    };
    await grads(); // builds the model's lazy caches (rotary tables)
    const fixed = await grads();
    const mine = engine.gradients;
    engine.gradients = engine.llavacTfjsGradients;
    let theirs;
    try {
      theirs = await grads();
    } finally {
      engine.gradients = mine;
    }
    expect(fixed.out.length).toBe(theirs.out.length);
    expect(fixed.out.length).toBeGreaterThan(30);
    fixed.out.forEach((g, i) => expect(Buffer.from(g.buffer).equals(Buffer.from(theirs.out[i]!.buffer))).toBe(true));
    expect(fixed.leaked).toBe(0);
    expect(theirs.leaked).toBe(0);
    // Here the gradients of the parameters dominate; on the benchmark step (activations dominate) it is ~2 GiB (BENCHMARKS.md).
    expect(fixed.peak).toBeLessThan(theirs.peak * 0.9);
  });
});

describe("the native backend's fused cross-entropy (runtime/backend/native-ops.ts)", () => {
  /** Loss and gradients of both cross-entropies (alone, and fused with the LM head) on one backend, with the kernels they ran. */
  async function run(backend: string) {
    await selectBackend(backend);
    const [N, H, V] = [37, 16, 1000];
    const h = tf.tensor2d(
      Float32Array.from({ length: N * H }, (_, i) => Math.sin(i * 0.37) * 2),
      [N, H],
    );
    const w = tf.tensor2d(
      Float32Array.from({ length: V * H }, (_, i) => Math.cos(i * 0.11)),
      [V, H],
    );
    const t = tf.tensor1d(
      Int32Array.from({ length: N }, (_, i) => (i * 271) % V),
      "int32",
    );
    const dy = tf.tensor1d(Float32Array.from({ length: N }, (_, i) => 1 + (i % 3)));
    const out: Float32Array[] = [];
    const info = await tf.profile(() => {
      const head = tf.grads((a: tf.Tensor, b: tf.Tensor) => headCrossEntropy(a, b, t).mul(dy).sum());
      const [dh, dw] = head([h, w]);
      const dLogits = tf.grad((x: tf.Tensor) => crossEntropy(x, t).mul(dy).sum())(h.matMul(w, false, true));
      for (const x of [headCrossEntropy(h, w, t), dh!, dw!, crossEntropy(h.matMul(w, false, true), t), dLogits])
        out.push(x.dataSync() as Float32Array);
    });
    return { out, kernels: info.kernelNames };
  }
  it.skipIf(!HAS_NATIVE)("gives the losses and gradients of the tfjs composition (cpu) in one TensorFlow kernel", async () => {
    const native = await run("tensorflow");
    const reference = await run("cpu");
    expect(native.kernels).toContain("LlavacSparseSoftmaxCrossEntropy");
    expect(reference.kernels).not.toContain("LlavacSparseSoftmaxCrossEntropy");
    // Without it, the native backend runs the composition's kernels over the [N, vocab] block.
    expect(native.kernels).not.toContain("OneHot");
    expect(reference.kernels).toContain("OneHot");
    native.out.forEach((x, i) => {
      const r = reference.out[i]!;
      expect(x.length).toBe(r.length);
      let worst = 0;
      for (let j = 0; j < x.length; j++) worst = Math.max(worst, Math.abs(x[j]! - r[j]!) / Math.max(1, Math.abs(r[j]!)));
      expect(worst, `output ${i}`).toBeLessThan(1e-5);
    });
    // The comparison can fail: another target set gives other losses.
    expect(Math.abs(native.out[0]![0]! - native.out[0]![1]!)).toBeGreaterThan(1e-3);
  });
});

describe("the native backend's fused AdamW and global norm (runtime/backend/native-ops.ts)", () => {
  /** Three updates of two parameters (with and without weight decay and bias correction) and the norms before each. */
  async function run(backend: string) {
    await selectBackend(backend);
    const out: number[][] = [];
    const fused: boolean[] = [];
    const inPlace: number[] = [];
    for (const [weight_decay, correct_bias] of [
      [0, true],
      [0.1, false],
    ] as const) {
      const params = new Map<string, tf.Variable>([
        [
          "a",
          tf.variable(
            tf.tensor2d(
              Float32Array.from({ length: 60 }, (_, i) => Math.sin(i)),
              [12, 5],
            ),
          ),
        ],
        // "a" shares its buffer with the tensor it was made from (left alive), "b" does not.
        ["b", tf.tidy(() => tf.variable(tf.tensor1d([0.5, -1.5, 2])))],
      ]);
      const opt = new AdamW({ betas: [0.9, 0.999], eps: 1e-8, weight_decay, correct_bias }, params);
      // A tensor made from a parameter before an update (its buffer shared, on the native backend) keeps its values.
      const view = params.get("a")!.reshape([60]);
      const initial = Array.from(view.dataSync());
      // So does a tfjs tensor that shares a parameter's buffer itself (a clone; here in the second run).
      const clone = weight_decay > 0 ? params.get("b")!.clone() : undefined;
      const norms: number[] = [];
      for (let t = 1; t <= 3; t++) {
        const grads = new Map(
          [...params].map(([n, p]) => [
            n,
            tf.tensor(
              Float32Array.from({ length: p.size }, (_, i) => Math.cos(i * t)),
              p.shape,
            ),
          ]),
        );
        norms.push(globalNorm(grads.values()));
        // A restore between updates (as a checkpoint's load assigns them) is what the next update starts from.
        if (t === 3)
          tf.tidy(() => {
            params.get("b")!.assign(tf.tensor1d([1, -2, 3]));
            opt.m.get("a")!.assign(tf.fill([12, 5], 0.02));
          });
        opt.apply(grads, 0.01, 0.5);
        tf.dispose([...grads.values()]);
      }
      expect(Array.from(view.dataSync())).toEqual(initial);
      view.dispose();
      if (clone) expect(Array.from(clone.dataSync())).toEqual([0.5, -1.5, 2]);
      clone?.dispose();
      const isFused = opt.fused;
      fused.push(isFused);
      inPlace.push(opt.inPlace);
      out.push(norms, ...[...params.values()].map((p) => Array.from(p.dataSync())));
      // The moments too: on the native backend the in-place updates leave them with the resource variables
      // (native-ops.ts, `lent`), and reading them (as a checkpoint does) takes them back first.
      out.push(...[...opt.m.values(), ...opt.v.values()].map((x) => Array.from(x.dataSync())));
      const before = tf.memory().numTensors;
      opt.dispose();
      // Its moments and (on the native backend) the parameters' resource handles go with it.
      expect(before - tf.memory().numTensors).toBe(2 * params.size + (isFused ? 3 * params.size : 0));
      tf.dispose([...params.values()]);
    }
    return { out, fused, inPlace };
  }
  it.skipIf(!HAS_NATIVE)("updates as the tfjs composition (cpu) does, in TensorFlow's ResourceApplyAdam, in place", async () => {
    const native = await run("tensorflow");
    const reference = await run("cpu");
    expect(native.fused).toEqual([true, true]);
    expect(reference.fused).toEqual([false, false]);
    // The 2 parameters × 3 updates in place, but those of a buffer that another tfjs tensor shared: the
    // first of "a" (its initial tensor) and, in the second run, the first of "b" (the clone); each update
    // gives the variable a buffer of its own.
    expect(native.inPlace).toEqual([5, 4]);
    expect(reference.inPlace).toEqual([0, 0]);
    native.out.forEach((x, i) => {
      const r = reference.out[i]!;
      expect(x.length).toBe(r.length);
      for (let j = 0; j < x.length; j++)
        expect(Math.abs(x[j]! - r[j]!), `output ${i}[${j}]`).toBeLessThan(1e-6 * Math.max(1, Math.abs(r[j]!)));
    });
    // The comparison can fail: the parameters moved (by ~3 × lr), and differently with weight decay.
    expect(Math.abs(native.out[1]![0]! - Math.sin(0))).toBeGreaterThan(1e-3);
    expect(native.out[1]).not.toEqual(native.out[4]);
  });
});

describe("RMSNorm's gradient in one piece (runtime/model/layers.ts)", () => {
  it("equals the gradients of its ops' composition on each backend, for 2-D and 3-D inputs", async () => {
    for (const backend of HAS_NATIVE ? ["tensorflow", "cpu"] : ["cpu"]) {
      await selectBackend(backend);
      for (const shape of [
        [6, 8],
        [2, 3, 8],
      ]) {
        const n = shape.reduce((a, b) => a * b, 1);
        const x = tf.tensor(
          Float32Array.from({ length: n }, (_, i) => Math.sin(i * 1.3) * 2),
          shape,
        );
        const w = tf.tensor1d(Float32Array.from({ length: 8 }, (_, i) => 0.5 + Math.cos(i)));
        const dy = tf.tensor(
          Float32Array.from({ length: n }, (_, i) => Math.cos(i * 0.7)),
          shape,
        );
        const composition = (a: tf.Tensor, b: tf.Tensor) => a.mul(tf.rsqrt(a.square().mean(-1, true).add(1e-5))).mul(b);
        const [gx, gw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => rmsNorm(a, b, 1e-5))([x, w], dy);
        const [rx, rw] = tf.grads(composition)([x, w], dy);
        expect(Array.from(rmsNorm(x, w, 1e-5).dataSync())).toEqual(Array.from(composition(x, w).dataSync()));
        for (const [got, want] of [
          [gx!, rx!],
          [gw!, rw!],
        ] as const) {
          expect(got.shape).toEqual(want.shape);
          const g = got.dataSync(),
            r = want.dataSync();
          for (let i = 0; i < r.length; i++)
            expect(Math.abs(g[i]! - r[i]!), `${backend} ${shape} [${i}]`).toBeLessThan(1e-5 * Math.max(1, Math.abs(r[i]!)));
        }
        // The comparison can fail: the gradient in x is not dy·w (the norm's own term matters here).
        expect(Math.abs(gx!.dataSync()[0]! - dy.dataSync()[0]! * w.dataSync()[0]!)).toBeGreaterThan(1e-3);
        tf.dispose([x, w, dy, gx!, gw!, rx!, rw!]);
      }
    }
  });
});

describe("the native backend's matmuls through oneDNN's primitive (runtime/backend/native-matmul.ts)", () => {
  /** Every transpose combination, 2-D (as tfjs gives them, batch 1) and batched with a broadcast batch. */
  const cases: [number[], number[], boolean, boolean][] = [
    [[37, 16], [16, 29], false, false],
    [[37, 16], [29, 16], false, true],
    [[16, 37], [16, 29], true, false],
    [[16, 37], [29, 16], true, true],
    [[2, 3, 9, 8], [2, 3, 8, 7], false, false],
    [[2, 3, 8, 9], [2, 3, 8, 7], true, false],
    [[2, 3, 9, 8], [1, 3, 7, 8], false, true],
  ];
  async function run(backend: string) {
    await selectBackend(backend);
    const before = oneDnnMatMuls();
    const fill = (shape: number[], k: number) =>
      tf.tensor(
        Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i * 0.37 + k) * 2),
        shape,
      );
    const out = cases.map(([a, b, ta, tb], k) => tf.tidy(() => tf.matMul(fill(a, k), fill(b, k + 1), ta, tb).dataSync() as Float32Array));
    return { out, oneDnn: oneDnnMatMuls() - before };
  }
  it.skipIf(!HAS_NATIVE)("gives the cpu backend's products, through _MklBatchMatMulV2 where the rule sends them", async () => {
    const native = await run("tensorflow");
    const reference = await run("cpu");
    // All but the last (batched, only the right operand transposed: Eigen's contraction was faster there).
    expect(native.oneDnn).toBe(cases.length - 1);
    expect(reference.oneDnn).toBe(0);
    expect(cases.map(([a, b, ta, tb]) => useOneDnnMatMul(a, b, ta, tb))).toEqual([true, true, true, true, true, true, false]);
    native.out.forEach((x, i) => {
      const r = reference.out[i]!;
      expect(x.length, `product ${i}`).toBe(r.length);
      let worst = 0;
      for (let j = 0; j < x.length; j++) worst = Math.max(worst, Math.abs(x[j]! - r[j]!) / Math.max(1, Math.abs(r[j]!)));
      expect(worst, `product ${i}`).toBeLessThan(1e-5);
    });
  });
});
