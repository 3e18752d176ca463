// AdamW as Cerebras (and HuggingFace transformers) define it, with `correct_bias`:
//   m ← β₁m + (1−β₁)g;  v ← β₂v + (1−β₂)g²
//   p ← p − α·m / (√v + ε),  α = lr·√(1−β₂ᵗ)/(1−β₁ᵗ) with bias correction, lr without
//   p ← p − lr·λ·p  (decoupled weight decay, after the update)
// plus clipping of the gradients by their global norm (torch.nn.utils.clip_grad_norm_).
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
  readonly m = new Map<string, tf.Variable>();
  readonly v = new Map<string, tf.Variable>();

  constructor(
    readonly o: AdamWOptions,
    readonly params: ReadonlyMap<string, tf.Variable>,
  ) {
    for (const [name, p] of params) {
      this.m.set(name, tf.variable(tf.zerosLike(p), false));
      this.v.set(name, tf.variable(tf.zerosLike(p), false));
    }
  }

  /** One update with `grads` × `scale` (the clipping factor: applied here, per tensor, so that clipping
   * never holds a second copy of every gradient). */
  apply(grads: ReadonlyMap<string, tf.Tensor>, lr: number, scale = 1): void {
    const [b1, b2] = this.o.betas;
    const t = this.step + 1;
    const alpha = this.o.correct_bias ? (lr * Math.sqrt(1 - b2 ** t)) / (1 - b1 ** t) : lr;
    const decay = lr * this.o.weight_decay;
    for (const [name, p] of this.params) {
      const raw = grads.get(name);
      if (!raw) continue;
      const m = this.m.get(name)!,
        v = this.v.get(name)!;
      tf.tidy(() => {
        const g = scale === 1 ? raw : raw.mul(scale);
        const m1 = m.mul(b1).add(g.mul(1 - b1));
        const v1 = v.mul(b2).add(g.square().mul(1 - b2));
        let p1 = p.sub(m1.div(v1.sqrt().add(this.o.eps)).mul(alpha));
        if (decay > 0) p1 = p1.sub(p1.mul(decay));
        m.assign(m1);
        v.assign(v1);
        p.assign(p1);
      });
    }
    this.step = t;
  }

  dispose(): void {
    for (const x of [...this.m.values(), ...this.v.values()]) x.dispose();
  }
}

/** The global L2 norm of the gradients. */
export function globalNorm(grads: Iterable<tf.Tensor>): number {
  return tf.tidy(() => {
    let total = tf.scalar(0);
    for (const g of grads) total = total.add(g.square().sum());
    return total.sqrt().dataSync()[0]!;
  });
}

/** Scale the gradients down when their global norm exceeds `max` (torch's max/(norm + 1e-6), capped at 1). */
export function clipFactor(norm: number, max: number | undefined): number {
  if (max === undefined || !Number.isFinite(norm)) return 1;
  return Math.min(1, max / (norm + 1e-6));
}
