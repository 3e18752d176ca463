// A split small enough to hold is read once, not once an epoch: its HDF5 rows stay in memory, and so do
// its images, or, when the vision tower is frozen, the tower's output for them instead (a frozen tower runs
// without dropout, so each image's features never change; computing them per step was ~40% of the tiny
// example's step). The features are computed once, in index order and micro-batches of a fixed size, so a
// resumed run reads the very values an uninterrupted one does.
import * as tf from "../backend/tf.js";
import type { ImageFailure, RawSamples } from "../data/loader-core.js";
import { LoaderError, ROWS } from "../data/samples.js";
import type { SampleLoader } from "../data/loader.js";
import type { Batch, LlavaModel } from "../model/llava.js";

/** What one split may hold in memory at most (rows and images or features). */
export const MEMORY_BUDGET = 256 * 2 ** 20;

/** A split read into memory: answers `read` from it, and with `features`, the frozen tower's output. */
export class MemorySplit implements SampleLoader {
  private constructor(
    readonly info: SampleLoader["info"],
    private readonly rows: Int32Array,
    private readonly images: Float32Array | undefined,
    private readonly per: number,
    private readonly failures: Map<number, ImageFailure>,
    /** [samples, patches, width], kept: the frozen tower's output per sample. */
    private readonly feats: tf.Tensor | undefined,
  ) {}

  /**
   * The whole split of `loader` (which is closed once read), or undefined when it does not fit in
   * `budget` bytes; `model` given (a frozen tower), features in place of the images.
   */
  static async read(
    loader: SampleLoader,
    o: { imageShape: [number, number, number]; micro: number; model?: LlavaModel; budget?: number },
  ): Promise<MemorySplit | undefined> {
    const { samples: n, msl } = loader.info;
    const per = o.imageShape[0] * o.imageShape[1] * o.imageShape[2];
    const vision = o.model?.config;
    const featureFloats = vision ? vision.num_patches * vision.arch.vision.hidden_size : 0;
    const bytes = n * 4 * (ROWS * msl + (o.model ? featureFloats : per));
    if (n === 0 || bytes > (o.budget ?? MEMORY_BUDGET)) return undefined;
    const rows = new Int32Array(n * ROWS * msl);
    const images = o.model ? undefined : new Float32Array(n * per);
    const failures = new Map<number, ImageFailure>();
    const parts: tf.Tensor[] = [];
    // Every chunk is requested at once: the loader's thread prepares the next while this one computes.
    const chunks: Promise<RawSamples>[] = [];
    for (let at = 0; at < n; at += o.micro) chunks.push(loader.read(Array.from({ length: Math.min(o.micro, n - at) }, (_, i) => at + i)));
    try {
      for (const [c, pending] of chunks.entries()) {
        const raw = await pending;
        const at = c * o.micro;
        rows.set(raw.rows, at * ROWS * msl);
        for (const f of raw.failures) failures.set(f.sample, f);
        if (images) images.set(raw.images, at * per);
        if (o.model) {
          const m = o.model,
            none = new Int32Array(0);
          const b: Batch = {
            size: raw.indices.length,
            length: 0,
            inputIds: none,
            lossMask: none,
            labels: none,
            keyPadding: none,
            images: raw.images,
            imageShape: o.imageShape,
          };
          parts.push(tf.tidy(() => m.visionFeatures(b, { training: false })));
        }
      }
    } catch (err) {
      tf.dispose(parts);
      throw err;
    } finally {
      await loader.close();
    }
    const feats = parts.length ? tf.keep(parts.length === 1 ? parts[0]! : tf.concat(parts, 0)) : undefined;
    if (parts.length > 1) tf.dispose(parts);
    return new MemorySplit(loader.info, rows, images, per, failures, feats);
  }

  read(indices: number[]): Promise<RawSamples> {
    const msl = this.info.msl,
      w = ROWS * msl;
    const rows = new Int32Array(indices.length * w);
    // Without images (the features stand for them), the samples carry none.
    const images = new Float32Array(this.images ? indices.length * this.per : 0);
    const failures: ImageFailure[] = [];
    for (const [k, g] of indices.entries()) {
      if (!Number.isInteger(g) || g < 0 || g >= this.info.samples)
        return Promise.reject(new LoaderError(`sample ${g} is out of range (0..${this.info.samples - 1})`));
      rows.set(this.rows.subarray(g * w, (g + 1) * w), k * w);
      if (this.images) images.set(this.images.subarray(g * this.per, (g + 1) * this.per), k * this.per);
      const f = this.failures.get(g);
      if (f) failures.push(f);
    }
    return Promise.resolve({ indices, msl, rows, images, failures });
  }

  /** The frozen tower's output for these samples ([n, patches, width], the caller's to dispose), or undefined. */
  features(indices: readonly number[]): tf.Tensor | undefined {
    const all = this.feats;
    if (!all) return undefined;
    return tf.tidy(() => tf.gather(all, tf.tensor1d(indices as number[], "int32")));
  }

  async close(): Promise<void> {
    this.feats?.dispose();
  }
}
