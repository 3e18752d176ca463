// The resolved IR: plain data for each phase, shaped like the stdlib schemas (std/core.llava and the
// modules it imports), with every value's source location kept beside it in a span map.
// The schemas are the source of truth: test/ir-schemas.test.ts holds each type here to its schema field
// by field (name, type, optionality), so a field added on one side only fails there.
import type { Span } from "../grammar/ast.js";
import type { TextArch } from "../runtime/model/arch.js";
import type { Unit } from "./types.js";

export type Origin = "explicit" | "default" | "derived";

export interface SpanInfo {
  span: Span;
  origin: Origin;
}

/** Dotted IR paths ("model.vision.hidden_size", "data.0.samples") → where the value was written. */
export type SpanMap = Map<string, SpanInfo>;

export interface Quantity {
  unit: Unit;
  value: number;
}

export interface RegexIR {
  source: string;
  flags: string;
}

export type TransformIR =
  | { $schema: "expand_to_square"; background_color: [number, number, number] }
  | { $schema: "resize"; size: number | [number, number]; interpolation: string }
  | { $schema: "center_crop"; size: number }
  | { $schema: "to_tensor" }
  | { $schema: "normalize"; mean: [number, number, number]; std: [number, number, number] };

export interface VitIR {
  $schema: "vit";
  $name?: string;
  hidden_size: number;
  num_hidden_layers: number;
  num_heads: number;
  filter_size: number;
  image_size: number | [number, number];
  patch_size: number | [number, number];
  drop_remainder: boolean;
  num_channels: number;
  layer_norm_epsilon: number;
  nonlinearity: string;
  position_embedding_type: "learned" | "fixed" | "none" | string;
  prepend_cls_token: boolean;
  use_conv_patchified_embedding: boolean;
  use_embed_proj_bias: boolean;
  use_post_embed_layer_norm: boolean;
  use_final_layer_norm: boolean;
  use_encoder_pooler_layer: boolean;
  norm_first: boolean;
  use_projection_bias_in_attention: boolean;
  use_ffn_bias_in_attention: boolean;
  use_ffn_bias: boolean;
  attention_type: string;
  attention_softmax_fp32: boolean;
  embedding_dropout_rate: number;
  dropout_rate: number;
  attention_dropout_rate: number;
  initializer_range: number;
  select_layer: number;
  select: "patch" | "cls_patch";
  transforms: TransformIR[];
  huggingface?: string;
}

export interface TokenizerIR {
  $schema: "tokenizer";
  $name?: string;
  model?: string;
  json?: string;
  huggingface?: string;
  pad_id?: number;
}

/** std/language's `tokenizer_family`; the embedded vocabulary serves EMBEDDED_FAMILY. */
export type TokenizerFamily = "llama2" | "llama3" | "mistral" | "qwen2";

/** The families whose tokenizer is byte-level BPE, shipped as tokenizer.json only (Llama-3's tokenizer.model
 *  is a tiktoken file, not sentencepiece); the others are sentencepiece (`model`, or its converted `json`). */
export const BYTE_LEVEL_FAMILIES: readonly TokenizerFamily[] = ["llama3", "qwen2"];

/** std/language's `llama3_rope_scaling` (Llama-3.1). */
export interface RopeScalingIR {
  $schema: "llama3_rope_scaling";
  $name?: string;
  factor: number;
  low_freq_factor: number;
  high_freq_factor: number;
  original_max_position_embeddings: number;
}

/** The language model: the architecture fields of the runtime's TextArch, plus training and source settings. */
export interface LlamaIR extends TextArch {
  $schema: "llama";
  $name?: string;
  rotary_dim?: number;
  rope_theta: number;
  rope_scaling?: RopeScalingIR;
  sliding_window?: number;
  embd_pdrop?: number;
  dropout_rate: number;
  attention_dropout_rate: number;
  layer_norm_epsilon: number;
  attention_type: string;
  tokenizer_family: TokenizerFamily;
  tokenizer?: TokenizerIR;
  huggingface?: string;
}

export type ProjectorIR =
  | { $schema: "linear_projector"; $name?: string; use_bias: boolean; input_size?: number; output_size?: number }
  | {
      $schema: "mlp_projector";
      $name?: string;
      depth: number;
      activation: string;
      use_bias: boolean;
      input_size?: number;
      output_size?: number;
    };

export interface ModelIR {
  $schema: "model";
  $name?: string;
  vision: VitIR;
  projector: ProjectorIR;
  language: LlamaIR;
}

export interface TemplateIR {
  $name?: string;
  layout: "plain" | "chat" | "turns";
  system: string;
  user: string;
  assistant: string;
  cerebras_style?: string;
  bos: boolean;
  system_header: string;
  system_footer: string;
  user_header: string;
  user_footer: string;
  assistant_header: string;
  assistant_footer: string;
  separator: string;
  trim: boolean;
  special_tokens: string[];
}

