// Cerebras Model Zoo LLaVA training config (release 2.2.1 flat format: train_input, eval_input, model,
// optimizer, runconfig). Key order follows the Model Zoo's own configs. A key the reference configs do
// not carry is emitted only when its value differs from the Model Zoo default.
import type { Derived } from "../derive.js";
import type { CerebrasTargetIR, LlamaIR, PhaseIR, TransformIR } from "../ir.js";
import { float, flow, type YValue } from "./yaml.js";

/** YAML key path → the IR path that produced it (and, for derived values, how). */
export type KeyOrigins = Map<string, { ir: string; derived?: string }>;

export const FP16_TYPE = { bf16: "bfloat16", fp16: "float16", cbf16: "cbfloat16" } as const;

export function regexForPython(r: { source: string; flags: string }): string {
  // Python's re takes flags inline; Cerebras calls re.search(pattern, name) with no flags.
  return r.flags ? `(?${r.flags})${r.source}` : r.source;
}

/**
 * The image size the Model Zoo's ViTModel can take: its ViTEmbeddingLayer asserts that the patch size
 * divides it, so a tower that drops the remainder (SigLIP so400m, 384 px in 14 px patches) is written at
 * the largest size that gives the same patch grid (378 px: 27 × 14). Equal to the spec's size otherwise.
 */
export function cerebrasImageSize(image: [number, number], patch: [number, number]): [number, number] {
  return [Math.floor(image[0] / patch[0]) * patch[0], Math.floor(image[1] / patch[1]) * patch[1]];
}

/** A transform, with the sizes that produce the encoder's image size (`from`) written as `to`. */
function transformYaml(t: TransformIR, from: [number, number], to: [number, number]): YValue {
  const side = (s: number) => (from[0] === from[1] && s === from[0] ? to[0] : s);
  switch (t.$schema) {
    case "expand_to_square":
      return { name: "expand_to_square", background_color: flow(t.background_color) };
    case "resize":
      return {
        name: "resize",
        size: Array.isArray(t.size) ? flow(t.size[0] === from[0] && t.size[1] === from[1] ? to : t.size) : side(t.size),
        interpolation: t.interpolation,
      };
    case "center_crop":
      return { name: "center_crop", size: side(t.size) };
    case "to_tensor":
      return { name: "to_tensor" };
    case "normalize":
      return { name: "normalize", mean: flow(t.mean.map(float)), std: flow(t.std.map(float)) };
  }
}

/** Activation names the Model Zoo spells differently (its ACT2FN has `gelu_new` for GELU's tanh approximation). */
const CEREBRAS_ACTIVATION: Record<string, string> = { gelu_pytorch_tanh: "gelu_new" };
export const cerebrasActivation = (name: string): string => CEREBRAS_ACTIVATION[name] ?? name;

/**
 * Cerebras' `image_feature_select_mode`: its `patch` always drops the encoder's first output (the CLS
 * token's place), so a tower without a CLS token (SigLIP) keeps every patch only with `cls_patch`.
 */
export function cerebrasSelectMode(select: "patch" | "cls_patch", hasCls: boolean): "patch" | "cls_patch" {
  return hasCls ? select : "cls_patch";
}
const NO_CLS_MODE = "no CLS token: the Model Zoo's `patch` drops the first output, `cls_patch` keeps every patch";

type Kind = "plain" | "float" | "flow";

// Key order of the Model Zoo's own LLaVA configs.
export const VIT_KEYS: [string, Kind][] = [
  ["position_embedding_type", "plain"],
  ["embedding_dropout_rate", "float"],
  ["hidden_size", "plain"],
  ["use_post_embed_layer_norm", "plain"],
  ["use_embed_proj_bias", "plain"],
  ["num_hidden_layers", "plain"],
  ["layer_norm_epsilon", "float"],
  ["num_heads", "plain"],
  ["attention_type", "plain"],
  ["attention_softmax_fp32", "plain"],
  ["dropout_rate", "float"],
  ["nonlinearity", "plain"],
  ["attention_dropout_rate", "float"],
  ["use_projection_bias_in_attention", "plain"],
  ["use_ffn_bias_in_attention", "plain"],
  ["filter_size", "plain"],
  ["use_ffn_bias", "plain"],
  ["initializer_range", "float"],
  ["norm_first", "plain"],
  ["image_size", "flow"],
  ["num_channels", "plain"],
  ["patch_size", "flow"],
  ["use_conv_patchified_embedding", "plain"],
  ["use_encoder_pooler_layer", "plain"],
  ["prepend_cls_token", "plain"],
  ["use_final_layer_norm", "plain"],
];

