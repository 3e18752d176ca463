// Cerebras Model Zoo LLaVA training config (release 2.2.1 flat format: train_input, eval_input, model,
// optimizer, runconfig). Key order follows the Model Zoo's own configs. A key the reference configs do
// not carry is emitted only when its value differs from the Model Zoo default.
import type { Derived } from "../derive.js";
import type { CerebrasTargetIR, PhaseIR, TransformIR } from "../ir.js";
import { float, flow, type YValue } from "./yaml.js";

/** YAML key path → the IR path that produced it (and, for derived values, how). */
export type KeyOrigins = Map<string, { ir: string; derived?: string }>;

const FP16_TYPE = { bf16: "bfloat16", fp16: "float16", cbf16: "cbfloat16" } as const;

export function regexForPython(r: { source: string; flags: string }): string {
  // Python's re takes flags inline; Cerebras calls re.search(pattern, name) with no flags.
  return r.flags ? `(?${r.flags})${r.source}` : r.source;
}

function transformYaml(t: TransformIR): YValue {
  switch (t.$schema) {
    case "expand_to_square": return { name: "expand_to_square", background_color: flow(t.background_color) };
    case "resize": return { name: "resize", size: t.size, interpolation: t.interpolation };
    case "center_crop": return { name: "center_crop", size: t.size };
    case "to_tensor": return { name: "to_tensor" };
    case "normalize": return { name: "normalize", mean: flow(t.mean.map(float)), std: flow(t.std.map(float)) };
  }
}

