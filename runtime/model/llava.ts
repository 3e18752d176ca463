// LLaVA: vision features → projector → spliced over the image slots of the token embeddings at
// image_start_idx → LLaMA → logits, and the Cerebras loss (cross-entropy on the loss mask, scaled by
// the number of supervised tokens or by the batch size).
import * as tf from "../backend/tf.js";
import type { LlavaModelConfig } from "./config.js";
import { causalPaddingMask, type Tensor } from "./layers.js";
import { decoder, embedTokens, lmHead, lmHeadLoss } from "./llama.js";
import type { ParamStore } from "./params.js";
import { project } from "./projector.js";
import { visionFeatures, type RunOptions } from "./vit.js";

/** One micro-batch as the HDF5 rows give it, cut to `length` positions. */
export interface Batch {
  size: number;
  length: number;
  inputIds: Int32Array;
  lossMask: Int32Array;
  labels: Int32Array;
  /** 1 = the key is padding and may not be attended (Cerebras' stored convention). */
  keyPadding: Int32Array;
  /** [size, C, H, W], normalised. */
  images: Float32Array;
  imageShape: [number, number, number];
}

export interface LossOptions extends RunOptions {
  /** Vision features computed beforehand (outside the gradient tape, when the encoder is frozen). */
  features?: Tensor;
  /** Frozen parts run in eval mode (no dropout), as Cerebras' freeze_modules sets them. */
  frozen?: { vision: boolean; text: boolean };
}

export class LlavaModel {
  constructor(
    readonly config: LlavaModelConfig,
    readonly params: ParamStore,
  ) {}

  imagesTensor(b: Batch): Tensor {
    return tf.tensor4d(b.images, [b.size, ...b.imageShape]);
  }

  /** Encoder output for the batch's images, before the projector: [B, num_patches, D_vision]. */
  visionFeatures(b: Batch, o: RunOptions): Tensor {
    return visionFeatures(this.params, this.config.arch.vision, this.config.vision, this.imagesTensor(b), o);
  }

  /** Token embeddings with the projected image features in place of the image slots: [B, T, H]. */
  embed(b: Batch, o: LossOptions): Tensor {
    const c = this.config;
    const raw = o.features ?? this.visionFeatures(b, { ...o, training: o.training && !o.frozen?.vision });
    const feats = c.arch.projector ? project(this.params, c.projector_activations, raw) : raw;
    const P = feats.shape[1]!;
    if (P !== c.num_patches)
      throw new Error(`the vision encoder gives ${P} features per image but the data has ${c.num_patches} image slots`);
    const s = c.image_start_idx;
    if (s + P > b.length) throw new Error(`the image slots [${s}, ${s + P}) do not fit in ${b.length} positions`);
    const text = embedTokens(this.params, tf.tensor2d(b.inputIds, [b.size, b.length], "int32"));
    const parts = [text.slice([0, 0, 0], [-1, s, -1]), feats];
    if (s + P < b.length) parts.push(text.slice([0, s + P, 0], [-1, -1, -1]));
    return tf.concat(parts, 1);
  }

  /** Final hidden states [B, T, H]. */
  hidden(b: Batch, o: LossOptions): Tensor {
    const c = this.config;
    const mask = causalPaddingMask(b.keyPadding, b.size, b.length, b.length, c.text.sliding_window);
    return decoder(this.params, c.arch.text, c.text, this.embed(b, o), mask, { ...o, training: o.training && !o.frozen?.text });
  }

  /** Logits at every position: [B, T, V]. */
  logits(b: Batch, o: LossOptions = { training: false }): Tensor {
    return lmHead(this.params, this.hidden(b, o));
  }

  /**
   * Σ cross-entropy over supervised positions (as a scalar tensor), and how many there are. Only those
   * positions go through the LM head: with 32k-word vocabularies it is most of the compute otherwise.
   */
  lossSum(b: Batch, o: LossOptions): { sum: Tensor; tokens: number } {
    const positions: number[] = [];
    const targets: number[] = [];
    for (let i = 0; i < b.size * b.length; i++) {
      if (b.lossMask[i]) {
        positions.push(i);
        targets.push(b.labels[i]!);
      }
    }
    if (positions.length === 0) return { sum: tf.scalar(0), tokens: 0 };
    const h = this.hidden(b, o);
    const picked = tf.gather(h.reshape([b.size * b.length, -1]), tf.tensor1d(positions, "int32"));
    return { sum: lmHeadLoss(this.params, picked, tf.tensor1d(targets, "int32")).sum(), tokens: positions.length };
  }

  /** The divisor Cerebras applies to the summed loss of a whole step (all its micro-batches). */
  lossDivisor(tokens: number, batchSize: number): number {
    const c = this.config;
    return c.loss_scaling === "num_tokens" ? Math.max(tokens, 1) / c.loss_weight : batchSize / c.loss_weight;
  }
}
