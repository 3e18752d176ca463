// Everything a phase's training run needs, resolved by the compiler and held by the generated program
// as a typed constant. Paths are relative to the program's folder unless absolute.
import type { ImageTransform } from "../data/images.js";
import type { LlavaModelConfig } from "../model/config.js";
import type { LearningRate } from "./schedule.js";

export interface PhaseRunConfig {
  /** The llavac version that generated the program. */
  llavac: string;
  spec: string;
  phase: string;
  model: LlavaModelConfig;
  data: {
    /** HDF5 folders (the phase's shuffled output, or its writer's output). */
    hdf5: string[];
    images: string;
    transforms: ImageTransform[];
  };
  /** Freeze patterns (Cerebras semantics: searched in leaf module names and parameter names). */
  freeze: { source: string; flags: string }[];
  batch: { global: number; micro: number };
  optimizer: {
    betas: [number, number];
    eps: number;
    weight_decay: number;
    max_grad_norm?: number;
    correct_bias: boolean;
    /** As the emitted YAML states it. */
    learning_rate: LearningRate;
  };
  /** A held-out split whose mean loss is computed (no update, no dropout) every `every` steps and at the end. */
  eval?: { hdf5: string[]; images: string; every: number };
  max_steps: number;
  loader: { shuffle: boolean; shuffle_seed: number; drop_last: boolean; prefetch_factor: number };
  run: { seed: number; log_steps: number; checkpoint_steps: number; max_checkpoints: number };
  /** Where the run starts from when it has no checkpoint of its own. */
  init: {
    /** Another phase's checkpoints folder: its latest checkpoint's model states are loaded. */
    from_phase?: { phase: string; checkpoints: string };
    /** Pretrained weights (safetensors files or folders, HF or Cerebras names). */
    weights?: string[];
  };
  /** Checkpoints, logs and the loss curve go here. */
  output: string;
}
