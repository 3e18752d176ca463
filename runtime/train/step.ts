// One optimiser step over a global batch: each micro-batch's gradients are accumulated (scaled by the
// whole step's divisor, so micro-batching does not change the result), clipped by their global norm,
// and applied with AdamW. The loss and norm come back before the update is applied, so a caller can
// refuse a non-finite step.
import * as tf from "../backend/tf.js";
import type { Batch, LlavaModel } from "../model/llava.js";
import { clipFactor, globalNorm, type AdamW } from "./optimizer.js";

export interface StepOptions {
  /** Summed supervised positions over all micro-batches of the step. */
  supervised: number;
  globalBatch: number;
  lr: number;
  maxGradNorm?: number;
  /** Which parts are frozen (run without dropout; a frozen encoder runs outside the gradient tape). */
  frozen: { vision: boolean; text: boolean };
  /** Per-micro-batch dropout seed; undefined when the model has no dropout. */
  seed?: (micro: number) => number;
  /** A frozen tower's output for a micro-batch's images, computed beforehand (ours to dispose). */
  features?: (micro: number) => tf.Tensor | undefined;
}

export interface StepResult {
  /** The step's loss as Cerebras reports it (Σ CE / supervised tokens, or / batch size). */
  loss: number;
  gradNorm: number;
  /** False when the loss or the gradient norm is not finite; nothing was updated. */
  applied: boolean;
}

export function trainStep(model: LlavaModel, opt: AdamW, batches: readonly Batch[], o: StepOptions): StepResult {
  const store = model.params;
  const divisor = model.lossDivisor(o.supervised, o.globalBatch);
  const vars = [...opt.params.values()];
  const acc = new Map<string, tf.Tensor>();
  let loss = 0;
  batches.forEach((b, k) => {
    const seed = o.seed?.(k);
    const features =
      o.features?.(k) ?? (o.frozen.vision && seed === undefined ? tf.tidy(() => model.visionFeatures(b, { training: false })) : undefined);
    const { value, grads } = tf.variableGrads(() => {
      const r = model.lossSum(b, {
        training: true,
        frozen: o.frozen,
        ...(seed !== undefined ? { seed } : {}),
        ...(features ? { features } : {}),
      });
      return r.sum.div(divisor) as tf.Scalar;
    }, vars);
    loss += value.dataSync()[0]!;
    value.dispose();
    features?.dispose();
    for (const [variable, g] of Object.entries(grads)) {
      const name = store.parameterOf(variable);
      const prev = acc.get(name);
      if (prev) {
        acc.set(name, prev.add(g));
        prev.dispose();
        g.dispose();
      } else acc.set(name, g);
    }
  });
  const gradNorm = globalNorm(acc.values());
  if (!Number.isFinite(loss) || !Number.isFinite(gradNorm)) {
    tf.dispose([...acc.values()]);
    return { loss, gradNorm, applied: false };
  }
  opt.apply(acc, o.lr, clipFactor(gradNorm, o.maxGradNorm));
  tf.dispose([...acc.values()]);
  return { loss, gradNorm, applied: true };
}
