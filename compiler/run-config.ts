// From a checked phase to the runtime's PhaseRunConfig: the architecture from the one description
// (derive.ts), the learning-rate schedule and max_steps exactly as the emitted params.yaml states them,
// and every path made relative to the folder the generated program lives in.
import path from "node:path";
import type { ImageTransform } from "../runtime/data/images.js";
import type { LlavaModelConfig, RopeScaling } from "../runtime/model/config.js";
import type { PhaseRunConfig } from "../runtime/train/config.js";
import type { LearningRate } from "../runtime/train/schedule.js";
import type { CompileResult, PhaseResult } from "./compile.js";
import type { Derived } from "./derive.js";
import { emitParams } from "./emit/cerebras-params.js";
import { toPlain, type YValue } from "./emit/yaml.js";
import type { RopeScalingIR, TransformIR } from "./ir.js";
import { VERSION } from "./version.js";

export function imageTransforms(ts: readonly TransformIR[]): ImageTransform[] {
  return ts.map((t): ImageTransform => {
    switch (t.$schema) {
      case "expand_to_square":
        return { kind: "expand_to_square", background: [...t.background_color] };
      case "resize":
        return { kind: "resize", size: t.size, interpolation: t.interpolation as "bicubic" };
      case "center_crop":
        return { kind: "center_crop", size: t.size };
      case "to_tensor":
        return { kind: "to_tensor" };
      case "normalize":
        return { kind: "normalize", mean: [...t.mean], std: [...t.std] };
    }
  });
}

function ropeScaling(r: RopeScalingIR): RopeScaling {
  return {
    type: "llama3",
    factor: r.factor,
    low_freq_factor: r.low_freq_factor,
    high_freq_factor: r.high_freq_factor,
    original_max_position_embeddings: r.original_max_position_embeddings,
  };
}

export function modelConfig(p: PhaseResult & { derived: Derived }): LlavaModelConfig {
  const ir = p.unit.ir,
    d = p.derived;
  const v = ir.model.vision,
    t = ir.model.language;
  return {
    arch: d.arch,
    vision: {
      layer_norm_epsilon: v.layer_norm_epsilon,
      select_layer: v.select_layer,
      select: v.select,
      norm_first: v.norm_first,
      embedding_dropout_rate: v.embedding_dropout_rate,
      dropout_rate: v.dropout_rate,
      attention_dropout_rate: v.attention_dropout_rate,
      initializer_range: v.initializer_range,
    },
    text: {
      layer_norm_epsilon: t.layer_norm_epsilon,
      rope_theta: t.rope_theta,
      rotary_dim: d.rotaryDim,
      ...(t.rope_scaling ? { rope_scaling: ropeScaling(t.rope_scaling) } : {}),
      ...(t.sliding_window !== undefined ? { sliding_window: t.sliding_window } : {}),
      embedding_dropout_rate: t.embd_pdrop ?? 0,
      dropout_rate: t.dropout_rate,
      attention_dropout_rate: t.attention_dropout_rate,
      initializer_range: 0.02,
    },
    projector_activations: d.projector.layers_activation,
    image_start_idx: d.imageStartIdx!,
    num_patches: d.numPatches,
    max_sequence_length: d.msl,
    loss_scaling: ir.loss_scaling,
    loss_weight: ir.loss_weight,
  };
}

/** Where a phase's program and checkpoints go inside a build's output folder. */
export function phaseDir(outDir: string, phase: string): string {
  return path.join(outDir, phase);
}

/** `emitted` is the phase's params.yaml document when the caller already has it (the flat layout). */
export function runConfig(result: CompileResult, p: PhaseResult & { derived: Derived }, outDir: string, emitted?: YValue): PhaseRunConfig {
  const ir = p.unit.ir,
    d = p.derived;
  const here = path.resolve(phaseDir(outDir, ir.$name));
  const rel = (file: string) => path.relative(here, path.resolve(result.ctx.cwd, file)).split(path.sep).join("/") || ".";
  const params = toPlain(emitted ?? emitParams(ir, d, result.program!.target).doc) as {
    optimizer: { learning_rate: LearningRate };
    runconfig: { max_steps: number };
    train_input: { shuffle_seed?: number };
  };
  const micro = ir.batch.micro ?? ir.batch.global;
  return {
    llavac: VERSION,
    spec: path.basename(result.file),
    phase: ir.$name,
    model: modelConfig(p),
    data: { hdf5: [rel(ir.hdf5)], images: rel(ir.images), transforms: imageTransforms(ir.transforms ?? ir.model.vision.transforms) },
    freeze: ir.freeze.map((f) => ({ source: f.source, flags: f.flags })),
    batch: { global: ir.batch.global, micro },
    optimizer: {
      betas: ir.optimizer.betas,
      eps: ir.optimizer.eps,
      weight_decay: ir.optimizer.weight_decay,
      ...(ir.optimizer.max_grad_norm !== undefined ? { max_grad_norm: ir.optimizer.max_grad_norm } : {}),
      correct_bias: ir.optimizer.correct_bias,
      learning_rate: params.optimizer.learning_rate,
    },
    ...(ir.eval_every && ir.eval?.hdf5 !== undefined
      ? { eval: { hdf5: [rel(ir.eval.hdf5)], images: rel(ir.eval.images ?? ir.images), every: ir.eval_every.value } }
      : {}),
    max_steps: params.runconfig.max_steps,
    loader: {
      shuffle: ir.loader.shuffle,
      shuffle_seed: params.train_input.shuffle_seed ?? ir.run.seed,
      drop_last: ir.loader.drop_last,
      prefetch_factor: ir.loader.prefetch_factor,
    },
    run: {
      seed: ir.run.seed,
      log_steps: ir.run.log_steps,
      checkpoint_steps: ir.run.checkpoint_steps,
      max_checkpoints: ir.run.max_checkpoints,
    },
    init: ir.from ? { from_phase: { phase: ir.from.phase, checkpoints: `../${ir.from.phase}/checkpoints` } } : {},
    output: ".",
  };
}
