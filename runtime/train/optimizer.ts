// AdamW as Cerebras (and HuggingFace transformers) define it, with `correct_bias`:
//   m ← β₁m + (1−β₁)g;  v ← β₂v + (1−β₂)g²
//   p ← p − α·m / (√v + ε),  α = lr·√(1−β₂ᵗ)/(1−β₁ᵗ) with bias correction, lr without
//   p ← p − lr·λ·p  (decoupled weight decay, after the update)
// plus clipping of the gradients by their global norm (torch.nn.utils.clip_grad_norm_).
import { AdamConstants, NativeAdamSlot, nativeSumSquares } from "../backend/native-ops.js";
import * as tf from "../backend/tf.js";

export interface AdamWOptions {
  betas: [number, number];
  eps: number;
  weight_decay: number;
  correct_bias: boolean;
}

export class AdamW {
  /** Updates taken so far (t in the formulas is step + 1 during an update). */
  step = 0;
  private readonly ms = new Map<string, tf.Variable>();
  private readonly vs = new Map<string, tf.Variable>();
  /** On the native backend, TensorFlow's fused update per parameter (made at the first update). */
  private readonly slots = new Map<string, NativeAdamSlot | undefined>();

  /** The first moments by parameter (for checkpoints: read back from the native updates first). */
  get m(): ReadonlyMap<string, tf.Variable> {
    this.sync();
    return this.ms;
  }
  /** The second moments by parameter. */
  get v(): ReadonlyMap<string, tf.Variable> {
    this.sync();
    return this.vs;
  }
  private sync(): void {
    for (const slot of this.slots.values()) slot?.sync();
  }

  constructor(
    readonly o: AdamWOptions,
    readonly params: ReadonlyMap<string, tf.Variable>,
  ) {
    for (const [name, p] of params) {
      // The zeros are disposed once the variables hold them: left alive, they kept the moments' first
      // buffers (two copies of every trainable parameter) past the first update.
      for (const moments of [this.ms, this.vs]) {
        const zeros = tf.zerosLike(p);
        moments.set(name, tf.variable(zeros, false));
        zeros.dispose();
      }
    }
  }

  /** One update with `grads` × `scale` (the clipping factor: applied here, per tensor, so that clipping
   * never holds a second copy of every gradient). */
  apply(grads: ReadonlyMap<string, tf.Tensor>, lr: number, scale = 1): void {
    const [b1, b2] = this.o.betas;
    const t = this.step + 1;
    const alpha = this.o.correct_bias ? (lr * Math.sqrt(1 - b2 ** t)) / (1 - b1 ** t) : lr;
    const decay = lr * this.o.weight_decay;
    let constants: AdamConstants | undefined;
    // The clipping factor as one tensor for every parameter's gradient (a number would upload it per parameter).
    const factor = scale === 1 ? undefined : tf.scalar(scale);
    for (const [name, p] of this.params) {
      const raw = grads.get(name);
      if (!raw) continue;
      const m = this.ms.get(name)!,
        v = this.vs.get(name)!;
      if (!this.slots.has(name)) this.slots.set(name, NativeAdamSlot.create(p.shape));
      const slot = this.slots.get(name);
      if (slot) {
        const powers: [number, number] = this.o.correct_bias ? [b1 ** t, b2 ** t] : [0, 0];
        constants ??= new AdamConstants({ powers, lr, betas: this.o.betas, eps: this.o.eps, decay });
        const c = constants;
        tf.tidy(() => slot.update(p, m, v, factor ? raw.mul(factor) : raw, c));
        continue;
      }
      // The same ops in the same order as the formulas, each temporary freed as soon as the next is
      // made: a tidy alone held ten copies of a [32000, 512] embedding at once (it now only collects
      // the scalars the ops make).
      tf.tidy(() => {
        const g = factor ? raw.mul(factor) : raw;
        const m1 = then(m.mul(b1), (a) => then(g.mul(1 - b1), (b) => a.add(b)));
        const v1 = then(v.mul(b2), (a) =>
          then(
            then(g.square(), (g2) => g2.mul(1 - b2)),
            (b) => a.add(b),
          ),
        );
        if (g !== raw) g.dispose();
        let p1 = then(
          then(
            then(v1.sqrt(), (r) => r.add(this.o.eps)),
            (d) => m1.div(d),
          ),
          (u) => then(u.mul(alpha), (step) => p.sub(step)),
        );
        if (decay > 0) p1 = then(p1, (x) => then(x.mul(decay), (d) => x.sub(d)));
        // assign takes over each new tensor's buffer (and frees the variable's old one).
        m.assign(m1);
        v.assign(v1);
        p.assign(p1);
        tf.dispose([m1, v1, p1]);
      });
    }
    constants?.dispose();
    factor?.dispose();
    this.step = t;
  }

  /** Whether the updates so far ran as TensorFlow's fused kernel (the native backend). */
  get fused(): boolean {
    return [...this.slots.values()].some((s) => s !== undefined);
  }

  /** Of those, how many updated the parameter and its moments in place (native-ops.ts). */
  get inPlace(): number {
    return [...this.slots.values()].reduce((n, s) => n + (s?.inPlace ?? 0), 0);
  }

  dispose(): void {
    for (const slot of this.slots.values()) slot?.dispose();
    this.slots.clear();
    for (const x of [...this.ms.values(), ...this.vs.values()]) x.dispose();
  }
}

/** f(x), then x disposed: a chain of ops that holds one temporary at a time. */
function then<T extends tf.Tensor>(x: tf.Tensor, f: (x: tf.Tensor) => T): T {
  const y = f(x);
  x.dispose();
  return y;
}

/** The global L2 norm of the gradients (each square freed once summed, not all held to the end). */
export function globalNorm(grads: Iterable<tf.Tensor>): number {
  const all = [...grads];
  let total: tf.Tensor | undefined = nativeSumSquares(all);
  if (!total) {
    let sum: tf.Tensor = tf.scalar(0);
    for (const g of all) sum = then(sum, (t) => tf.tidy(() => t.add(g.square().sum())));
    total = sum;
  }
  const norm = then(total, (t) => t.sqrt());
  const value = norm.dataSync()[0]!;
  norm.dispose();
  return value;
}

/** Scale the gradients down when their global norm exceeds `max` (torch's max/(norm + 1e-6), capped at 1). */
export function clipFactor(norm: number, max: number | undefined): number {
  if (max === undefined || !Number.isFinite(norm)) return 1;
  return Math.min(1, max / (norm + 1e-6));
}
