// The order samples are used in: one permutation per epoch (seeded, like Cerebras' CBSampler with
// shuffle_seed), concatenated into a stream. A run's data position is a single cursor into that stream,
// so a resumed run reads exactly the samples an uninterrupted one would.
import { Random } from "../util/random.js";

export interface SamplerOptions {
  shuffle: boolean;
  seed: number;
  /** Drop each epoch's last incomplete global batch (as drop_last does). */
  dropLast: boolean;
  globalBatch: number;
}

export class Sampler {
  readonly perEpoch: number;
  private epoch = -1;
  private order: number[] = [];

  constructor(
    readonly samples: number,
    private readonly o: SamplerOptions,
  ) {
    this.perEpoch = o.dropLast ? Math.floor(samples / o.globalBatch) * o.globalBatch : samples;
    if (this.perEpoch === 0)
      throw new Error(`${samples} samples do not fill one batch of ${o.globalBatch}${o.dropLast ? " (drop_last is on)" : ""}`);
  }

  private permutation(epoch: number): number[] {
    if (epoch !== this.epoch) {
      const ids = Array.from({ length: this.samples }, (_, i) => i);
      this.order = (this.o.shuffle ? new Random(this.o.seed + epoch * 1_000_003).shuffle(ids) : ids).slice(0, this.perEpoch);
      this.epoch = epoch;
    }
    return this.order;
  }

  /** The global sample indices at stream positions [cursor, cursor + count). */
  take(cursor: number, count: number): number[] {
    const out: number[] = [];
    for (let c = cursor; c < cursor + count; c++) out.push(this.permutation(Math.floor(c / this.perEpoch))[c % this.perEpoch]!);
    return out;
  }
}
