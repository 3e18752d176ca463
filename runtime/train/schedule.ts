// Learning rates exactly as the emitted Cerebras YAML states them: a constant, or a list of schedulers
// run one after another (Linear warm-up, then cosinedecaylr), each for its total_iters steps.
//   Linear:        lr(t) = a + (b − a) · min(t, T) / T
//   cosinedecaylr: lr(t) = b + (a − b) · (1 + cos(π · min(t, T) / T)) / 2
//   constant:      lr(t) = a
// The step counter starts at 0, so a warm-up from 0 makes the first update's rate 0, as on Cerebras.

export interface SchedulerSegment {
  scheduler: string;
  initial_learning_rate: number;
  end_learning_rate?: number;
  total_iters?: number;
  learning_rate?: number;
}

export type LearningRate = number | SchedulerSegment[];

function segmentRate(s: SchedulerSegment, t: number): number {
  const a = s.initial_learning_rate;
  const b = s.end_learning_rate ?? a;
  const T = s.total_iters ?? 0;
  const name = s.scheduler.toLowerCase();
  if (name === "constant" || name === "constantlr") return s.learning_rate ?? a;
  const linear = name === "linear" || name === "linearlr";
  const cosine = name === "cosinedecay" || name === "cosinedecaylr";
  if (!linear && !cosine) throw new Error(`the runtime has no scheduler "${s.scheduler}"`);
  if (T <= 0) return b;
  const x = Math.min(t, T) / T;
  return linear ? a + (b - a) * x : b + (a - b) * 0.5 * (1 + Math.cos(Math.PI * x));
}

/** The learning rate of update `step` (0-based). */
export function learningRateAt(lr: LearningRate, step: number): number {
  if (typeof lr === "number") return lr;
  let start = 0;
  for (let i = 0; i < lr.length; i++) {
    const s = lr[i]!;
    const T = s.total_iters ?? 0;
    if (i === lr.length - 1 || step < start + T) return segmentRate(s, step - start);
    start += T;
  }
  return 0;
}