export const LLAMA_KEYS: [string, Kind][] = [
  ["vocab_size", "plain"],
  ["hidden_size", "plain"],
  ["position_embedding_type", "plain"],
  ["rotary_dim", "plain"],
  ["share_embedding_weights", "plain"],
  ["max_position_embeddings", "plain"],
  ["embd_pdrop", "float"],
  ["num_hidden_layers", "plain"],
  ["dropout_rate", "float"],
  ["layer_norm_epsilon", "float"],
  ["norm_type", "plain"],
  ["num_heads", "plain"],
  ["attention_type", "plain"],
  ["attention_dropout_rate", "float"],
  ["use_projection_bias_in_attention", "plain"],
  ["use_ffn_bias_in_attention", "plain"],
  ["filter_size", "plain"],
  ["nonlinearity", "plain"],
  ["use_ffn_bias", "plain"],
  ["use_bias_in_output", "plain"],
  ["rope_theta", "float"],
];

interface ExtraKey {
  key: string;
  value: YValue;
  /** The LLAMA_KEYS key it follows. */
  after: string;
  ir: string;
  derived?: string;
  sub?: string[];
}

/**
 * The Model Zoo's spellings of grouped-query attention, the sliding window and the llama3 rope scaling
 * (GPT2LMHeadModel's keyword arguments; its Llama-3 and Mistral configs): `attention_module:
 * multiquery_attention` with `extra_attention_params: {num_kv_groups}`, `attention_sliding_window_length`,
 * and (2.10) `pos_scaling_factor` / `pos_scaling_type: llama3` / `pos_scaling_extra_args`.
 */
function attentionKeys(t: LlamaIR): ExtraKey[] {
  const out: ExtraKey[] = [];
  const kv = t.num_key_value_heads;
  if (kv !== undefined && kv !== t.num_heads) {
    out.push({
      key: "attention_module",
      value: "multiquery_attention",
      after: "attention_type",
      ir: "model.language.num_key_value_heads",
      derived: "grouped-query attention",
    });
    out.push({
      key: "extra_attention_params",
      value: { num_kv_groups: kv },
      after: "attention_type",
      ir: "model.language.num_key_value_heads",
      sub: ["num_kv_groups"],
    });
  }
  if (t.sliding_window !== undefined)
    out.push({
      key: "attention_sliding_window_length",
      value: t.sliding_window,
      after: "attention_type",
      ir: "model.language.sliding_window",
    });
  const r = t.rope_scaling;
  if (r) {
    out.push({ key: "pos_scaling_factor", value: float(r.factor), after: "rope_theta", ir: "model.language.rope_scaling.factor" });
    out.push({ key: "pos_scaling_type", value: "llama3", after: "rope_theta", ir: "model.language.rope_scaling" });
    out.push({
      key: "pos_scaling_extra_args",
      value: {
        low_freq_factor: float(r.low_freq_factor),
        high_freq_factor: float(r.high_freq_factor),
        original_max_position_embeddings: r.original_max_position_embeddings,
      },
      after: "rope_theta",
      ir: "model.language.rope_scaling",
      sub: ["low_freq_factor", "high_freq_factor", "original_max_position_embeddings"],
    });
  }
  return out;
}

/** A language-model field the target release's config classes cannot express (reported once, as E0803). */
export interface ReleaseProblem {
  irPath: string;
  field: string;
  reason: string;
}

export function releaseProblems(t: LlamaIR, release: CerebrasTargetIR["release"]): ReleaseProblem[] {
  const out: ReleaseProblem[] = [];
  // 2.2.1 and 2.3.0 scale rotary positions only linearly (`pos_scaling_factor`); `pos_scaling_type` came later.
  if (t.rope_scaling && release !== "2.10")
    out.push({
      irPath: "model.language.rope_scaling",
      field: "rope_scaling (llama3)",
      reason: "its GPT2LMHeadModel has only the linear `pos_scaling_factor`, no `pos_scaling_type: llama3`",
    });
  return out;
}

function yamlOf(value: unknown, kind: Kind): YValue {
  if (kind === "float") return float(value as number);
  if (kind === "flow") return flow(value as YValue[]);
  return value as YValue;
}

