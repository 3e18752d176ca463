// The held-out loss: every sample of the eval split once, in order, in micro-batches, without dropout
// and without gradients, so evaluating never changes the weights or the training trajectory (the
// training stream, its dropout seeds and the optimizer are untouched). The mean is the training loss's
// own definition over the whole split: Σ cross-entropy / its supervised tokens (or / its samples, with
// batch_size scaling), times loss_weight.
import * as tf from "../backend/tf.js";
import type { SampleLoader } from "../data/loader.js";
import type { LlavaModel } from "../model/llava.js";
import { toBatch } from "./run.js";

export interface EvalResult {
  loss: number;
  samples: number;
  supervised: number;
}

export async function evaluate(
  model: LlavaModel,
  loader: SampleLoader,
  o: {
    micro: number;
    imageShape: [number, number, number];
    minimum: number;
    /** A frozen tower's output for these samples, computed beforehand (ours to dispose). */
    features?: (indices: number[]) => tf.Tensor | undefined;
  },
): Promise<EvalResult> {
  const n = loader.info.samples;
  let sum = 0,
    supervised = 0;
  let next = n > 0 ? loader.read(range(0, Math.min(o.micro, n))) : undefined;
  for (let at = 0; at < n; at += o.micro) {
    const raw = await next!;
    // The next micro-batch is read while this one is computed.
    const after = at + o.micro;
    next = after < n ? loader.read(range(after, Math.min(after + o.micro, n))) : undefined;
    const b = toBatch(raw, o.imageShape, o.minimum, model.config.arch.text.vocab_size);
    // A sample whose image failed to load carries no loss, as in training.
    for (const f of raw.failures) {
      const s = raw.indices.indexOf(f.sample);
      b.lossMask.fill(0, s * b.length, (s + 1) * b.length);
    }
    for (let i = 0; i < b.lossMask.length; i++) supervised += b.lossMask[i]!;
    const features = o.features?.(raw.indices);
    const s = tf.tidy(() => model.lossSum(b, { training: false, ...(features ? { features } : {}) }).sum);
    features?.dispose();
    sum += (await s.data())[0]!;
    s.dispose();
  }
  return { loss: sum / model.lossDivisor(supervised, n), samples: n, supervised };
}

const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);