export interface DatasetIR {
  $name?: string;
  format: string;
  samples?: number;
  root?: string;
  jsonl?: string;
  image_dir?: string;
  file?: string;
  huggingface?: string;
  homepage?: string;
}

export type ScheduleIR =
  | {
      $schema: "warmup_cosine";
      length: Quantity;
      warmup: Quantity;
      warmup_rounding: "ceil" | "floor" | "round";
      initial_lr: number;
      final_lr: number;
      reference_batch?: number;
      decay?: Quantity;
    }
  | { $schema: "constant_lr"; length: Quantity; reference_batch?: number };

export interface HdfWriterIR {
  input?: string;
  output?: string;
  images?: string;
  processes: number;
  files_per_record: number;
  output_name: string;
  seed: number;
  short_seq_prob: number;
  write_in_batch: boolean;
  write_remainder: boolean;
  resume_from_checkpoint: boolean;
  display_pbar: boolean;
  use_ftfy: boolean;
  ftfy_normalizer: string;
  wikitext_detokenize: boolean;
  over_length: "drop" | "truncate";
}

export interface PhaseIR {
  $name: string;
  model: ModelIR;
  from?: { phase: string; states: string[] };
  data: DatasetIR[];
  template: TemplateIR;
  images: string;
  hdf5: string;
  eval?: { data?: DatasetIR[]; hdf5?: string; images?: string; shuffle?: boolean; shuffle_seed?: number };
  /** Evaluate the held-out split (eval.data) every this many steps. */
  eval_every?: Quantity;
  /** Absent for `preprocess = none`: no preprocess.yaml, the HDF5 files are made elsewhere. */
  preprocess?: HdfWriterIR;
  transforms?: TransformIR[];
  freeze: RegexIR[];
  batch: { global: number; micro?: number };
  loader: {
    shuffle: boolean;
    shuffle_seed?: number;
    num_workers: number;
    prefetch_factor: number;
    persistent_workers: boolean;
    drop_last: boolean;
  };
  optimizer: { lr: number; betas: [number, number]; eps: number; weight_decay: number; max_grad_norm?: number; correct_bias: boolean };
  schedule: ScheduleIR;
  precision: "bf16" | "fp16" | "cbf16" | "fp32";
  loss_scaling: "num_tokens" | "batch_size";
  loss_weight: number;
  run: {
    log_steps: number;
    checkpoint_steps: number;
    eval_steps: number;
    eval_frequency?: number;
    max_checkpoints: number;
    seed: number;
    log_summaries: boolean;
  };
  gpu: GpuPhaseIR;
  num_patches?: number;
  image_start_idx?: number;
  max_sequence_length?: number;
  text_budget?: number;
  max_steps?: Quantity;
}

export interface CerebrasTargetIR {
  $name?: string;
  release: "2.2.1" | "2.3.0" | "2.10";
  format?: "flat" | "trainer";
  num_csx: number;
  mgmt_address?: string;
  mount_dirs: string[];
  python_paths: string[];
  job_labels: string[];
  model_dir?: string;
  modelzoo: string;
  weights: string;
  python: string;
  eval: string[];
}

/** std/core's `gpu_phase`: a phase on GPUs (`--target llava-repo`). */
export interface GpuPhaseIR {
  batch?: { global: number; micro?: number };
  group_by_modality_length: boolean;
  zero?: number;
}

/** std/core's `gpus`: the GPU cluster the LLaVA repository's scripts launch on. */
export interface GpusTargetIR {
  $name?: string;
  per_node: number;
  nodes: number;
  launcher: "deepspeed" | "torchrun";
  hostfile?: string;
  master?: string;
  master_port: number;
  repo: string;
  offload: boolean;
  gradient_checkpointing: boolean;
  tf32: boolean;
  report_to: string;
}

export interface PhaseUnit {
  ir: PhaseIR;
  spans: SpanMap;
  /** The phase's name in the spec. */
  nameSpan: Span;
  /** IR paths whose values are invalid or missing (already reported); checks that need them skip. */
  holes: string[];
}

/** Whether every value under `prefix` (and the path to it) is sound. */
export function sound(unit: PhaseUnit, ...prefixes: string[]): boolean {
  return !unit.holes.some((h) => prefixes.some((p) => h === p || h.startsWith(p + ".") || p.startsWith(h + ".") || h === ""));
}

export interface ProgramIR {
  file: string;
  phases: PhaseUnit[];
  target: CerebrasTargetIR;
  targetSpans: SpanMap;
  /** The spec's `gpus` block (absent: none declared; `--target llava-repo` then uses its defaults). */
  gpus?: GpusTargetIR;
  gpusSpans: SpanMap;
}