export function emitParams(ir: PhaseIR, d: Derived, target: CerebrasTargetIR): { doc: YValue; origins: KeyOrigins } {
  const origins: KeyOrigins = new Map();
  const at = (yamlPath: string, irPath: string, derived?: string) =>
    origins.set(yamlPath, derived ? { ir: irPath, derived } : { ir: irPath });
  const mixed = ir.precision !== "fp32";
  const fp16 = ir.precision === "fp32" ? undefined : FP16_TYPE[ir.precision];
  const v = ir.model.vision,
    t = ir.model.language;
  const transforms = ir.transforms ?? v.transforms;
  const transformsPath = ir.transforms ? "transforms" : "model.vision.transforms";
  const imageSize = cerebrasImageSize(d.imageSize, d.patchSize);
  const cut = imageSize[0] !== d.imageSize[0] || imageSize[1] !== d.imageSize[1];
  const cutNote = `${imageSize.join("×")}: the Model Zoo's ViT needs a size the patch size divides (same ${(d.imageSize[0] / d.patchSize[0]) | 0}×${(d.imageSize[1] / d.patchSize[1]) | 0} patches)`;

  const input = (section: "train_input" | "eval_input"): YValue => {
    const ev = section === "eval_input" ? ir.eval : undefined;
    const o: Record<string, YValue> = {};
    const put = (key: string, value: YValue | undefined, irPath: string, derived?: string) => {
      if (value === undefined) return;
      o[key] = value;
      at(`${section}.${key}`, irPath, derived);
    };
    put("data_processor", "LlavaHDF5MapDataProcessor", "hdf5", "the LLaVA data processor");
    put("data_dir", ev?.hdf5 ?? ir.hdf5, ev?.hdf5 !== undefined ? "eval.hdf5" : "hdf5");
    put("img_data_dir", ev?.images ?? ir.images, ev?.images !== undefined ? "eval.images" : "images");
    if (target.release === "2.2.1") {
      // Present in the 2.2.1 configs though no 2.2.1 code reads them; removed in 2.3.0.
      // (absent for a tokenizer without BOS, Qwen2's: the key is optional and unread)
      const bos = d.tokenizer && d.tokenizer.bos >= 0 ? d.tokenizer.bos : undefined;
      put("bos_token_id", bos, "model.language.tokenizer", "the tokenizer's BOS id");
      put("pad_token_id", d.tokenizer?.pad, "model.language.tokenizer", "the tokenizer's pad id");
      put("fp16_type", fp16, "precision");
    }
    put(
      "image_data_size",
      flow([v.num_channels, imageSize[0], imageSize[1]]),
      "model.vision.image_size",
      cut ? `[num_channels, ${cutNote}]` : "[num_channels, *image_size] of the vision encoder",
    );
    put("mixed_precision", mixed, "precision");
    o.transforms = transforms.map((t) => transformYaml(t, d.imageSize, imageSize));
    transforms.forEach((tr, i) => {
      at(`${section}.transforms.${i}`, `${transformsPath}.${i}`);
      for (const k of Object.keys(tr)) if (k !== "$schema") at(`${section}.transforms.${i}.${k}`, `${transformsPath}.${i}.${k}`);
      at(`${section}.transforms.${i}.name`, `${transformsPath}.${i}`);
    });
    at(`${section}.transforms`, transformsPath);
    const shuffle = ev?.shuffle ?? ir.loader.shuffle;
    put("shuffle", shuffle, ev?.shuffle !== undefined ? "eval.shuffle" : "loader.shuffle");
    // Evaluation without shuffling carries no seed (as in the 13B phase-1 reference).
    const seed = ev?.shuffle_seed ?? (ev?.shuffle === false ? undefined : ir.loader.shuffle_seed);
    put("shuffle_seed", seed, ev?.shuffle_seed !== undefined ? "eval.shuffle_seed" : "loader.shuffle_seed");
    put("batch_size", ir.batch.global, "batch.global");
    put("micro_batch_size", ir.batch.micro, "batch.micro");
    put("drop_last", ir.loader.drop_last, "loader.drop_last");
    put("num_workers", ir.loader.num_workers, "loader.num_workers");
    put("prefetch_factor", ir.loader.prefetch_factor, "loader.prefetch_factor");
    put("persistent_workers", ir.loader.persistent_workers, "loader.persistent_workers");
    return o;
  };

  const imageModel: Record<string, YValue> = { name: "ViTModel" };
  at("model.image_model.name", "model.vision");
  const vision: Record<string, unknown> = {
    ...v,
    image_size: imageSize,
    patch_size: d.patchSize,
    position_embedding_type: v.position_embedding_type === "none" ? null : v.position_embedding_type,
    nonlinearity: cerebrasActivation(v.nonlinearity),
  };
  for (const [key, kind] of VIT_KEYS) {
    if (key === "use_final_layer_norm" && v.use_final_layer_norm) continue; // only when it differs from the default
    imageModel[key] = yamlOf(vision[key], kind);
    if (key === "nonlinearity" && vision.nonlinearity !== v.nonlinearity)
      at("model.image_model.nonlinearity", "model.vision.nonlinearity", `${v.nonlinearity} is the Model Zoo's ${vision.nonlinearity}`);
    else if (key === "image_size" && cut) at("model.image_model.image_size", "model.vision.image_size", cutNote);
    else at(`model.image_model.${key}`, `model.vision.${key}`);
  }

  const textModel: Record<string, YValue> = { name: "LlamaModel" };
  at("model.text_model.name", "model.language");
  const text: Record<string, unknown> = {
    ...t,
    rotary_dim: t.position_embedding_type === "rotary" ? d.rotaryDim : undefined,
    rope_theta: t.rope_theta !== 10000 ? t.rope_theta : undefined,
  };
  const extra = attentionKeys(t);
  for (const [key, kind] of LLAMA_KEYS) {
    if (text[key] !== undefined) {
      textModel[key] = yamlOf(text[key], kind);
      if (key === "rotary_dim" && t.rotary_dim === undefined)
        at("model.text_model.rotary_dim", "model.language.hidden_size", "hidden_size / num_heads");
      else at(`model.text_model.${key}`, `model.language.${key}`);
    }
    // The keys with no spec field of their own name follow the key the Model Zoo's Llama configs put them after.
    for (const e of extra.filter((x) => x.after === key)) {
      textModel[e.key] = e.value;
      at(`model.text_model.${e.key}`, e.ir, e.derived);
      for (const sub of e.sub ?? []) at(`model.text_model.${e.key}.${sub}`, e.ir, e.derived);
    }
  }

  const proj = d.projector;
  const projector: YValue = {
    image_model: {
      name: "FeedForwardNetwork",
      input_unit: proj.input_unit,
      layers_units: flow(proj.layers_units),
      layers_activation: flow(proj.layers_activation),
      use_bias: proj.use_bias,
    },
  };
  at("model.projector", "model.projector");
  at("model.projector.image_model", "model.projector");
  at("model.projector.image_model.name", "model.projector");
  at("model.projector.image_model.input_unit", "model.vision.hidden_size", "the vision encoder's hidden_size");
  at("model.projector.image_model.layers_units", "model.language.hidden_size", "[text hidden_size] × depth");
  at("model.projector.image_model.layers_activation", "model.projector", "activation between layers, none after the last");
  at("model.projector.image_model.use_bias", "model.projector.use_bias");

  const model: Record<string, YValue> = { image_model: imageModel, text_model: textModel, projector };
  at("model.image_model", "model.vision");
  at("model.text_model", "model.language");
  const putM = (key: string, value: YValue | undefined, irPath: string, derived?: string) => {
    if (value === undefined) return;
    model[key] = value;
    at(`model.${key}`, irPath, derived);
  };
  putM("loss_scaling", ir.loss_scaling, "loss_scaling");
  putM("loss_weight", float(ir.loss_weight), "loss_weight");
  putM("freeze", ir.freeze.map(regexForPython), "freeze");
  ir.freeze.forEach((_, i) => at(`model.freeze.${i}`, `freeze.${i}`));
  putM("image_feature_select_layer_idx", v.select_layer, "model.vision.select_layer");
  putM("image_start_idx", d.imageStartIdx, "template", "the first image slot of the tokenised template");
  const mode = cerebrasSelectMode(v.select, v.prepend_cls_token);
  putM("image_feature_select_mode", mode, "model.vision.select", mode !== v.select ? NO_CLS_MODE : undefined);
  putM("mixed_precision", mixed, "precision");
  putM("fp16_type", fp16, "precision");

  const s = ir.schedule;
  const sd = d.schedule;
  let learningRate: YValue;
  if (s.$schema === "warmup_cosine") {
    const parts: YValue[] = [];
    if ((sd.warmup ?? 0) > 0) {
      parts.push({
        scheduler: "Linear",
        initial_learning_rate: float(s.initial_lr),
        end_learning_rate: float(ir.optimizer.lr),
        total_iters: sd.warmup ?? 0,
      });
      at(`optimizer.learning_rate.${parts.length - 1}`, "schedule.warmup");
      at(`optimizer.learning_rate.${parts.length - 1}.scheduler`, "schedule", "linear warm-up");
      at(`optimizer.learning_rate.${parts.length - 1}.total_iters`, "schedule.warmup", sd.formula.warmup);
      at(`optimizer.learning_rate.${parts.length - 1}.end_learning_rate`, "optimizer.lr");
      at(`optimizer.learning_rate.${parts.length - 1}.initial_learning_rate`, "schedule.initial_lr");
    }
    parts.push({
      scheduler: "cosinedecaylr",
      initial_learning_rate: float(ir.optimizer.lr),
      end_learning_rate: float(s.final_lr),
      total_iters: sd.decay ?? 0,
    });
    const i = parts.length - 1;
    at(`optimizer.learning_rate.${i}`, "schedule");
    at(`optimizer.learning_rate.${i}.scheduler`, "schedule", "cosine decay");
    at(`optimizer.learning_rate.${i}.total_iters`, s.decay ? "schedule.decay" : "schedule", sd.formula.decay);
    at(`optimizer.learning_rate.${i}.initial_learning_rate`, "optimizer.lr");
    at(`optimizer.learning_rate.${i}.end_learning_rate`, "schedule.final_lr");
    learningRate = parts;
  } else {
    learningRate = float(ir.optimizer.lr);
  }
  const optimizer: Record<string, YValue> = {
    optimizer_type: "AdamW",
    betas: flow(ir.optimizer.betas.map(float)),
    eps: float(ir.optimizer.eps),
  };
  at("optimizer.optimizer_type", "optimizer");
  at("optimizer.betas", "optimizer.betas");
  at("optimizer.eps", "optimizer.eps");
  if (ir.optimizer.weight_decay !== 0) {
    optimizer.weight_decay = float(ir.optimizer.weight_decay);
    at("optimizer.weight_decay", "optimizer.weight_decay");
  }
  if (ir.optimizer.max_grad_norm !== undefined) {
    optimizer.max_gradient_norm = float(ir.optimizer.max_grad_norm);
    at("optimizer.max_gradient_norm", "optimizer.max_grad_norm");
  }
  optimizer.correct_bias = ir.optimizer.correct_bias;
  at("optimizer.correct_bias", "optimizer.correct_bias");
  optimizer.learning_rate = learningRate;
  at("optimizer.learning_rate", "schedule");
  if (ir.precision === "cbf16") {
    optimizer.loss_scaling_factor = "dynamic";
    at("optimizer.loss_scaling_factor", "precision", "cbfloat16 needs dynamic loss scaling");
  }
  optimizer.log_summaries = ir.run.log_summaries;
  at("optimizer.log_summaries", "run.log_summaries");

  const runconfig: Record<string, YValue> = {};
  const putR = (key: string, value: YValue | undefined, irPath: string, derived?: string) => {
    if (value === undefined) return;
    runconfig[key] = value;
    at(`runconfig.${key}`, irPath, derived);
  };
  putR("max_steps", sd.maxSteps, s.length.unit === "steps" ? "schedule.length" : "data", sd.formula.maxSteps);
  putR("log_steps", ir.run.log_steps, "run.log_steps");
  putR("checkpoint_steps", ir.run.checkpoint_steps, "run.checkpoint_steps");
  putR("eval_steps", ir.run.eval_steps, "run.eval_steps");
  putR("max_checkpoints", ir.run.max_checkpoints, "run.max_checkpoints");
  putR("seed", ir.run.seed, "run.seed");
  // `eval_every` is the evaluation interval here and on the cluster (the checks refuse a different run.eval_frequency).
  if (ir.eval_every) putR("eval_frequency", ir.eval_every.value, "eval_every");
  else if (target.release !== "2.2.1" || ir.run.eval_frequency !== undefined)
    putR("eval_frequency", ir.run.eval_frequency, "run.eval_frequency");
  if (ir.from) putR("load_checkpoint_states", ir.from.states.join(","), "from.states");

  for (const k of ["train_input", "eval_input", "model", "optimizer", "runconfig"])
    at(k, k === "model" ? "model" : k === "optimizer" ? "optimizer" : k === "runconfig" ? "run" : "");
  const doc: YValue = { train_input: input("train_input"), eval_input: input("eval_input"), model, optimizer, runconfig };
  return { doc, origins };
}