export function emitParams(ir: PhaseIR, d: Derived, target: CerebrasTargetIR): { doc: YValue; origins: KeyOrigins } {
  const origins: KeyOrigins = new Map();
  const at = (yamlPath: string, irPath: string, derived?: string) => origins.set(yamlPath, derived ? { ir: irPath, derived } : { ir: irPath });
  const mixed = ir.precision !== "fp32";
  const fp16 = ir.precision === "fp32" ? undefined : FP16_TYPE[ir.precision];
  const v = ir.model.vision, t = ir.model.language;
  const transforms = ir.transforms ?? v.transforms;
  const transformsPath = ir.transforms ? "transforms" : "model.vision.transforms";

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
      put("bos_token_id", d.tokenizer?.bos, "model.language.tokenizer", "the tokenizer's BOS id");
      put("pad_token_id", d.tokenizer?.pad, "model.language.tokenizer", "the tokenizer's pad id");
      put("fp16_type", fp16, "precision");
    }
    put("image_data_size", flow([v.num_channels, d.imageSize[0], d.imageSize[1]]), "model.vision.image_size", "[num_channels, *image_size] of the vision encoder");
    put("mixed_precision", mixed, "precision");
    o.transforms = transforms.map(transformYaml);
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

  const imageModel: Record<string, YValue> = {};
  const putV = (key: string, value: YValue | undefined, field = key) => {
    if (value === undefined) return;
    imageModel[key] = value;
    at(`model.image_model.${key}`, `model.vision.${field}`);
  };
  imageModel.name = "ViTModel";
  at("model.image_model.name", "model.vision");
  putV("position_embedding_type", v.position_embedding_type === "none" ? null : v.position_embedding_type);
  putV("embedding_dropout_rate", float(v.embedding_dropout_rate));
  putV("hidden_size", v.hidden_size);
  putV("use_post_embed_layer_norm", v.use_post_embed_layer_norm);
  putV("use_embed_proj_bias", v.use_embed_proj_bias);
  putV("num_hidden_layers", v.num_hidden_layers);
  putV("layer_norm_epsilon", float(v.layer_norm_epsilon));
  putV("num_heads", v.num_heads);
  putV("attention_type", v.attention_type);
  putV("attention_softmax_fp32", v.attention_softmax_fp32);
  putV("dropout_rate", float(v.dropout_rate));
  putV("nonlinearity", v.nonlinearity);
  putV("attention_dropout_rate", float(v.attention_dropout_rate));
  putV("use_projection_bias_in_attention", v.use_projection_bias_in_attention);
  putV("use_ffn_bias_in_attention", v.use_ffn_bias_in_attention);
  putV("filter_size", v.filter_size);
  putV("use_ffn_bias", v.use_ffn_bias);
  putV("initializer_range", float(v.initializer_range));
  putV("norm_first", v.norm_first);
  putV("image_size", flow(d.imageSize));
  putV("num_channels", v.num_channels);
  putV("patch_size", flow(d.patchSize));
  putV("use_conv_patchified_embedding", v.use_conv_patchified_embedding);
  putV("use_encoder_pooler_layer", v.use_encoder_pooler_layer);
  putV("prepend_cls_token", v.prepend_cls_token);
  if (!v.use_final_layer_norm) putV("use_final_layer_norm", false);

  const textModel: Record<string, YValue> = {};
  const putT = (key: string, value: YValue | undefined, field = key, derived?: string) => {
    if (value === undefined) return;
    textModel[key] = value;
    at(`model.text_model.${key}`, `model.language.${field}`, derived);
  };
  textModel.name = "LlamaModel";
  at("model.text_model.name", "model.language");
  putT("vocab_size", t.vocab_size);
  putT("hidden_size", t.hidden_size);
  putT("position_embedding_type", t.position_embedding_type);
  if (t.position_embedding_type === "rotary") putT("rotary_dim", d.rotaryDim, t.rotary_dim === undefined ? "hidden_size" : "rotary_dim", t.rotary_dim === undefined ? "hidden_size / num_heads" : undefined);
  putT("share_embedding_weights", t.share_embedding_weights);
  putT("max_position_embeddings", t.max_position_embeddings);
  putT("embd_pdrop", t.embd_pdrop === undefined ? undefined : float(t.embd_pdrop));
  putT("num_hidden_layers", t.num_hidden_layers);
  putT("dropout_rate", float(t.dropout_rate));
  putT("layer_norm_epsilon", float(t.layer_norm_epsilon));
  putT("norm_type", t.norm_type);
  putT("num_heads", t.num_heads);
  putT("attention_type", t.attention_type);
  putT("attention_dropout_rate", float(t.attention_dropout_rate));
  putT("use_projection_bias_in_attention", t.use_projection_bias_in_attention);
  putT("use_ffn_bias_in_attention", t.use_ffn_bias_in_attention);
  putT("filter_size", t.filter_size);
  putT("nonlinearity", t.nonlinearity);
  putT("use_ffn_bias", t.use_ffn_bias);
  putT("use_bias_in_output", t.use_bias_in_output);
  if (t.rope_theta !== 10000) putT("rope_theta", float(t.rope_theta));

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
  putM("image_feature_select_mode", v.select, "model.vision.select");
  putM("mixed_precision", mixed, "precision");
  putM("fp16_type", fp16, "precision");

  const s = ir.schedule;
  const sd = d.schedule;
  let learningRate: YValue;
  if (s.$schema === "warmup_cosine") {
    const parts: YValue[] = [];
    if ((sd.warmup ?? 0) > 0) {
      parts.push({ scheduler: "Linear", initial_learning_rate: float(s.initial_lr), end_learning_rate: float(ir.optimizer.lr), total_iters: sd.warmup ?? 0 });
      at(`optimizer.learning_rate.${parts.length - 1}`, "schedule.warmup");
      at(`optimizer.learning_rate.${parts.length - 1}.scheduler`, "schedule", "linear warm-up");
      at(`optimizer.learning_rate.${parts.length - 1}.total_iters`, "schedule.warmup", sd.formula.warmup);
      at(`optimizer.learning_rate.${parts.length - 1}.end_learning_rate`, "optimizer.lr");
      at(`optimizer.learning_rate.${parts.length - 1}.initial_learning_rate`, "schedule.initial_lr");
    }
    parts.push({ scheduler: "cosinedecaylr", initial_learning_rate: float(ir.optimizer.lr), end_learning_rate: float(s.final_lr), total_iters: sd.decay ?? 0 });
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
  const optimizer: Record<string, YValue> = { optimizer_type: "AdamW", betas: flow(ir.optimizer.betas.map(float)), eps: float(ir.optimizer.eps) };
  at("optimizer.optimizer_type", "optimizer");
  at("optimizer.betas", "optimizer.betas");
  at("optimizer.eps", "optimizer.eps");
  if (ir.optimizer.weight_decay !== 0) { optimizer.weight_decay = float(ir.optimizer.weight_decay); at("optimizer.weight_decay", "optimizer.weight_decay"); }
  if (ir.optimizer.max_grad_norm !== undefined) { optimizer.max_gradient_norm = float(ir.optimizer.max_grad_norm); at("optimizer.max_gradient_norm", "optimizer.max_grad_norm"); }
  optimizer.correct_bias = ir.optimizer.correct_bias;
  at("optimizer.correct_bias", "optimizer.correct_bias");
  optimizer.learning_rate = learningRate;
  at("optimizer.learning_rate", "schedule");
  if (ir.precision === "cbf16") { optimizer.loss_scaling_factor = "dynamic"; at("optimizer.loss_scaling_factor", "precision", "cbfloat16 needs dynamic loss scaling"); }
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
  if (target.release !== "2.2.1" || ir.run.eval_frequency !== undefined) putR("eval_frequency", ir.run.eval_frequency, "run.eval_frequency");
  if (ir.from) putR("load_checkpoint_states", ir.from.states.join(","), "from.states");

  for (const k of ["train_input", "eval_input", "model", "optimizer", "runconfig"]) at(k, k === "model" ? "model" : k === "optimizer" ? "optimizer" : k === "runconfig" ? "run" : "");
  const doc: YValue = { train_input: input("train_input"), eval_input: input("eval_input"), model, optimizer, runconfig };
  return { doc, origins };
}
